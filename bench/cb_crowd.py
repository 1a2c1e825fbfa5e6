"""CB (c): many customers at once. N accounts (relation ids 7100000...) are created and sent one service
invoice each through the admin API; then N threads, released together, each log in once (enforce mode:
one login per account is within CB's rules) and download their invoice's ``.xml`` from
``/{RelatieID}/out/`` in ASCII, as CB's rulebook and our CB client do it.

Reported: whether every client succeeded (each failure with its reason), the wall time from the release
to the last client done, and the simulator's resident memory (goal: at most 100 MB) — idle, after the
set-up, and its peak (psutil every 50 ms, and the kernel's high-water mark VmHWM over its whole life).
"""

from __future__ import annotations

import ftplib
import threading
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Callable

from .cbsim import CBSim, start_cb_sim
from .ftps import client_context
from .procs import HOST, RSSSampler, peak_hwm, rss_now

FIRST_RELATION = 7100000
PASSWORD = "crowd-secret"
GOAL_RSS_BYTES = 100 * 2**20
CLIENT_TIMEOUT = 60.0  # real seconds per socket operation of one client
CROWD_TIMEOUT = 300.0  # real seconds for the whole crowd
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def run(clients: int, workdir: Path, progress: Callable[[str], None]) -> dict:
    sim = start_cb_sim(workdir, "cb-crowd-sim", mode="enforce")
    sampler: RSSSampler | None = None
    try:
        rss_idle = rss_now(sim.pid)
        sampler = RSSSampler(sim.pid).start()
        relations = [str(FIRST_RELATION + i) for i in range(clients)]
        started = time.perf_counter()
        for relation in relations:
            sim.add_account(relation, PASSWORD)
        accounts_seconds = time.perf_counter() - started
        started = time.perf_counter()
        invoices = {relation: sim.issue_invoice(relation) for relation in relations}
        invoices_seconds = time.perf_counter() - started
        progress(f"cb crowd: {clients} accounts in {accounts_seconds:.1f} s, {clients} invoices in "
                 f"{invoices_seconds:.1f} s")
        expected = {relation: _invoice_xml(sim, invoice["number"]) for relation, invoice in invoices.items()}
        rss_after_setup = rss_now(sim.pid)
        peak_before_crowd = sampler.peak

        overflows_before = listen_overflows()
        outcomes, wall, wall_successes = _crowd(sim, {r: invoices[r]["xml_name"] for r in relations}, expected)
        overflows = listen_overflows()
        overflows = overflows - overflows_before if overflows is not None and overflows_before is not None else None
        progress(f"cb crowd: {clients} clients done in {wall:.2f} s, "
                 f"{sum(o is None for o in outcomes.values())} succeeded")
        left_in_out = sum(sim.out_folder(r).joinpath(invoices[r]["xml_name"]).exists() for r in relations)
        peak_sampled, hwm = sampler.peak, peak_hwm(sim.pid)
        findings = sim.api("GET", "/api/cb/findings")
    finally:
        if sampler is not None:
            sampler.stop()
        sim.stop()
    failures = Counter(reason for reason in outcomes.values() if reason is not None)
    return {
        "clients": clients, "cb_mode": "enforce", "succeeded": clients - sum(failures.values()),
        "all_succeeded": not failures, "failures": dict(failures.most_common()), "wall_seconds": wall,
        "last_success_seconds": wall_successes,
        "accounts_seconds": accounts_seconds, "invoices_seconds": invoices_seconds,
        "invoice_ms_each": 1000 * invoices_seconds / clients,
        "invoices_left_in_out": left_in_out, "findings": len(findings), "listen_overflows": overflows,
        "rss_idle_bytes": rss_idle, "rss_after_setup_bytes": rss_after_setup,
        "rss_peak_before_crowd_bytes": peak_before_crowd, "rss_peak_sampled_bytes": peak_sampled,
        "rss_peak_hwm_bytes": hwm, "goal_rss_bytes": GOAL_RSS_BYTES,
    }


def listen_overflows() -> int | None:
    """The kernel's count of connections dropped because a listen queue was full (machine-wide, Linux):
    a client whose connection waits there hears no 220 greeting until the server accepts it."""
    try:
        lines = Path("/proc/net/netstat").read_text().splitlines()
    except OSError:
        return None
    for header, values in zip(lines[::2], lines[1::2]):
        if header.startswith("TcpExt:"):
            fields = dict(zip(header.split()[1:], values.split()[1:]))
            return int(fields["ListenOverflows"]) if "ListenOverflows" in fields else None
    return None


def _invoice_xml(sim: CBSim, number: str) -> bytes:
    """The UBL as the admin API keeps it: what each client must receive."""
    with _OPENER.open(f"http://{HOST}:{sim.admin_port}/api/cb/invoices/{number}/xml", timeout=30) as reply:
        return reply.read()


def _crowd(sim: CBSim, names: dict[str, str],
           expected: dict[str, bytes]) -> tuple[dict[str, str | None], float, float | None]:
    """Every client on its own thread, released at once: (relation -> failure or None, seconds until the
    last client was done, seconds until the last successful one was)."""
    context = client_context(str(sim.ca_file))
    outcomes: dict[str, str | None] = {r: "did not finish in time" for r in names}
    release = threading.Event()
    finished: dict[str, float] = {}
    lock = threading.Lock()

    def client(relation: str) -> None:
        release.wait()
        stage = "connect (TCP + 220 greeting)"
        try:
            ftp = ftplib.FTP_TLS(context=context, timeout=CLIENT_TIMEOUT)
            try:
                ftp.connect(HOST, sim.ftp_port)
                stage = "AUTH TLS"
                ftp.auth()
                stage = "login"
                ftp.login(relation, PASSWORD)
                stage = "PROT P"
                ftp.prot_p()
                stage = "RETR"
                lines: list[str] = []
                ftp.retrlines(f"RETR /{relation}/out/{names[relation]}", lines.append)  # ASCII: TYPE A
                stage = "QUIT"
                ftp.quit()
            finally:
                ftp.close()
            got = "\n".join(lines).encode("utf-8")
            outcome = None if got.strip() == expected[relation].replace(b"\r\n", b"\n").strip() else "wrong content"
        except Exception as exc:  # every failure is a figure: collected, not raised
            text = str(exc).splitlines()[0][:80] if str(exc) else ""
            outcome = f"{stage}: {type(exc).__name__}{': ' + text if text else ''}"
        with lock:
            outcomes[relation] = outcome
            finished[relation] = time.perf_counter()

    threads = [threading.Thread(target=client, args=(r,), name=f"bench-crowd-{r}", daemon=True) for r in names]
    for thread in threads:
        thread.start()
    started = time.perf_counter()
    release.set()
    deadline = started + CROWD_TIMEOUT
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - time.perf_counter()))
    with lock:
        wall = (max(finished.values()) if finished else time.perf_counter()) - started
        successes = [at for relation, at in finished.items() if outcomes[relation] is None]
        return dict(outcomes), wall, (max(successes) - started if successes else None)
