"""``digipoort.ftp`` — a raw FTP(S) session in a scenario, for what a well-behaved client never does.

Each action states the reply it must get (a pattern such as ``"226*"`` or ``"5*"``), so QA can script
broken uploads, forbidden commands and hand-made meta files without Python::

    - digipoort.ftp:
        actions:
          - upload: IN/aangifte.xml
            content: "<x/>"
          - upload: IN/aangifte.meta
            meta: {data: IN/aangifte.xml, contextId: r1, berichtsoort: ICP, identity: "001000044B37",
                   checksum: "00000000000000000000000000000000"}
          - command: MKD extra
            reply: "550*"
"""

from __future__ import annotations

import ftplib
import hashlib
import io
from fnmatch import fnmatchcase
from typing import Any

from clients.digipoort.messages import build_meta

from ..core.lifecycle import Endpoint
from .config import Account

_REPLY = {"type": "string", "description": "the reply it must get, e.g. '226*', '550*', '5*'"}
_META = {"type": "object", "required": ["data"], "additionalProperties": False, "properties": {
    "data": {"type": "string", "description": "path of the data file uploaded earlier in this session"},
    "contextId": {"type": "string"}, "berichtsoort": {"type": "string"}, "identity": {"type": "string"},
    "identity_type": {"type": "string"}, "rol": {"type": "string"}, "aanleverkenmerk": {"type": "string"},
    "filename": {"type": "string"}, "checksum": {"type": "string"}, "size": {"type": "integer"},
    "as": {"type": "string"}}}
_ACTION = {"type": "object", "minProperties": 1, "additionalProperties": False, "x-noun": "ftp action",
           "properties": {
               "upload": {"type": "string"}, "content": {"type": "string"}, "file": {"type": "string"},
               "meta": _META, "repeat": {"type": "integer", "minimum": 1, "maximum": 100_000_000,
                                         "description": "upload content repeated this many times"},
               "download": {"type": "string"}, "delete": {"type": "string"}, "command": {"type": "string"},
               "list": {"type": "string"}, "expect": {"type": "array", "items": {"type": "string"}},
               "reply": _REPLY}}
RAW_FTP_SCHEMA = {"type": "object", "additionalProperties": False, "x-noun": "ftp session field", "properties": {
    "user": {"type": "string"}, "password": {"type": "string"},
    "tls": {"type": "boolean", "description": "AUTH TLS + PROT P (default true)"},
    "login": _REPLY, "actions": {"type": "array", "items": _ACTION}}}


class ReplyMismatch(AssertionError):
    pass


def run_raw_session(run: Any, endpoint: Endpoint, account: Account, args: dict) -> dict[str, str]:
    """Run the session; returns contextId -> scenario name for meta files it built."""
    aliases: dict[str, str] = {}
    uploaded: dict[str, bytes] = {}
    use_tls = args.get("tls", True)
    ftp = ftplib.FTP_TLS(context=run.runtime.tls.client_context(), timeout=10) if use_tls else ftplib.FTP(timeout=10)
    try:
        ftp.connect(endpoint.host, endpoint.port)
        if use_tls:
            ftp.auth()
        reply = _attempt(lambda: ftp.login(args.get("user", account.user), args.get("password", account.password)))
        _check("login", reply, args.get("login", "230*"))
        if not reply.startswith("230"):
            return aliases
        if use_tls:
            ftp.prot_p()
        for index, action in enumerate(args.get("actions", [])):
            _run_action(run, ftp, action, uploaded, aliases, f"action {index + 1}")
    finally:
        try:
            ftp.quit()
        except (OSError, EOFError, ftplib.Error):
            ftp.close()
    return aliases


def _run_action(run: Any, ftp: ftplib.FTP, action: dict, uploaded: dict, aliases: dict, where: str) -> None:
    if "upload" in action:
        path = action["upload"]
        body = _body(run, action, uploaded, aliases)
        reply = _upload(ftp, path, body)
        if reply.startswith("2"):
            uploaded[path] = body
        _check(f"{where} (upload {path})", reply, action.get("reply", "226*"))
    elif "download" in action:
        sink = io.BytesIO()
        reply = _attempt(lambda: ftp.retrbinary(f"RETR {action['download']}", sink.write))
        _check(f"{where} (download)", reply, action.get("reply", "226*"))
    elif "delete" in action:
        reply = _attempt(lambda: ftp.delete(action["delete"]))
        _check(f"{where} (delete)", reply, action.get("reply", "250*"))
    elif "list" in action:
        names = [n.rsplit("/", 1)[-1] for n in _attempt_list(ftp, action["list"])]
        for pattern in action.get("expect", []):
            if not any(fnmatchcase(n, pattern) for n in names):
                raise ReplyMismatch(f"{where}: {action['list']} holds {names}, nothing like {pattern!r}")
    elif "command" in action:
        reply = _attempt(lambda: ftp.sendcmd(action["command"]))
        _check(f"{where} ({action['command']})", reply, action.get("reply", "2*"))
    else:
        raise ValueError(f"{where}: give one of upload, download, delete, list or command")


def _body(run: Any, action: dict, uploaded: dict, aliases: dict) -> bytes:
    if "meta" in action:
        return _meta(action["meta"], uploaded, aliases, run.clock.now().isoformat())
    if "file" in action:
        return run.resolve(action["file"]).read_bytes()
    return action.get("content", "").encode() * action.get("repeat", 1)


def _meta(spec: dict, uploaded: dict, aliases: dict, created: str) -> bytes:
    data = uploaded.get(spec["data"], b"")
    context_id = spec.get("contextId", "ref-raw")
    aliases[context_id] = spec.get("as", context_id)
    return build_meta(
        context_id=context_id, filename=spec.get("filename", spec["data"].rsplit("/", 1)[-1]),
        content_type="application/xml", sha256=spec.get("checksum", hashlib.sha256(data).hexdigest()),
        size=spec.get("size", len(data)), berichtsoort=spec.get("berichtsoort", "Omzetbelasting"),
        aanleverkenmerk=spec.get("aanleverkenmerk"), eerder_aanleverkenmerk=None,
        identity_number=spec.get("identity", "001000044B37"), identity_type=spec.get("identity_type", "Fi"),
        rol=spec.get("rol", "Bedrijf"), created=created)


def _attempt(operation) -> str:
    """The server's final reply to an operation, whether ftplib calls it success or error."""
    try:
        return str(operation())
    except ftplib.Error as exc:
        return str(exc)
    except (EOFError, ConnectionError) as exc:
        return f"(connection closed: {type(exc).__name__})"


def _upload(ftp: ftplib.FTP, path: str, body: bytes) -> str:
    try:
        return str(ftp.storbinary(f"STOR {path}", io.BytesIO(body)))
    except ftplib.Error as exc:
        return str(exc)
    except OSError:  # the server cut the data connection; its reason waits on the control connection
        return _attempt(ftp.getresp)


def _attempt_list(ftp: ftplib.FTP, folder: str) -> list[str]:
    try:
        return ftp.nlst(folder)
    except ftplib.error_perm:
        return []


def _check(what: str, reply: str, pattern: str) -> None:
    if not fnmatchcase(reply, pattern):
        raise ReplyMismatch(f"{what}: the server replied {reply!r}, expected {pattern!r}")
