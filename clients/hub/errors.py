"""What the hub refuses, each with a code a caller (CLI, admin API, scenario) can act on."""

from __future__ import annotations


class HubError(Exception):
    """A refusal with a stable ``code``; ``http_status`` is what the admin API answers with."""

    code = "hub_error"
    http_status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UnknownTenant(HubError):
    code, http_status = "unknown_tenant", 404


class UnknownMessage(HubError):
    code, http_status = "unknown_message", 404


class UnknownMessageType(HubError):
    code = "unknown_message_type"


class InvalidMessage(HubError):
    """The message cannot be built as asked: boxes that do not add up, a missing identity, ..."""

    code = "invalid_message"


class TenantExists(HubError):
    code, http_status = "tenant_exists", 409


class NotResubmittable(HubError):
    code, http_status = "not_resubmittable", 409


class RunInProgress(HubError):
    """A second send/receive while one runs: refused, as the vendor's help says two users get an error."""

    code, http_status = "run_in_progress", 409
