"""How the benchmarks start ``koppelsim sim``: exactly as a developer would, as a separate process.

Ports come from a ``--config`` file rather than ``--port-offset``: the offset is also added to an
explicit ``--admin-port`` (``SimConfig.port``), so "admin on P, FTP on F" is easiest said outright.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from .procs import HOST, PYTHON, Child, free_port


@dataclass(frozen=True)
class SimPorts:
    admin: int
    ftp: int

    @property
    def readyz(self) -> str:
        return f"http://{HOST}:{self.admin}/readyz"

    def api(self, path: str) -> str:
        return f"http://{HOST}:{self.admin}{path}"


def sim_command(state_dir: Path, config_path: Path, ports: SimPorts, only: str | None = None) -> list[str]:
    return [PYTHON, "-m", "simulators", "sim", "--state-dir", str(state_dir), "--admin-port", str(ports.admin),
            "--port-offset", "0", "--config", str(config_path), *(["--only", only] if only else [])]


def write_config(path: Path, ports: SimPorts, answer_delay: str = "10m") -> Path:
    config = {"host": HOST, "admin_port": ports.admin, "digipoort": {"port": ports.ftp, "answer_delay": answer_delay}}
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def spawn_sim(workdir: Path, state_dir: Path, label: str, answer_delay: str = "10m",
              only: str | None = None) -> tuple[Child, SimPorts]:
    """Start ``koppelsim sim`` (``--only`` these simulators) on fresh free ports; the caller waits for
    readiness and stops it."""
    ports = SimPorts(admin=free_port(), ftp=free_port())
    config = write_config(workdir / f"{label}.yaml", ports, answer_delay)
    return Child(sim_command(state_dir, config, ports, only), workdir / f"{label}.log"), ports
