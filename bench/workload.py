"""The submissions the clients upload: a data file of a fixed size and its meta file.

The same bytes go to koppelsim and to the bare server, so the comparison differs only in the server.
Berichtsoort ICP: the recipient check is the VAT check for Omzetbelasting only, so every ICP
submission is accepted and the exactly-once check can demand "accepted" for all of them.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass

from clients.digipoort.messages import build_meta

BERICHTSOORT = "ICP"
IDENTITY = "001000044B37"
CREATED = "2026-11-20T08:00:00Z"  # fixed: the meta's creation time plays no part in any check


@dataclass(frozen=True)
class Submission:
    ref: str  # contextId, and the data file's name without ".xml"; no "_" (it separates ref and kenmerk)
    data: bytes
    meta: bytes

    @property
    def data_name(self) -> str:
        return f"{self.ref}.xml"

    @property
    def meta_name(self) -> str:
        return f"{self.ref}.meta"


def payload(ref: str, size: int) -> bytes:
    head = f'<?xml version="1.0" encoding="UTF-8"?>\n<icp-opgaaf ref="{ref}"><toelichting>'.encode()
    tail = b"</toelichting></icp-opgaaf>\n"
    return head + b"x" * max(0, size - len(head) - len(tail)) + tail


def make_workload(count: int, payload_size: int = 2048) -> list[Submission]:
    tag = uuid.uuid4().hex[:6]  # refs unique per run, so nothing from an earlier run can be mistaken for ours
    result = []
    for i in range(count):
        ref = f"bench{tag}n{i:05d}"
        data = payload(ref, payload_size)
        meta = build_meta(context_id=ref, filename=f"{ref}.xml", content_type="application/xml",
                          sha256=hashlib.sha256(data).hexdigest(), size=len(data), berichtsoort=BERICHTSOORT,
                          aanleverkenmerk=None, eerder_aanleverkenmerk=None, identity_number=IDENTITY,
                          identity_type="Fi", rol="Bedrijf", created=CREATED)
        result.append(Submission(ref, data, meta))
    return result


def shares(workload: list[Submission], clients: int) -> list[list[Submission]]:
    """Round-robin: every client gets (almost) the same number of submissions."""
    return [workload[c::clients] for c in range(clients)]
