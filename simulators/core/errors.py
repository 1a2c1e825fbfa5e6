"""Errors raised by models and the admin layer: a code and a message a person can act on.

Each protocol has one translator that turns these into its own wire form (an FTP reply, a JSON error
of the admin API, later a SOAP fault or a Twinfield ``result="0"``); models never format wire replies.
"""

from __future__ import annotations


class KoppelsimError(Exception):
    """Base: ``code`` is stable and machine-readable, ``message`` is for people."""

    code = "error"
    http_status = 500

    def __init__(self, message: str, code: str | None = None, **details: object) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details = details

    def as_dict(self) -> dict:
        body: dict = {"code": self.code, "message": self.message}
        if self.details:
            body["details"] = self.details
        return body


class BadRequest(KoppelsimError):
    code = "bad_request"
    http_status = 400


class NotFound(KoppelsimError):
    code = "not_found"
    http_status = 404


class Conflict(KoppelsimError):
    code = "conflict"
    http_status = 409


class ConfigError(KoppelsimError):
    """A configuration file or option that cannot be used; names the file and field."""

    code = "config_error"
    http_status = 400
