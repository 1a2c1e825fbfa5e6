"""Throughput: N submissions from C concurrent FTPS clients through the whole Digipoort dialogue
against ``koppelsim sim`` (a subprocess, answer delay 1h, time travel to make the answers due).

Phases, each timed over all clients: connect, upload (data + meta), collect the ``.ok`` files,
``POST /api/clock {"advance": "2h"}``, collect the answers. Then the exactly-once check.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Callable

from .dialogue import DialogueClient, verify
from .ftps import FTPSEndpoint, client_context, run_parallel
from .phases import Phases
from .procs import HOST, BenchError, RSSSampler, http_json, peak_hwm, rss_now, wait_http_ok
from .simproc import SimPorts, spawn_sim
from .workload import Submission, shares

TRANSPORT_TIMEOUT = 120.0  # real seconds for every .ok to show up
ANSWER_TIMEOUT = 300.0  # real seconds for every answer after the time jump
SETTLE_TIMEOUT = 30.0


def run(workload: list[Submission], clients: int, workdir: Path, progress: Callable[[str], None]) -> dict:
    workdir.mkdir(parents=True, exist_ok=True)
    # Digipoort alone: the dialogue is what is measured (the other simulators' threads and their recurring
    # events, CB's maintenance and the hub's hourly run, would only add noise).
    child, ports = spawn_sim(workdir, workdir / "sim-state", "throughput-sim", answer_delay="1h", only="digipoort")
    sampler: RSSSampler | None = None
    team: list[DialogueClient] = []
    try:
        wait_http_ok(ports.readyz, child)
        idle_rss = rss_now(child.pid)
        sampler = RSSSampler(child.pid).start()
        endpoint = FTPSEndpoint(HOST, ports.ftp, "acme", "acme-secret",
                                client_context(str(workdir / "sim-state" / "tls" / "ca.pem")))
        team = [DialogueClient(endpoint, share) for share in shares(workload, clients)]
        phases = Phases(sampler)
        n = len(workload)

        phases.measure("connect", lambda: run_parallel(team, lambda c: c.ftp.connect()))
        phases.measure("upload", lambda: run_parallel(team, DialogueClient.upload))
        progress(f"throughput: koppelsim uploaded {n} submissions in {phases.seconds('upload'):.2f} s")
        phases.measure("collect_ok", lambda: run_parallel(team, lambda c: c.collect_transport(TRANSPORT_TIMEOUT)))
        progress(f"throughput: koppelsim .ok files collected in {phases.seconds('collect_ok'):.2f} s")
        jumped = time.perf_counter()
        phases.measure("advance", lambda: _advance(ports, "2h"))
        watcher = _PendingWatcher(ports, jumped)
        phases.measure("collect_answers", lambda: run_parallel(team, lambda c: c.collect_answers(ANSWER_TIMEOUT)))
        watcher.join()
        progress(f"throughput: koppelsim answers collected in {phases.seconds('collect_answers'):.2f} s")

        _wait_scheduler_idle(ports)
        leftovers = _leftovers(team)
        status, server_subs = http_json("GET", ports.api("/api/digipoort/submissions?user=acme"))
        if status != 200:
            raise BenchError(f"GET /api/digipoort/submissions answered {status}: {server_subs}")
        verdict = verify(team, server_subs, leftovers)
        peak_sampled = sampler.peak
        hwm = peak_hwm(child.pid)
        server_cpu = sampler.cpu_seconds()
    finally:
        for client in team:
            client.ftp.close()
        if sampler is not None:
            sampler.stop()
        child.stop()

    upload_ok = phases.seconds("upload", "collect_ok")
    total = phases.seconds("connect", "upload", "collect_ok", "advance", "collect_answers")
    return {
        "submissions": n, "clients": clients, "payload_bytes": len(workload[0].data),
        "meta_bytes": len(workload[0].meta), "account": "shared (acme)",
        "phases": phases.results,
        "upload_seconds": phases.seconds("upload"),
        "uploads_per_second": n / phases.seconds("upload"),
        "upload_ok_seconds": upload_ok,
        "upload_ok_per_second": n / upload_ok,
        "total_seconds": total,
        "dialogue_per_second": n / total,
        "upload_rate_by_tenth": _rate_by_tenth(sorted(t for c in team for t in c.uploaded_at)),
        "answers_written_seconds": watcher.seconds,
        "listings": {k: sum(c.listings[k] for c in team) for k in ("transport", "answers")},
        "server_cpu_seconds_total": server_cpu,
        "rss_idle_bytes": idle_rss,
        "rss_peak_sampled_bytes": peak_sampled,
        "rss_peak_hwm_bytes": hwm,
        "rss_samples": sampler.samples,
        **verdict.as_dict(),
    }


def _advance(ports: SimPorts, delta: str) -> dict:
    status, body = http_json("POST", ports.api("/api/clock"), {"advance": delta})
    if status != 200:
        raise BenchError(f"POST /api/clock answered {status}: {body}")
    return body


class _PendingWatcher:
    """Server side of the answer phase: seconds from the jump until the scheduler has nothing pending,
    i.e. every answer is written — apart from how fast the clients happen to collect them."""

    def __init__(self, ports: SimPorts, jumped: float) -> None:
        self.ports, self.jumped = ports, jumped
        self.seconds: float | None = None
        self._thread = threading.Thread(target=self._run, name="bench-pending", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        deadline = time.monotonic() + ANSWER_TIMEOUT
        while time.monotonic() < deadline:
            try:
                _, clock = http_json("GET", self.ports.api("/api/clock"))
            except OSError:
                return
            if _digipoort_pending(clock) == 0:
                self.seconds = time.perf_counter() - self.jumped
                return
            time.sleep(0.1)

    def join(self) -> None:
        self._thread.join(timeout=ANSWER_TIMEOUT)


def _wait_scheduler_idle(ports: SimPorts) -> None:
    """Every due event has fired (a second answer for a kenmerk would come from a pending event)."""
    deadline = time.monotonic() + SETTLE_TIMEOUT
    while True:
        _, clock = http_json("GET", ports.api("/api/clock"))
        if _digipoort_pending(clock) == 0:
            return
        if time.monotonic() > deadline:
            raise BenchError(f"scheduler still has {_digipoort_pending(clock)} Digipoort events after "
                             f"{SETTLE_TIMEOUT} s: {clock['scheduler']['by_kind']}")
        time.sleep(0.1)


def _digipoort_pending(clock: dict) -> int:
    """Digipoort's events still waiting (transport, answers, retries); a simulator's recurring events, which
    are always pending, do not count."""
    return sum(n for kind, n in clock["scheduler"]["by_kind"].items() if kind.startswith("digipoort."))


def _leftovers(team: list[DialogueClient]) -> list[str]:
    """Anything of ours still in IN or OUT once everything is collected: a duplicate or a stuck file."""
    lister = team[0].ftp
    names = lister.names("IN") + lister.names("OUT")
    return [name for name in names if any(c.ours(name) for c in team)]


def _rate_by_tenth(done: list[float]) -> list[float]:
    """Submissions/s within each tenth of the upload phase (by completion order): a server whose
    per-submission cost grows with what it already holds shows a falling curve."""
    tenth = len(done) // 10
    if tenth < 2:
        return []
    rates = []
    for i in range(10):
        chunk = done[i * tenth:(i + 1) * tenth]
        span = chunk[-1] - chunk[0]
        rates.append((len(chunk) - 1) / span if span > 0 else 0.0)
    return rates
