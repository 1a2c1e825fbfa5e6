"""FTP reply codes used by the simulators, by name (RFC 959, RFC 2228, RFC 4217).

A unit test checks each name against its number, so a reply never goes out with a wrong code.
"""

SERVICE_READY = 220
CLOSING_CONTROL = 221
TRANSFER_COMPLETE = 226
LOGGED_IN = 230
FILE_ACTION_OK = 250
SERVICE_NOT_AVAILABLE = 421
CANT_OPEN_DATA = 425
TRANSFER_ABORTED = 426
ACTION_NOT_TAKEN_BUSY = 450
LOCAL_ERROR = 451
SYNTAX_ERROR = 500
SYNTAX_ERROR_ARGS = 501
NOT_IMPLEMENTED = 502
BAD_SEQUENCE = 503
NOT_LOGGED_IN = 530
FILE_UNAVAILABLE = 550
EXCEEDED_STORAGE = 552
FILE_NAME_NOT_ALLOWED = 553


def reply(code: int, text: str) -> str:
    """One reply line; the text must not carry CR/LF (a client would read it as two replies)."""
    clean = " ".join(text.replace("\r", " ").replace("\n", " ").split())
    return f"{code} {clean}"
