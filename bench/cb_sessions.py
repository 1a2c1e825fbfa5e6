"""CB (b): what one whole session costs — connect, AUTH TLS, login, PROT P, upload 1 KB, QUIT — with
Python's ftplib, one session after another, against the CB simulator and a bare pyftpdlib TLS server.
Goal: CB at most 1.2x the bare server (the median over blocks of 20 sessions of CB's mean over the bare
server's mean in the same block).

Each CB session logs in with an account of its own (created through the admin API beforehand), so CB
runs in enforce mode, as in production, and no session breaks the one-login-per-10-minutes rule.
Sessions alternate (CB, bare, CB, bare, ...) so drift on a shared machine hurts both alike; a few
warm-up sessions per server are not counted.

Two kinds of upload: a 1 KB ``.zip`` in binary (an attachment to CB: recorded and archived), and for
comparison a ~1 KB OPDNAW order as ``.txt`` in ASCII, which CB checks and answers with a receipt in out/.
"""

from __future__ import annotations

import ftplib
import io
import os
import statistics
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from stdnum import ean

from clients.cbftp.digicom import DeliveryAddress, Order, OrderLine, build_opdnaw

from .bare_ftp_server import PASSWORD as BARE_PASSWORD
from .bare_ftp_server import USER as BARE_USER
from .cbsim import CBSim, start_cb_sim
from .ftps import client_context
from .procs import HOST, PYTHON, BenchError, Child, free_port, wait_ftp_banner
from .reference import make_certificates

GOAL_RATIO = 1.2
WARMUP = 3
BLOCK = 20  # sessions per block of the ratio (see run)
FIRST_RELATION = 7200000
PASSWORD = "bench-secret"
TIMEOUT = 30.0


def session(port: int, user: str, password: str, context, path: str, data: bytes, ascii: bool = False) -> float:
    """One whole session; its wall seconds."""
    started = time.perf_counter()
    ftp = ftplib.FTP_TLS(context=context, timeout=TIMEOUT)
    try:
        ftp.connect(HOST, port)
        ftp.auth()
        ftp.login(user, password)
        ftp.prot_p()
        if ascii:
            ftp.storlines(f"STOR {path}", io.BytesIO(data))
        else:
            ftp.storbinary(f"STOR {path}", io.BytesIO(data))
        ftp.quit()
    finally:
        ftp.close()
    return time.perf_counter() - started


def order_file(relation_id: str, number: int) -> bytes:
    """A valid OPDNAW order from this account, about 1 KB (20 lines and a delivery address)."""
    stems = (f"978{number % 10**5:05d}{i:04d}" for i in range(20))
    lines = [OrderLine(stem + ean.calc_check_digit(stem), 1 + i % 3) for i, stem in enumerate(stems)]
    order = Order(f"PO-{number}", lines, DeliveryAddress("Boekhandel De Zeef", "Kerkstraat", 12, "1234 AB",
                                                         "Utrecht"))
    return build_opdnaw(order, sender_relation_id=relation_id, reference=f"B{number}",
                        now=datetime.now(timezone.utc))


