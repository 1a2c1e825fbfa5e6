"""Timing a phase: wall time, plus the CPU the server and the benchmark itself spent in it.

The CPU figures say who was the bottleneck: a server near 100 % of one core is bound by its single
I/O loop thread (and the GIL); a benchmark process near the machine's core count means the clients,
not the server, set the pace — and the figure says little about the server.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, TypeVar

from .procs import RSSSampler

R = TypeVar("R")


@dataclass
class Phases:
    server: RSSSampler
    results: dict[str, dict] = field(default_factory=dict)

    def measure(self, name: str, work: Callable[[], R]) -> R:
        server_cpu, own_cpu = self.server.cpu_seconds(), time.process_time()
        started = time.perf_counter()
        result = work()
        wall = time.perf_counter() - started
        server = self.server.cpu_seconds() - server_cpu
        own = time.process_time() - own_cpu
        self.results[name] = {"seconds": wall, "server_cpu_seconds": server, "client_cpu_seconds": own,
                              "server_cpu_percent": 100 * server / wall if wall else 0.0,
                              "client_cpu_percent": 100 * own / wall if wall else 0.0}
        return result

    def seconds(self, *names: str) -> float:
        return sum(self.results[n]["seconds"] for n in names)
