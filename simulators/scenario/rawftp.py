"""A raw FTP(S) session in a scenario, for what a well-behaved client never does.

Each action states the reply it must get (a pattern such as ``"226*"`` or ``"5*"``), so QA can script
broken uploads, forbidden commands and aborted downloads without Python. Simulators add their own
action fields (Digipoort: ``meta``, a meta file built from an upload) through ``body_builder``::

    - cb.ftp:
        actions:
          - upload: 7000123/in/order.txt
            content: "#00010#0002OPDNAW"
            mode: ascii
          - command: MKD extra
            reply: "550*"
          - download: 7000123/out/7000123_K1734987.pdf
            abort_after: 100
"""

from __future__ import annotations

import ftplib
import io
from fnmatch import fnmatchcase
from typing import Any, Callable

from .vocabulary import DURATION

REPLY = {"type": "string", "description": "the reply it must get, e.g. '226*', '550*', '5*'"}
BodyBuilder = Callable[[dict, dict], "bytes | None"]  # (action, uploaded so far) -> the bytes, or None


def raw_ftp_schema(extra_action_fields: dict[str, dict] | None = None) -> dict:
    action = {"type": "object", "minProperties": 1, "additionalProperties": False, "x-noun": "ftp action",
              "properties": {
                  "upload": {"type": "string"}, "content": {"type": "string"}, "file": {"type": "string"},
                  "repeat": {"type": "integer", "minimum": 1, "maximum": 100_000_000,
                             "description": "upload content repeated this many times"},
                  "mode": {"enum": ["binary", "ascii"], "description": "transfer type (default binary)"},
                  "download": {"type": "string"},
                  "abort_after": {"type": "integer", "minimum": 0,
                                  "description": "close the download's data connection after this many bytes"},
                  "advance_mid_transfer": {**DURATION, "description": "move the clock this far while the "
                                           "transfer is under way (after 'after_bytes'), then go on with it"},
                  "after_bytes": {"type": "integer", "minimum": 1, "description": "bytes moved before "
                                  "'advance_mid_transfer' (default 1)"},
                  "delete": {"type": "string"}, "command": {"type": "string"},
                  "list": {"type": "string"}, "expect": {"type": "array", "items": {"type": "string"}},
                  "reply": REPLY, **(extra_action_fields or {})}}
    return {"type": "object", "additionalProperties": False, "x-noun": "ftp session field", "properties": {
        "user": {"type": "string"}, "password": {"type": "string"},
        "tls": {"type": "boolean", "description": "AUTH TLS + PROT P (default true)"},
        "login": {**REPLY, "description": "the reply to the login (or to connecting, when the server refuses "
                                          "at the door), e.g. '230*', '530*', '421*'"},
        "actions": {"type": "array", "items": action}}}


class ReplyMismatch(AssertionError):
    pass


def run_raw_session(run: Any, host: str, port: int, user: str, password: str, args: dict,
                    body_builder: BodyBuilder | None = None) -> None:
    uploaded: dict[str, bytes] = {}
    use_tls = args.get("tls", True)
    ftp = ftplib.FTP_TLS(context=run.runtime.tls.client_context(), timeout=10, encoding="latin-1") if use_tls \
        else ftplib.FTP(timeout=10, encoding="latin-1")
    try:
        greeting = attempt(lambda: ftp.connect(host, port))
        if not greeting.startswith("220"):  # refused at the door (e.g. 421 during maintenance)
            check("greeting", greeting, args.get("login", "220*"))
            return
        if use_tls:
            ftp.auth()
        reply = attempt(lambda: ftp.login(args.get("user", user), args.get("password", password)))
        check("login", reply, args.get("login", "230*"))
        if not reply.startswith("230"):
            return
        if use_tls:
            ftp.prot_p()
        for index, action in enumerate(args.get("actions", [])):
            _run_action(run, ftp, action, uploaded, body_builder, f"action {index + 1}")
    finally:
        try:
            ftp.quit()
        except (OSError, EOFError, ftplib.Error):
            ftp.close()


