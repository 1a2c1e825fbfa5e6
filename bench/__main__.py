"""``python -m bench [--quick] [--only startup|throughput|scenarios|cb|http|hub|koppeling]`` — see bench/__init__.py (and
bench/cb.py for the CB part).

Exit status: 0 when every measurement was taken and every submission was answered exactly once;
1 when the exactly-once check failed; 2 when a measurement could not be taken at all.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path

from . import cb, http, reference, report, scenarios, startup, throughput
from . import hub as hub_bench
from . import koppeling as koppeling_bench
from .workload import make_workload

PHASES = ("startup", "throughput", "scenarios", "cb", "http", "hub", "koppeling")
TMPFS = "/dev/shm"


def _tmpfs() -> bool:
    return os.path.isdir(TMPFS) and os.access(TMPFS, os.W_OK)


def progress(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description="koppelsim benchmarks")
    parser.add_argument("--quick", action="store_true",
                        help="200 submissions, 2 start-up runs, no subprocess scenarios; CB: 20 MB, 50 sessions, "
                             "50 clients")
    parser.add_argument("--only", choices=PHASES, action="append", help="run only this part (repeatable)")
    parser.add_argument("--submissions", type=int, default=None, help="default 1000 (200 with --quick)")
    parser.add_argument("--clients", type=int, default=20, help="concurrent FTPS clients (default 20)")
    parser.add_argument("--payload-bytes", type=int, default=2048, help="size of each data file (default 2048)")
    parser.add_argument("--runs", type=int, default=None, help="start-up runs per kind (default 5, 2 with --quick)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs, state dirs)")
    parser.add_argument("--fs", choices=("tmpfs", "disk"), default="tmpfs" if _tmpfs() else "disk",
                        help="where state dirs and served folders live, for koppelsim and the bare servers alike "
                             "(default tmpfs: on this kind of VM disk a file create costs ~0.2-0.9 ms and "
                             "drowns the software's own cost; --fs disk measures with the disk)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    wanted = args.only or list(PHASES)
    submissions = args.submissions or (200 if args.quick else 1000)
    runs = args.runs or (2 if args.quick else 5)
    workdir = Path(tempfile.mkdtemp(prefix="koppelsim-bench-", dir=TMPFS if args.fs == "tmpfs" else None))
    progress(f"state dirs and served folders on {args.fs} ({workdir})")
    results: dict = {"started": datetime.now(timezone.utc).isoformat(timespec="seconds"), "quick": args.quick,
                     "filesystem": args.fs,
                     "environment": report.environment(), "failures": {}}
    try:
        if "startup" in wanted:
            _attempt(results, "startup", lambda: startup.run(runs, workdir / "startup", progress))
        if "throughput" in wanted:
            workload = make_workload(submissions, args.payload_bytes)
            # The bare server runs before and after koppelsim: on a shared machine the load drifts, and
            # bracketing keeps the ratio from blaming koppelsim for a busy minute (or crediting it).
            _attempt(results, "reference_before",
                     lambda: reference.run(workload, args.clients, workdir / "bare-before", progress))
            _attempt(results, "throughput", lambda: throughput.run(workload, args.clients, workdir / "koppelsim",
                                                                   progress))
            _attempt(results, "reference_after",
                     lambda: reference.run(workload, args.clients, workdir / "bare-after", progress))
            runs_done = [results[k] for k in ("reference_before", "reference_after") if k in results]
            if runs_done:
                results["reference"] = reference.combine(runs_done)
        if "scenarios" in wanted:
            _attempt(results, "scenarios", lambda: scenarios.run(args.quick, progress))
        if "cb" in wanted:
            for part, work in cb.measurements(cb.Sizes.for_run(args.quick), workdir / "cb", progress):
                _attempt(results, part, work)
        if "http" in wanted:
            _attempt(results, "http", lambda: http.run(workdir / "http", progress, args.quick))
        if "hub" in wanted:  # 1,000 messages from 50 tenants (200 with --quick), printed below the table
            _attempt(results, "hub", lambda: hub_bench.run(200 if args.quick else 1000, 50, workdir / "hub", progress))
        if "koppeling" in wanted:  # 1,000 generated shop orders and their payments (200 with --quick)
            _attempt(results, "koppeling", lambda: koppeling_bench.run(200 if args.quick else koppeling_bench.ORDERS,
                                                                       workdir / "koppeling", progress))
    finally:
        if args.keep:
            progress(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    results["rows"] = [dict(zip(report.HEADERS, row)) for row in report.rows(results)]
    path = report.write_json(results)
    print(report.table(report.rows(results)))
    print(report.load_note(results))
    for note in report.notes(results):
        print(note)
    print(f"file system for state and served folders: {args.fs}")
    if "hub" in results:
        print(hub_bench.describe(results["hub"]))
    if "koppeling" in results:
        print(koppeling_bench.describe(results["koppeling"]))
    for part, message in results["failures"].items():
        print(f"\n{part}: NOT MEASURED — {message}")
    print(f"\nJSON: {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}")
    throughput_result = results.get("throughput")
    if throughput_result is not None:
        once = throughput_result["answered_exactly_once"]
        print(f"answered exactly once: {'yes' if once else 'no'}"
              + ("" if once else " — " + "; ".join(throughput_result["problems"])))
        if not once:
            return 1
    return 2 if results["failures"] else 0


def _attempt(results: dict, part: str, work) -> None:
    """One part failing (a server that did not start) must not hide the figures of the others."""
    load_before = os.getloadavg()[0]
    try:
        results[part] = work()
    except Exception as exc:
        traceback.print_exc()
        results["failures"][part] = f"{type(exc).__name__}: {exc}"
    # Other work on the machine (a parallel `make test`) skews every figure; the load says how much.
    results.setdefault("load_average", {})[part] = [round(load_before, 2), round(os.getloadavg()[0], 2)]


if __name__ == "__main__":
    raise SystemExit(main())
