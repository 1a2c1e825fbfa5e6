"""The HTTP benchmark (issue 4, "Speed"): requests/s and p99 of Twinfield ``ProcessXmlString`` (each request
books a new sales transaction) and of CCV Shop ``GET orders/`` (HMAC-verified), measured with wrk, against
WireMock serving a static stub of the very same answers, in the same run. A third pair serves the Twinfield
answer as a static stub on koppelsim's own listener (bench/static_http.py) against WireMock's: it tells how
much of the Twinfield ratio is the serving stack and how much the stateful booking behind it.

Per target: one warm-up run against each server (WireMock's JIT and koppelsim's caches), then rounds of
koppelsim and WireMock back to back, which one goes first alternating, so a busy minute on the shared
machine hits both. The ratio is the median over the rounds of koppelsim's requests/s over WireMock's in
the same round (WireMock's JVM suffers more than koppelsim from other work on the machine, so a single
pair can be far off either way); the goal is a ratio of at least 1.0.

The figures are also written to bench/results/http.json: other benchmarks running at the same time on a
shared machine overwrite latest.json.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Callable

from . import http_sim, http_wrk
from .http_wiremock import WireMock, skip_reason, stub_headers, write_stub
from .procs import HOST, PYTHON, BenchError, Child, RSSSampler, free_port, wait_http_ok
from .report import RESULTS, environment, write_json

GOAL_RATIO = 1.0
WARM_UP_SECONDS = 3


def run(workdir: Path, progress: Callable[[str], None], quick: bool = False, seconds: int | None = None,
        connections: int = 32, rounds: int | None = None) -> dict:
    if not http_wrk.available():
        raise BenchError("wrk is not installed (bench/install-tools installs the Debian package)")
    if (reason := skip_reason()) is not None:
        raise BenchError(f"WireMock cannot run: {reason}")
    load = http_wrk.Load(threads=2, connections=connections, seconds=seconds or (5 if quick else 10))
    rounds = rounds or (1 if quick else 3)
    workdir.mkdir(parents=True, exist_ok=True)
    progress("http: starting koppelsim (Twinfield + CCV Shop) and WireMock")
    sim = http_sim.start(workdir)
    wiremock = static = None
    try:
        template = http_sim.twinfield_template(sim)
        body_file = workdir / "twinfield-request.xml"
        body_file.write_bytes(template)
        tw_answer = http_sim.capture_twinfield(sim, template)
        ccv_answer = http_sim.capture_ccv(sim)
        stubs = workdir / "wiremock"
        write_stub(stubs, "processxml.xml", "POST", http_sim.TWINFIELD_PATH, 200, dict(tw_answer.headers),
                   tw_answer.content)
        write_stub(stubs, "orders.json", "GET", http_sim.CCV_PATH, 200, dict(ccv_answer.headers), ccv_answer.content)
        wiremock = WireMock(stubs, workdir / "wiremock.log")
        static = _static_listener(workdir, stubs / "__files" / "processxml.xml", stub_headers(dict(tw_answer.headers)))

        scripts = {"twinfield": workdir / "twinfield.lua", "ccvshop": workdir / "ccvshop.lua"}
        scripts["twinfield"].write_text(http_wrk.TWINFIELD_LUA, encoding="utf-8")
        scripts["ccvshop"].write_text(http_wrk.CCV_LUA, encoding="utf-8")
        scripts["static"] = scripts["twinfield"]
        window = (WARM_UP_SECONDS + load.seconds * rounds) * 2 * 3 + 120  # all targets, both servers, slack
        envs = {"twinfield": {"KOPPELSIM_BODY": str(body_file), "KOPPELSIM_PATH": http_sim.TWINFIELD_PATH},
                "ccvshop": {"KOPPELSIM_PATH": http_sim.CCV_PATH, "KOPPELSIM_PUBLIC": sim.public_key,
                            "KOPPELSIM_SIGNATURES": http_sim.signatures(sim, window)}}
        envs["static"] = envs["twinfield"]
        urls = {"twinfield": {"koppelsim": sim.twinfield_url(), "wiremock": wiremock.url(http_sim.TWINFIELD_PATH)},
                "ccvshop": {"koppelsim": sim.ccv_url(), "wiremock": wiremock.url(http_sim.CCV_PATH)},
                "static": {"koppelsim": f"http://{HOST}:{static[1]}{http_sim.TWINFIELD_PATH}",
                           "wiremock": wiremock.url(http_sim.TWINFIELD_PATH)}}
        sizes = {"twinfield": {"request_bytes": len(template), "response_bytes": len(tw_answer.content)},
                 "ccvshop": {"request_bytes": 0, "response_bytes": len(ccv_answer.content)}}
        sizes["static"] = sizes["twinfield"]

        results: dict = {"wrk": {"threads": load.threads, "connections": load.connections, "seconds": load.seconds,
                                 "keep_alive": True},
                         "rounds": rounds, "goal_ratio": GOAL_RATIO, "targets": {}}
        sampler = RSSSampler(sim.pid).start()
        cpu_before = sampler.cpu_seconds()
        labels = iter(range(1, 10_000))
        for target in ("twinfield", "ccvshop", "static"):
            warm = http_wrk.Load(load.threads, load.connections, WARM_UP_SECONDS)
            for server in ("koppelsim", "wiremock"):
                progress(f"http: {target}, warming up {server}")
                http_wrk.run(urls[target][server], scripts[target], envs[target], warm, f"W{next(labels)}")
            runs: dict[str, list[dict]] = {"koppelsim": [], "wiremock": []}
            for round_no in range(rounds):
                for server in ("koppelsim", "wiremock")[::1 if round_no % 2 == 0 else -1]:
                    load_before = os.getloadavg()[0]
                    figures = http_wrk.run(urls[target][server], scripts[target], envs[target], load,
                                           f"M{next(labels)}")
                    figures["load_average"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
                    runs[server].append(figures)
                    progress(f"http: {target} {server} round {round_no + 1}: "
                             f"{figures['requests_per_second']:.0f} req/s, p99 {figures['p99_ms']:.1f} ms, "
                             f"failed {figures['failed_answers']}, load {figures['load_average']}")
            results["targets"][target] = _summary(runs, sizes[target])
        sampler.stop()
        results["koppelsim_cpu_seconds"] = round(sampler.cpu_seconds() - cpu_before, 1)
        results["koppelsim_rss_peak_bytes"] = sampler.peak
        write_json({"http": results, "environment": environment()}, RESULTS / "http.json")
        return results
    finally:
        if static is not None:
            static[0].stop()
        if wiremock is not None:
            wiremock.stop()
        sim.stop()


def _static_listener(workdir: Path, body: Path, headers: dict[str, str]) -> tuple[Child, int]:
    """bench/static_http.py serving ``body``: koppelsim's serving stack without a simulator behind it."""
    port = free_port()
    child = Child([PYTHON, "-m", "bench.static_http", str(port), str(body), json.dumps(list(headers.items()))],
                  workdir / "static-http.log")
    try:
        wait_http_ok(f"http://{HOST}:{port}/", child)
    except BaseException:
        child.stop()
        raise
    return child, port