def run(sessions: int, workdir: Path, progress: Callable[[str], None]) -> dict:
    workdir.mkdir(parents=True, exist_ok=True)
    payload = os.urandom(1024)
    ca, chain, key = make_certificates(workdir / "tls")
    bare_port = free_port()
    bare = Child([PYTHON, "-m", "bench.bare_ftp_server", "--port", str(bare_port), "--home", str(workdir / "home"),
                  "--cert", str(chain), "--key", str(key)], workdir / "bare-ftp.log")
    sim: CBSim | None = None
    try:
        wait_ftp_banner(bare_port, bare)
        sim = start_cb_sim(workdir, "cb-sessions-sim", mode="enforce")
        bare_context, cb_context = client_context(str(ca)), client_context(str(sim.ca_file))
        relations = [str(FIRST_RELATION + i) for i in range(2 * (WARMUP + sessions))]
        for relation in relations:
            sim.add_account(relation, PASSWORD)
        zips, orders = relations[:WARMUP + sessions], relations[WARMUP + sessions:]

        def cb_zip(i: int) -> float:
            return session(sim.ftp_port, zips[i], PASSWORD, cb_context, f"/{zips[i]}/in/s{i}.zip", payload)

        def bare_zip(i: int) -> float:
            return session(bare_port, BARE_USER, BARE_PASSWORD, bare_context, f"IN/s{i}.zip", payload)

        def cb_order(i: int) -> float:
            return session(sim.ftp_port, orders[i], PASSWORD, cb_context, f"/{orders[i]}/in/o{i}.txt",
                           order_file(orders[i], i), ascii=True)

        def bare_order(i: int) -> float:
            return session(bare_port, BARE_USER, BARE_PASSWORD, bare_context, f"IN/o{i}.txt",
                           order_file(orders[i], i), ascii=True)

        binary = _alternate(cb_zip, bare_zip, sessions)
        progress(f"cb sessions: {sessions} x 1 KB .zip, CB {_ms(binary['cb'])} vs bare {_ms(binary['bare'])}")
        ordered = _alternate(cb_order, bare_order, sessions)
        progress(f"cb sessions: {sessions} x OPDNAW order, CB {_ms(ordered['cb'])} vs bare {_ms(ordered['bare'])}")
        _verify(sim, zips[WARMUP:], orders[WARMUP:])
    finally:
        if sim is not None:
            sim.stop()
        bare.stop()
    result: dict = {"sessions": sessions, "warmup": WARMUP, "client": "ftplib.FTP_TLS", "cb_mode": "enforce",
                    "accounts": "one per session", "goal_ratio": GOAL_RATIO}
    for kind, times in (("binary_1k", binary), ("order_1k", ordered)):
        result[kind] = {
            **{f"{side}_{stat}_ms": 1000 * fn(times[side]) for side in ("cb", "bare")
               for stat, fn in (("mean", statistics.mean), ("median", statistics.median), ("p95", _p95))},
            "payload_bytes": len(payload) if kind == "binary_1k" else len(order_file(orders[0], 0)),
        }
        # Sessions alternate, so block k of CB's sessions ran beside block k of the bare server's: the
        # ratio is the median of the per-block ratios of means, which a stall in one block cannot move.
        blocks = [(statistics.mean(times["cb"][i:i + BLOCK]), statistics.mean(times["bare"][i:i + BLOCK]))
                  for i in range(0, len(times["cb"]), BLOCK)]
        result[kind]["ratio_each_block"] = [round(c / b, 3) for c, b in blocks]
        result[kind]["ratio"] = statistics.median(c / b for c, b in blocks)
        result[kind]["ratio_of_means"] = result[kind]["cb_mean_ms"] / result[kind]["bare_mean_ms"]
    return result


def _alternate(cb: Callable[[int], float], bare: Callable[[int], float], n: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {"cb": [], "bare": []}
    for i in range(WARMUP + n):
        for side, work in (("cb", cb), ("bare", bare)):
            seconds = work(i)
            if i >= WARMUP:
                times[side].append(seconds)
    return times


def _verify(sim: CBSim, zips: list[str], orders: list[str]) -> None:
    """CB took every file, accepted every order, and no session broke one of its rules."""
    findings = sim.api("GET", "/api/cb/findings")
    if findings:
        raise BenchError(f"CB recorded {len(findings)} findings, e.g. {findings[0]}")
    for relation in zips + orders:
        received = [f for f in sim.api("GET", f"/api/cb/files/{relation}")["history"] if f["folder"] == "in"]
        if len(received) != 1 or received[0]["detail"] is not None:
            raise BenchError(f"account {relation}: CB's record of what it received is {received}")


def _p95(values: list[float]) -> float:
    return sorted(values)[max(0, round(0.95 * len(values)) - 1)]


def _ms(values: list[float]) -> str:
    return f"{1000 * statistics.mean(values):.1f} ms"
