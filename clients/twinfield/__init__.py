"""Client for Twinfield: OAuth (code flow, refresh, cluster lookup) and the SOAP web services."""

from .client import SearchResult, TwinfieldClient
from .errors import Message, TwinfieldError, TwinfieldFault, TwinfieldUnavailable
from .oauth import DEFAULT_SCOPE, OAuthError, Tokens, TwinfieldOAuth

__all__ = ["DEFAULT_SCOPE", "Message", "OAuthError", "SearchResult", "Tokens", "TwinfieldClient", "TwinfieldError",
           "TwinfieldFault", "TwinfieldOAuth", "TwinfieldUnavailable"]
