"""One benchmark client's side of the Digipoort dialogue, and the exactly-once check over all of them.

All clients share one account (the harder case): the same IN and OUT, so each client takes only the
files that belong to its own references and kenmerken and leaves the rest for the others — which is
also how a duplicate (a second ``.ok`` or answer for one submission) becomes visible: it is counted.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

from clients.digipoort.messages import read_answer, read_error

from .ftps import FTPSClient, FTPSEndpoint
from .procs import BenchError
from .workload import Submission

# Real pause between looks at OUT when the last look found nothing of ours: doubling from 50 ms to
# 0.8 s, as a real client backs off. Polling flat out at 50 ms made the 20 clients' listings of a
# 2,000-name OUT the main load on the server while it was writing answers — measuring the harness.
POLL_FIRST, POLL_MAX = 0.05, 0.8


class DialogueClient:
    def __init__(self, endpoint: FTPSEndpoint, share: list[Submission]) -> None:
        self.ftp = FTPSClient(endpoint)
        self.share = share
        self.refs = {s.ref for s in share}
        self.transport_seen: Counter[str] = Counter()  # ref -> .ok/.error files taken
        self.kenmerk_of: dict[str, str] = {}
        self.errors: list[str] = []
        self.answers_seen: Counter[str] = Counter()  # kenmerk -> answers taken
        self.verdicts: dict[str, str] = {}
        self.listings = Counter()  # phase -> NLSTs of OUT it took
        self.uploaded_at: list[float] = []  # perf_counter() when each meta upload got its 226

    def upload(self) -> None:
        """Data file first, then the meta file (the trigger), as Digipoort prescribes."""
        for sub in self.share:
            self.ftp.put(f"IN/{sub.data_name}", sub.data)
            self.ftp.put(f"IN/{sub.meta_name}", sub.meta)
            self.uploaded_at.append(time.perf_counter())

    def collect_transport(self, timeout: float) -> None:
        """Download and delete this client's ``<ref>_<kenmerk>.ok`` (or ``.error``) files."""
        pending = set(self.refs)
        deadline = time.monotonic() + timeout
        pause = POLL_FIRST
        while pending:
            self.listings["transport"] += 1
            took = 0
            for name in self.ftp.names("OUT"):
                if not name.endswith((".ok", ".error")) or "_" not in name:
                    continue
                ref, kenmerk = name.rsplit(".", 1)[0].rsplit("_", 1)
                if ref not in self.refs:
                    continue  # another client's file: not ours to take
                body = self.ftp.get(f"OUT/{name}")
                self.ftp.delete(f"OUT/{name}")
                self.transport_seen[ref] += 1
                if name.endswith(".error"):
                    code, text = read_error(body)
                    self.errors.append(f"{ref}: .error {code} {text}")
                else:
                    self.kenmerk_of[ref] = kenmerk
                pending.discard(ref)
                took += 1
            if pending and not took:
                if time.monotonic() > deadline:
                    raise BenchError(f"{len(pending)} transport responses missing after {timeout:.0f} s, "
                                     f"e.g. {sorted(pending)[:3]}")
                time.sleep(pause)
                pause = min(pause * 2, POLL_MAX)
            else:
                pause = POLL_FIRST

    def collect_answers(self, timeout: float) -> None:
        """Download and delete ``<kenmerk>`` and ``<kenmerk>.meta`` once the meta (written second) is there."""
        pending = set(self.kenmerk_of.values())
        deadline = time.monotonic() + timeout
        pause = POLL_FIRST
        while pending:
            self.listings["answers"] += 1
            present = set(self.ftp.names("OUT"))
            ready = [k for k in pending if k in present and f"{k}.meta" in present]
            for kenmerk in ready:
                body = self.ftp.get(f"OUT/{kenmerk}")
                self.ftp.get(f"OUT/{kenmerk}.meta")
                self.ftp.delete(f"OUT/{kenmerk}")
                self.ftp.delete(f"OUT/{kenmerk}.meta")
                self.answers_seen[kenmerk] += 1
                self.verdicts[kenmerk] = read_answer(body)[0]
                pending.discard(kenmerk)
            if pending and not ready:
                if time.monotonic() > deadline:
                    raise BenchError(f"{len(pending)} answers missing after {timeout:.0f} s")
                time.sleep(pause)
                pause = min(pause * 2, POLL_MAX)
            else:
                pause = POLL_FIRST

    def ours(self, name: str) -> bool:
        base = name.split(".", 1)[0]
        kenmerken = set(self.kenmerk_of.values())
        return base in self.refs or base in kenmerken or base.rsplit("_", 1)[0] in self.refs


@dataclass
class Verdict:
    """The exactly-once check; ``problems`` says what broke it, in words."""

    submissions: int
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict:
        return {"answered_exactly_once": self.ok, "submissions": self.submissions, "problems": self.problems}


def verify(clients: list[DialogueClient], server_subs: list[dict], leftovers: list[str]) -> Verdict:
    refs = [ref for c in clients for ref in c.refs]
    verdict = Verdict(len(refs))
    problems = verdict.problems
    transport = Counter({ref: n for c in clients for ref, n in c.transport_seen.items()})
    wrong = {r: transport.get(r, 0) for r in refs if transport.get(r, 0) != 1}
    if wrong:
        problems.append(f"{len(wrong)} refs without exactly one .ok/.error, e.g. {list(wrong.items())[:3]}")
    errors = [e for c in clients for e in c.errors]
    if errors:
        problems.append(f"{len(errors)} .error responses, e.g. {errors[:2]}")
    kenmerken = [k for c in clients for k in c.kenmerk_of.values()]
    if len(set(kenmerken)) != len(kenmerken):
        problems.append(f"kenmerken not unique: {len(kenmerken) - len(set(kenmerken))} duplicates")
    answers = Counter({k: n for c in clients for k, n in c.answers_seen.items()})
    wrong = {k: answers.get(k, 0) for k in kenmerken if answers.get(k, 0) != 1}
    if wrong:
        problems.append(f"{len(wrong)} kenmerken without exactly one answer, e.g. {list(wrong.items())[:3]}")
    rejected = [k for c in clients for k, v in c.verdicts.items() if v != "accepted"]
    if rejected:
        problems.append(f"{len(rejected)} answers are not acknowledgements, e.g. {rejected[:3]}")
    if leftovers:
        problems.append(f"{len(leftovers)} of our files still in IN/OUT after collecting, e.g. {leftovers[:3]}")
    if len(server_subs) != len(refs):
        problems.append(f"GET /api/digipoort/submissions lists {len(server_subs)}, expected {len(refs)}")
    phases = Counter(s.get("phase") for s in server_subs)
    if set(phases) != {"accepted"}:
        problems.append(f"server phases {dict(phases)}, expected all 'accepted'")
    context_ids = Counter(s.get("contextId") for s in server_subs)
    if set(context_ids) != set(refs) or any(n != 1 for n in context_ids.values()):
        problems.append("server submissions do not match our references one to one")
    return verdict