def _summary(runs: dict[str, list[dict]], sizes: dict) -> dict:
    def combined(server: str) -> dict:
        each = runs[server]
        total = sum(r["requests"] for r in each)
        return {"requests_per_second": sum(r["requests_per_second"] for r in each) / len(each),
                "p99_ms": max(r["p99_ms"] for r in each if r["p99_ms"] is not None),
                "p50_ms": sorted(r["p50_ms"] for r in each)[len(each) // 2],
                "requests": total, "failed_answers": sum(r["failed_answers"] or 0 for r in each),
                "first_failure": next((r["first_failure"] for r in each if r["first_failure"]), None),
                "socket_errors": sum(sum(r["socket_errors"].values()) for r in each), "runs": each}

    ours, ref = combined("koppelsim"), combined("wiremock")
    pairs = sorted(k["requests_per_second"] / w["requests_per_second"]
                   for k, w in zip(runs["koppelsim"], runs["wiremock"]))
    median = pairs[len(pairs) // 2] if len(pairs) % 2 else (pairs[len(pairs) // 2 - 1] + pairs[len(pairs) // 2]) / 2
    return {**sizes, "koppelsim": ours, "wiremock": ref, "ratio": median, "round_ratios": pairs,
            "p99_ratio": ours["p99_ms"] / ref["p99_ms"] if ref["p99_ms"] else None}
