"""``python -m bench --only hub``: 1,000 messages from 50 tenants through one send/receive cycle.

The cycle: one run delivers every queued VAT return (one FTPS session) and fetches the .ok files; the
clock moves past the Belastingdienst's answer delay; a second run fetches and links every answer. It
ends when every status is final. Printed: wall time per phase, messages/s, peak memory (the process's
maximum resident set, which includes the simulators in the same process). Never a timed assertion.
"""

from __future__ import annotations

import resource
import time
from pathlib import Path
from typing import Callable

from simulators.core.clock import VirtualClock
from simulators.core.config import config_from_dict
from simulators.core.runtime import Runtime, register_config_sections, settings_for_tests

BOXES = {"1a": 10000, "1a_btw": 2100, "5b": 300}


def run(messages: int, tenants: int, workdir: Path, progress: Callable[[str], None]) -> dict:
    register_config_sections()
    settings = settings_for_tests()
    config = config_from_dict({"state_dir": str(workdir / "state"), "admin_port": 0, "clock": "virtual",
                               **{n: settings[n] for n in ("mailbox", "digipoort", "hub")},
                               "hub": {"schedule": None, "tenants": [], "mail": False, "cb_relation_ids": []}})
    runtime = Runtime(config, clock=VirtualClock("2026-11-20T08:00:00Z"), only=["mailbox", "digipoort", "hub"])
    runtime.start(admin=False)
    try:
        hub = runtime.simulators["hub"].hub
        for index in range(tenants):
            hub.create_tenant(f"t{index:03d}", f"Tenant {index}", vat_number=f"{index + 1:09d}B01")
        started = time.perf_counter()
        for number in range(messages):
            hub.prepare(f"t{number % tenants:03d}", "vat", period="2026-10", boxes=BOXES)
        prepared = time.perf_counter()
        progress(f"hub: {messages} messages prepared in {prepared - started:.2f} s; send/receive")
        first = hub.send_receive("bench")
        delivered = time.perf_counter()
        runtime.scheduler.advance("15m")  # the simulator writes every answer
        answered = time.perf_counter()
        second = hub.send_receive("bench")
        finished = time.perf_counter()
        statuses = hub.statuses()
        final = sum(1 for s in statuses if s["status"] in ("accepted", "rejected"))
        cycle = finished - prepared
        return {
            "messages": messages, "tenants": tenants, "final": final,
            "prepare_s": round(prepared - started, 3), "deliver_run_s": round(delivered - prepared, 3),
            "answers_written_s": round(answered - delivered, 3), "receive_run_s": round(finished - answered, 3),
            "cycle_s": round(cycle, 3), "messages_per_s": round(messages / cycle, 1),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "problems": (first.problems + second.problems)[:5],
        }
    finally:
        runtime.stop()


def describe(result: dict) -> str:
    return (f"hub: {result['messages']} messages from {result['tenants']} tenants, {result['final']} final; "
            f"cycle {result['cycle_s']} s ({result['messages_per_s']} messages/s: deliver run "
            f"{result['deliver_run_s']} s, answers {result['answers_written_s']} s, receive run "
            f"{result['receive_run_s']} s); prepare {result['prepare_s']} s; peak RSS {result['peak_rss_mb']} MB"
            + (f"; problems: {result['problems']}" if result["problems"] else ""))
