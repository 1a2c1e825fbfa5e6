"""Child processes for the benchmarks: free ports, spawning with a log file, readiness, stopping, memory.

Every wait here is bounded: a benchmark that hangs tells nobody anything.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import psutil
import yaml

REPO = Path(__file__).resolve().parent.parent
PYTHON = sys.executable  # the venv's interpreter: children import exactly what the benchmark imports
HOST = "127.0.0.1"

# No proxy, ever: an http_proxy in the environment would otherwise route 127.0.0.1 through it.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class BenchError(RuntimeError):
    """A measurement could not be taken (a server did not start, a phase timed out)."""


def free_port() -> int:
    """A port that was free a moment ago. Racy in theory; on a benchmark box good enough, and far
    simpler than teaching every child to report the port it bound."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


class Child:
    """One subprocess with its output in a log file (a pipe nobody reads would fill up and block it)."""

    def __init__(self, argv: list[str], log_path: Path, cwd: Path = REPO) -> None:
        self.argv = argv
        self.log_path = log_path
        self._log = open(log_path, "wb")
        self.proc = subprocess.Popen(argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=self._log,
                                     stderr=subprocess.STDOUT)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def tail(self, lines: int = 15) -> str:
        self._log.flush()
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, grace: float = 5.0) -> int | None:
        """SIGTERM (koppelsim stops cleanly on it), then SIGKILL if it does not go in time."""
        try:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(grace)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(grace)
            return self.proc.returncode
        finally:
            self._log.close()

    def __enter__(self) -> "Child":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def http_json(method: str, url: str, body: dict | None = None, timeout: float = 60.0) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json"} if data else {})
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def wait_http_ok(url: str, child: Child, timeout: float = 30.0, interval: float = 0.005) -> float:
    """``time.perf_counter()`` at the first 200 of ``url``. Polls every ``interval`` real seconds:
    short, because the interval is the resolution of the start-up figure."""
    deadline = time.perf_counter() + timeout
    while True:
        try:
            with _OPENER.open(url, timeout=2.0) as response:
                if response.status == 200:
                    return time.perf_counter()
        except (urllib.error.URLError, ConnectionError, OSError):
            pass  # not listening yet, or 503 "starting"
        if not child.alive():
            raise BenchError(f"{child.argv[1:4]} exited with {child.proc.returncode} before {url} answered 200:\n"
                             f"{child.tail()}")
        if time.perf_counter() > deadline:
            raise BenchError(f"{url} gave no 200 within {timeout:.0f} s:\n{child.tail()}")
        time.sleep(interval)


def wait_ftp_banner(port: int, child: Child, timeout: float = 30.0) -> None:
    """Until the FTP server greets with 220 (it accepts connections only once its loop runs)."""
    deadline = time.perf_counter() + timeout
    while True:
        try:
            with socket.create_connection((HOST, port), timeout=2.0) as sock:
                if sock.recv(64).startswith(b"220"):
                    return
        except OSError:
            pass
        if not child.alive():
            raise BenchError(f"FTP server exited with {child.proc.returncode}:\n{child.tail()}")
        if time.perf_counter() > deadline:
            raise BenchError(f"no FTP banner on port {port} within {timeout:.0f} s:\n{child.tail()}")
        time.sleep(0.02)


class RSSSampler:
    """Peak resident memory of a process, sampled on a thread (psutil sees only what it samples, so
    ``peak_hwm`` — the kernel's own high-water mark — is reported next to it)."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        self.process = psutil.Process(pid)
        self.interval = interval
        self.peak = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-rss", daemon=True)

    def start(self) -> "RSSSampler":
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.peak = max(self.peak, self.process.memory_info().rss)
                self.samples += 1
            except psutil.Error:
                return  # the process is gone
            self._stop.wait(self.interval)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2.0)

    def cpu_seconds(self) -> float:
        """User + system CPU of the process so far (all its threads)."""
        times = self.process.cpu_times()
        return times.user + times.system


def peak_hwm(pid: int) -> int | None:
    """VmHWM from /proc: what the process's own ``getrusage().ru_maxrss`` reports, readable from outside
    while it still runs. None where there is no /proc."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def rss_now(pid: int) -> int | None:
    try:
        return psutil.Process(pid).memory_info().rss
    except psutil.Error:
        return None


def spawn_sim(workdir: Path, label: str, config: dict, timeout: float = 60.0) -> Child:
    """``koppelsim sim`` with ``config`` (written as ``{label}.yaml``; its ``admin_port`` is used), its state in
    ``{label}-state``, once /readyz answers; stopped again when it does not get ready."""
    workdir.mkdir(parents=True, exist_ok=True)
    config_path = workdir / f"{label}.yaml"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    admin = config["admin_port"]
    child = Child([PYTHON, "-m", "simulators", "sim", "--state-dir", str(workdir / f"{label}-state"),
                   "--admin-port", str(admin), "--port-offset", "0", "--config", str(config_path)],
                  workdir / f"{label}.log")
    try:
        wait_http_ok(f"http://{HOST}:{admin}/readyz", child, timeout=timeout)
    except BaseException:
        child.stop()
        raise
    return child
