"""``digipoort.ftp`` — a raw FTP(S) session against Digipoort, with hand-made meta files.

The generic session is ``simulators.scenario.rawftp``; Digipoort adds ``meta``: an upload whose body
is a meta file built for a data file uploaded earlier in the session, with any field overridden::

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

import hashlib
from typing import Any

from clients.digipoort.messages import build_meta

from ..core.lifecycle import Endpoint
from ..scenario.rawftp import raw_ftp_schema, run_raw_session as run_session
from .config import Account

_META = {"type": "object", "required": ["data"], "additionalProperties": False, "properties": {
    "data": {"type": "string", "description": "path of the data file uploaded earlier in this session"},
    "contextId": {"type": "string"}, "berichtsoort": {"type": "string"}, "identity": {"type": "string"},
    "identity_type": {"type": "string"}, "rol": {"type": "string"}, "aanleverkenmerk": {"type": "string"},
    "filename": {"type": "string"}, "checksum": {"type": "string"}, "size": {"type": "integer"},
    "as": {"type": "string"}}}
RAW_FTP_SCHEMA = raw_ftp_schema({"meta": _META})


def run_raw_session(run: Any, endpoint: Endpoint, account: Account, args: dict) -> dict[str, str]:
    """Run the session; returns contextId -> scenario name for the meta files it built."""
    aliases: dict[str, str] = {}

    def body(action: dict, uploaded: dict) -> bytes | None:
        if "meta" not in action:
            return None
        spec = action["meta"]
        data = uploaded.get(spec["data"], b"")
        context_id = spec.get("contextId", "ref-raw")
        aliases[context_id] = spec.get("as", context_id)
        return build_meta(
            context_id=context_id, filename=spec.get("filename", spec["data"].rsplit("/", 1)[-1]),
            content_type="application/xml", sha256=spec.get("checksum", hashlib.sha256(data).hexdigest()),
            size=spec.get("size", len(data)), berichtsoort=spec.get("berichtsoort", "Omzetbelasting"),
            aanleverkenmerk=spec.get("aanleverkenmerk"), eerder_aanleverkenmerk=None,
            identity_number=spec.get("identity", "001000044B37"), identity_type=spec.get("identity_type", "Fi"),
            rol=spec.get("rol", "Bedrijf"), created=run.clock.now().isoformat())

    run_session(run, endpoint.host, endpoint.port, account.user, account.password, args, body)
    return aliases
