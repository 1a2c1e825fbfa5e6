"""``koppelsim`` — one command for the simulators, the scenarios and the clients.

    koppelsim sim [--state-dir DIR] [--host H] [--admin-port P] [--port-offset N] [--config FILE]
    koppelsim run PATH... [--junit FILE]
    koppelsim digipoort submit|status|follow|example-return|meta ...
    koppelsim koppeling connect|run|payments|status|errors|detail|retry ...
    koppelsim hub tenant-create|prepare|send-receive|status|history ...
    koppelsim schema            (print the scenario JSON Schema)
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import signal
import sys
import threading
from contextlib import contextmanager
from typing import TYPE_CHECKING, Iterator, Sequence

if TYPE_CHECKING:
    from .core.runtime import Runtime


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Start-up creates ~100,000 objects that live as long as the process (modules, classes, routes)
    and hardly any garbage, yet the cyclic collector would walk them ~140 times on the way (~5 % of the
    start-up). Paused meanwhile. After, what start-up made goes straight to the oldest generation
    (freeze + unfreeze: two list splices) instead of all counting as young, which would make the first
    collection after start-up walk them all while /readyz waits for the interpreter lock. Nothing is
    exempt from collection: the next full collection sees everything, as it would have."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.unfreeze()
        gc.enable()


def main(argv: Sequence[str] | None = None) -> int:
    with _collector_paused():
        parser = _parser()
        args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `koppelsim schema | head`: the reader had enough, which is no error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # the exit's flush must not fail again
        return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="koppelsim", description=__doc__.split("\n")[0].replace("``", ""))
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sim = sub.add_parser("sim", help="start every simulator and the admin API")
    sim.add_argument("--state-dir", default=None, help="where state and files live (default ./.koppelsim)")
    sim.add_argument("--host", default=None,
                     help="address the simulators bind (default 127.0.0.1; the admin API stays on admin_host)")
    sim.add_argument("--admin-port", type=int, default=None, help="admin API port (default 8800)")
    sim.add_argument("--port-offset", type=int, default=None,
                     help="add N to every port (admin and simulators), so two instances can run side by side")
    sim.add_argument("--config", default=None, help="YAML configuration file")
    sim.add_argument("--only", action="append", default=None, metavar="NAME[,NAME]",
                     help="start only these simulators (repeatable), e.g. --only digipoort: a quicker start and "
                          "less memory; their config sections alone are read. Names: mailbox, digipoort, cbftp, "
                          "vies, ccvshop, twinfield, hub (the hub sends through digipoort)")
    sim.add_argument("--verbose", "-v", action="store_true", help="log every FTP command")
    sim.set_defaults(func=_cmd_sim)

    run = sub.add_parser("run", help="run scenario files or folders")
    run.add_argument("paths", nargs="+", help="scenario files (*.yaml) or folders")
    run.add_argument("--junit", default=None, help="also write a JUnit XML report here")
    run.set_defaults(func=_cmd_run)

    schema = sub.add_parser("schema", help="print the JSON Schema of scenario files")
    schema.set_defaults(func=_cmd_schema)

    from clients.digipoort.cli import add_digipoort_commands

    add_digipoort_commands(sub)

    from clients.koppeling.cli import add_koppeling_commands

    add_koppeling_commands(sub)
    from clients.hub.cli import add_hub_commands

    add_hub_commands(sub)
    return parser


def _cmd_sim(args: argparse.Namespace) -> int:
    from .core.runtime import SIMULATORS

    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    only = _selected(args.only, list(SIMULATORS))
    if isinstance(only, str):
        print(f"koppelsim: {only}", file=sys.stderr)
        return 2
    with _collector_paused():
        runtime = _start(args, only)
    if isinstance(runtime, int):
        return runtime
    _print_endpoints(runtime)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    runtime.stop()
    print("koppelsim: stopped", flush=True)
    return 0


def _start(args: argparse.Namespace, only: list[str] | None) -> "Runtime | int":
    """Read the configuration and start the runtime, or say why not (an exit status)."""
    from .core.config import load_config
    from .core.errors import ConfigError
    from .core.runtime import SIMULATORS, Runtime, register_config_sections

    register_config_sections(only)
    overrides = {"state_dir": args.state_dir, "host": args.host, "admin_port": args.admin_port,
                 "port_offset": args.port_offset, "log_level": "info" if args.verbose else None}
    try:
        config = load_config(args.config, overrides, skip=set(SIMULATORS) - set(only or SIMULATORS))
    except ConfigError as exc:
        print(f"koppelsim: {exc.message}", file=sys.stderr)
        return 2
    try:
        runtime = Runtime(config, only=only)
    except ConfigError as exc:
        print(f"koppelsim: {exc.message}", file=sys.stderr)
        return 2
    try:
        runtime.start()
    except OSError as exc:
        print(f"koppelsim: cannot start: {exc} (is another instance running? try --port-offset)",
              file=sys.stderr)
        runtime.stop()
        return 1
    return runtime


def _selected(values: list[str] | None, known: list[str]) -> list[str] | str | None:
    """``--only`` as simulator names in start order (None: all of them), or a message naming a wrong one."""
    if values is None:
        return None
    wanted = {name.strip() for value in values for name in value.split(",") if name.strip()}
    unknown = sorted(wanted - set(known))
    if unknown or not wanted:
        return f"--only: unknown simulator {unknown[0]!r}; known: {', '.join(known)}" if unknown else \
            "--only: name at least one simulator"
    return [name for name in known if name in wanted]


def _print_endpoints(runtime) -> None:
    print(f"koppelsim is ready — state in {runtime.store.state_dir}, clock: {runtime.clock.kind}", flush=True)
    for endpoint in runtime.endpoints:
        print(f"  {endpoint.name:<16} {endpoint.url:<32} {endpoint.notes}")
        for cred in endpoint.credentials:
            print(f"  {'':<16} user {cred['user']!r} password {cred['password']!r}")
    print(f"  {'TLS CA':<16} {runtime.tls.ca_cert}  (trust this to verify the simulators' certificates)")
    print("  Ctrl-C stops; state is kept for the next start.", flush=True)


def _cmd_run(args: argparse.Namespace) -> int:
    from .scenario.runner import run_paths

    return run_paths(args.paths, junit=args.junit)


def _cmd_schema(args: argparse.Namespace) -> int:
    from .scenario.catalogue import scenario_schema

    json.dump(scenario_schema(), sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
    return 0
