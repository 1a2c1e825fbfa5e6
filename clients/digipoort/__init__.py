"""The Digipoort FTP client (seed 001): submit, poll OUT with back-off, link answers, resume."""

from .._lazy import lazy_exports

_HOMES = {"ClientStore": ".store", "Connection": ".client", "DigipoortClient": ".client", "Event": ".client",
          "PollPolicy": ".client"}
__all__ = sorted(_HOMES)
__getattr__ = lazy_exports(__name__, _HOMES)
