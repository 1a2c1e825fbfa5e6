"""What can go wrong talking to Twinfield, as exceptions a koppeling can act on."""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree


class TwinfieldFault(Exception):
    """A SOAP fault: ``code`` is Twinfield's detail code (354: token invalid), ``status`` the HTTP status."""

    def __init__(self, message: str, code: int | None, status: int) -> None:
        super().__init__(f"{message} (code {code}, HTTP {status})" if code is not None else f"{message} (HTTP {status})")
        self.message = message
        self.code = code
        self.status = status


class TwinfieldUnavailable(Exception):
    """No answer: the connection dropped or timed out, a gateway error, or the rate limit persisted.

    After a dropped write nobody knows whether it was booked: look before sending it again."""

    def __init__(self, message: str, status: int | None = None, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


@dataclass(frozen=True)
class Message:
    element: str
    value: str
    msgtype: str
    msg: str

    def __str__(self) -> str:
        # As integrations show Twinfield's messages: "vatcode(21): Btw 21 bestaat niet of is (nog) niet actief."
        return f"{self.element}({self.value}): {self.msg}" if self.value else self.msg


class TwinfieldError(Exception):
    """Twinfield answered ``result="0"``: every message in the answer, in document order."""

    def __init__(self, messages: list[Message], response: etree._Element) -> None:
        self.messages = messages
        self.response = response
        super().__init__(" - ".join(str(m) for m in messages) or "Twinfield refused the request (result=0)")

    @property
    def texts(self) -> list[str]:
        return [m.msg for m in self.messages]


def messages_of(root: etree._Element) -> list[Message]:
    found = []
    for el in root.iter():
        if isinstance(el.tag, str) and el.get("msg"):
            value = (el.text or "").strip() if len(el) == 0 else ""
            for part in el.get("msg", "").split("//"):
                found.append(Message(el.tag, value, el.get("msgtype", "error"), part))
    return found
