"""The Digipoort FTP client (seed 001): submit, poll OUT with back-off, link answers, resume."""

from .client import Connection, DigipoortClient, Event, PollPolicy
from .store import ClientStore

__all__ = ["ClientStore", "Connection", "DigipoortClient", "Event", "PollPolicy"]