def _run_action(run: Any, ftp: ftplib.FTP, action: dict, uploaded: dict, body_builder: BodyBuilder | None,
                where: str) -> None:
    ascii_mode = action.get("mode") == "ascii"
    if "upload" in action:
        path = action["upload"]
        body = (body_builder(action, uploaded) if body_builder else None)
        if body is None:
            body = run.resolve(action["file"]).read_bytes() if "file" in action else \
                action.get("content", "").encode() * action.get("repeat", 1)
        if "advance_mid_transfer" in action:
            reply = _upload_across_a_jump(run, ftp, path, body, action)
        else:
            reply = _upload(ftp, path, body, ascii_mode)
        if reply.startswith("2"):
            uploaded[path] = body
        check(f"{where} (upload {path})", reply, action.get("reply", "226*"))
    elif "download" in action:
        if "advance_mid_transfer" in action:
            reply = _download_across_a_jump(run, ftp, action["download"], ascii_mode, action)
        else:
            reply = _download(ftp, action["download"], ascii_mode, action.get("abort_after"))
        default = "226*" if not ({"abort_after", "advance_mid_transfer"} & action.keys()) else "*"
        check(f"{where} (download)", reply, action.get("reply", default))
    elif "delete" in action:
        reply = attempt(lambda: ftp.delete(action["delete"]))
        check(f"{where} (delete)", reply, action.get("reply", "250*"))
    elif "list" in action:
        names = [n.rsplit("/", 1)[-1] for n in _names(ftp, action["list"])]
        for pattern in action.get("expect", []):
            if not any(fnmatchcase(n, pattern) for n in names):
                raise ReplyMismatch(f"{where}: {action['list']} holds {names}, nothing like {pattern!r}")
    elif "command" in action:
        reply = attempt(lambda: ftp.sendcmd(action["command"]))
        check(f"{where} ({action['command']})", reply, action.get("reply", "2*"))
    else:
        raise ValueError(f"{where}: give one of upload, download, delete, list or command")


def _upload(ftp: ftplib.FTP, path: str, body: bytes, ascii_mode: bool) -> str:
    try:
        if ascii_mode:
            return str(ftp.storlines(f"STOR {path}", io.BytesIO(body)))
        return str(ftp.storbinary(f"STOR {path}", io.BytesIO(body)))
    except ftplib.Error as exc:
        return str(exc)
    except OSError:  # the server cut the data connection; its reason waits on the control connection
        return attempt(ftp.getresp)


def _download(ftp: ftplib.FTP, path: str, ascii_mode: bool, abort_after: int | None) -> str:
    if abort_after is None:
        sink = io.BytesIO()
        if ascii_mode:
            return attempt(lambda: ftp.retrlines(f"RETR {path}", lambda line: sink.write(line.encode("latin-1"))))
        return attempt(lambda: ftp.retrbinary(f"RETR {path}", sink.write))
    # An aborted download: read a little, then drop the data connection without finishing.
    try:
        ftp.voidcmd("TYPE A" if ascii_mode else "TYPE I")
        conn = ftp.transfercmd(f"RETR {path}")
    except ftplib.Error as exc:
        return str(exc)
    try:
        if abort_after:
            conn.recv(abort_after)
    finally:
        conn.close()  # no TLS close_notify, no reading to the end: the transfer is incomplete
    return attempt(ftp.getresp)


def _download_across_a_jump(run: Any, ftp: ftplib.FTP, path: str, ascii_mode: bool, action: dict) -> str:
    """Start a download, take ``after_bytes``, move the clock (a maintenance window may begin), then
    read on until the server ends the transfer one way or the other; the reply says which."""
    try:
        ftp.voidcmd("TYPE A" if ascii_mode else "TYPE I")
        conn = ftp.transfercmd(f"RETR {path}")
    except ftplib.Error as exc:
        return str(exc)
    try:
        wanted = action.get("after_bytes", 1)
        while wanted > 0:
            chunk = conn.recv(min(wanted, 65536))
            if not chunk:
                break
            wanted -= len(chunk)
        run.runtime.scheduler.advance(action["advance_mid_transfer"])
        while conn.recv(65536):
            pass
    except OSError:  # the server cut the data connection (a reset, or TLS without close_notify)
        pass
    finally:
        conn.close()
    return attempt(ftp.getresp)


def _upload_across_a_jump(run: Any, ftp: ftplib.FTP, path: str, body: bytes, action: dict) -> str:
    """Start an upload, send ``after_bytes``, move the clock, then try to send the rest."""
    split = action.get("after_bytes", 1)
    try:
        ftp.voidcmd("TYPE A" if action.get("mode") == "ascii" else "TYPE I")
        conn = ftp.transfercmd(f"STOR {path}")
    except ftplib.Error as exc:
        return str(exc)
    try:
        conn.sendall(body[:split])
        run.runtime.scheduler.advance(action["advance_mid_transfer"])
        conn.sendall(body[split:])
        if hasattr(conn, "unwrap"):
            conn.unwrap()  # a complete TLS upload ends with close_notify
    except OSError:
        pass
    finally:
        conn.close()
    return attempt(ftp.getresp)


def _names(ftp: ftplib.FTP, folder: str) -> list[str]:
    try:
        return ftp.nlst(folder)
    except ftplib.error_perm:
        return []


def attempt(operation: Callable[[], Any]) -> str:
    """The server's final reply to an operation, whether ftplib calls it success or error."""
    try:
        return str(operation())
    except ftplib.Error as exc:
        return str(exc)
    except (EOFError, ConnectionError) as exc:
        return f"(connection closed: {type(exc).__name__})"


def check(what: str, reply: str, pattern: str) -> None:
    if not fnmatchcase(reply, pattern):
        raise ReplyMismatch(f"{what}: the server replied {reply!r}, expected {pattern!r}")
