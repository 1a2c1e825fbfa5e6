"""CB (d): validating one service invoice against the OASIS UBL 2.1 schema, the schema built beforehand
(``load_ubl_schema``, once), in this process: ``validate_ubl`` over N generated invoices, each timed on
its own. Goal: a mean of at most 1 ms. Generating the invoices is not timed.

The schemas are read from ``<repo>/../shared/reference/ubl-2.1`` (OASIS licence: never copied into the
project), as ``tests/cbftp/test_ubl.py`` does; without them the part is skipped with the reason.
"""

from __future__ import annotations

import random
import statistics
import time
from datetime import date
from typing import Callable

from .procs import REPO, BenchError

UBL_DIR = REPO.parent / "shared" / "reference" / "ubl-2.1"
GOAL_MS = 1.0


def run(invoices: int, progress: Callable[[str], None]) -> dict:
    if not (UBL_DIR / "maindoc" / "UBL-Invoice-2.1.xsd").is_file():
        return {"skipped": f"no UBL 2.1 schemas at {UBL_DIR}", "goal_ms": GOAL_MS}
    from simulators.cbftp.invoices import generate_invoice
    from simulators.cbftp.ubl import build_ubl, load_ubl_schema, validate_ubl

    documents = [build_ubl(generate_invoice(random.Random(seed), relation_id="7000123", issue_date=date(2026, 2, 1),
                                            number=f"K{1734987 + seed}"))
                 for seed in range(invoices)]
    started = time.perf_counter()
    schema = load_ubl_schema(UBL_DIR)
    build_seconds = time.perf_counter() - started
    times = []
    for xml in documents:
        started = time.perf_counter()
        problems = validate_ubl(xml, schema)
        times.append(time.perf_counter() - started)
        if problems:
            raise BenchError(f"a generated invoice is not valid UBL 2.1: {problems[:2]}")
    progress(f"cb ubl: {invoices} invoices validated, mean {1000 * statistics.mean(times):.3f} ms")
    return {"invoices": invoices, "schema_dir": str(UBL_DIR), "schema_build_seconds": build_seconds,
            "mean_ms": 1000 * statistics.mean(times), "median_ms": 1000 * statistics.median(times),
            "max_ms": 1000 * max(times), "mean_bytes": statistics.mean(len(d) for d in documents),
            "goal_ms": GOAL_MS}
