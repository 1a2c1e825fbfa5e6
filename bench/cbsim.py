"""The Centraal Boekhuis simulator as the CB benchmarks start it: ``koppelsim sim`` in a subprocess, every
listener configured from ``settings_for_tests()`` (free ports, no artificial waits), the CB listener on a
known port with its passive range, and the admin calls the benchmarks need (accounts, invoices).

Settings that differ from the test settings, and why:

* ``passive_ports`` 30000-30999: a fixed range, as CB has (41000-42000, also 1001 ports), so the range
  code runs; below Linux's ephemeral ports (32768+), so no client socket ever sits on one of them.
* ``max_file_size`` 1 GiB: the default quota (100 MB) would refuse the 200 MB upload with 552.
* ``maintenance`` off: CB's Friday window would otherwise refuse a run that happens to fall in it.
* ``mode``: "report" where one account logs in more than once in ten minutes (curl logs in per
  command); "enforce", CB's own, wherever each account logs in once.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

import yaml

from simulators.core.runtime import settings_for_tests, simulator_class

from .procs import HOST, PYTHON, BenchError, Child, free_port, http_json, wait_http_ok

PASSIVE_PORTS = "30000-30999"
MAX_FILE_SIZE = 1024**3
DEFAULT_ACCOUNT, DEFAULT_PASSWORD = "7000123", "cb-secret"  # CBConfig's seeded account


@dataclass
class CBSim:
    """One running ``koppelsim sim``; ``stop()`` in a finally."""

    child: Child
    admin_port: int
    ftp_port: int
    state_dir: Path

    @property
    def ca_file(self) -> Path:
        return self.state_dir / "tls" / "ca.pem"

    @property
    def pid(self) -> int:
        return self.child.pid

    def api(self, method: str, path: str, body: dict | None = None, expect: int = 200):
        status, answer = http_json(method, f"http://{HOST}:{self.admin_port}{path}", body)
        if status != expect:
            raise BenchError(f"{method} {path} answered {status}: {answer}")
        return answer

    def add_account(self, relation_id: str, password: str) -> None:
        self.api("POST", "/api/cb/accounts", {"relation_id": relation_id, "password": password}, expect=201)

    def issue_invoice(self, relation_id: str) -> dict:
        return self.api("POST", "/api/cb/invoices", {"relation_id": relation_id}, expect=201)

    def out_folder(self, relation_id: str) -> Path:
        """Where the account's out/ lies on disk (``CBAccountBook.folder``): files put here are served."""
        return self.state_dir / "files" / "cbftp" / "accounts" / relation_id / relation_id / "out"

    def stop(self) -> None:
        self.child.stop()


START_ATTEMPTS = 3


def _field_names(config_class: type) -> set[str]:
    return {f.name for f in fields(config_class)}


def start_cb_sim(workdir: Path, label: str, mode: str) -> CBSim:
    """Spawn the simulator and wait (bounded) until /readyz answers 200. A free port can be taken by
    someone else between choosing it and binding it (a curl or reference server of the previous
    measurement): then try again with new ports, a bounded number of times."""
    for attempt in range(1, START_ATTEMPTS + 1):
        try:
            return _start_cb_sim(workdir, f"{label}-{attempt}" if attempt > 1 else label, mode)
        except BenchError as error:
            if "Address already in use" not in str(error) or attempt == START_ATTEMPTS:
                raise
    raise AssertionError("unreachable")


def _start_cb_sim(workdir: Path, label: str, mode: str) -> CBSim:
    workdir.mkdir(parents=True, exist_ok=True)
    admin_port, ftp_port = free_port(), free_port()
    settings: dict = settings_for_tests()
    # The CB simulator alone (with the mailbox it sends invoices to): its memory and CPU are measured,
    # not the other simulators' that `koppelsim sim` would start beside it.
    for name, section in settings.items():
        if name not in ("cbftp", "mailbox") and "enabled" in _field_names(simulator_class(name).config_class):
            section["enabled"] = False
    settings["cbftp"].update({"port": ftp_port, "passive_ports": PASSIVE_PORTS, "mode": mode,
                              "max_file_size": MAX_FILE_SIZE, "maintenance": {"enabled": False}})
    config = {"host": HOST, "admin_port": admin_port, **settings}
    config_path = workdir / f"{label}.yaml"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    state_dir = workdir / f"{label}-state"
    child = Child([PYTHON, "-m", "simulators", "sim", "--state-dir", str(state_dir), "--admin-port",
                   str(admin_port), "--port-offset", "0", "--config", str(config_path)], workdir / f"{label}.log")
    sim = CBSim(child, admin_port, ftp_port, state_dir)
    try:
        wait_http_ok(f"http://{HOST}:{admin_port}/readyz", child)
    except BaseException:
        sim.stop()
        raise
    return sim
