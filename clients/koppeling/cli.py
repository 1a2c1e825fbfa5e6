"""``koppelsim koppeling connect|sync|run|payments|status|errors|detail|retry|dashboard`` - the koppeling from
the command line.

``run`` syncs orders every ``sync_interval`` and runs payments ``payment_runs_per_day`` times a day, on one
clock (real time; ``--at`` fixes it, for scripted runs); a run that fails is logged and the next interval
tries again. ``sync`` (or ``run --once``) is one sync now, and nothing more. ``retry`` waits for a run of another
process on the same state file to end (``lock_timeout``). State lives in one SQLite file (``--state``):
kill the process at any moment and start it again.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from typing import TYPE_CHECKING, Any, Callable, TextIO

from ..clock import FixedClock, RealClock, real_sleep

if TYPE_CHECKING:
    from .service import Koppeling


def add_koppeling_commands(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("koppeling", help="post CCV Shop orders and payments to Twinfield")
    parser.add_argument("--config", required=True, help="the koppeling's YAML configuration")
    parser.add_argument("--state", default="./.koppelsim-client/koppeling.db", help="the koppeling's own state file")
    parser.add_argument("--at", default=None, help=argparse.SUPPRESS)  # a fixed clock, for scripted runs
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    actions.add_parser("connect", help="log in to Twinfield once (OAuth) and keep the tokens")
    actions.add_parser("sync", help="post every new order (or invoice) now, once")
    run = actions.add_parser("run", help="sync orders and run payments on the clock, until stopped")
    run.add_argument("--once", action="store_true", help="one sync, then stop")
    actions.add_parser("payments", help="one payment run now")
    status = actions.add_parser("status", help="the Reporting tab: what was posted")
    status.add_argument("--json", action="store_true")
    errors = actions.add_parser("errors", help="the Errors tab: what could not be posted, and why")
    errors.add_argument("--json", action="store_true")
    detail = actions.add_parser("detail", help="more info on one error (the check or Twinfield's message)")
    detail.add_argument("id", help="e.g. order-340000001")
    retry = actions.add_parser("retry", help="process one error again")
    retry.add_argument("id", help="e.g. order-340000001 or payment-order-340000001")
    dashboard = actions.add_parser("dashboard", help="the web page: tabs Reporting and Errors, until stopped")
    dashboard.add_argument("--host", default="127.0.0.1", help="the address to bind (default: loopback only)")
    dashboard.add_argument("--port", type=int, default=8810, help="0 picks a free port")
    parser.set_defaults(func=_dispatch)


def _dispatch(args: argparse.Namespace) -> int:
    # Imported here, not at the top: `koppelsim sim` builds this parser and must not pay for the client.
    from .config import ConfigError, load_config
    from .service import Koppeling

    try:
        config = load_config(args.config)
    except (OSError, ConfigError) as exc:
        print(f"koppelsim koppeling: {exc}", file=sys.stderr)
        return 2
    clock = FixedClock(args.at) if args.at else RealClock()
    koppeling = Koppeling.open(config, args.state, clock)
    try:
        return _ACTIONS[args.action](koppeling, args)
    finally:
        koppeling.close()


def _connect(koppeling: Koppeling, args: argparse.Namespace) -> int:
    print(f"connected: office {koppeling.config.office}, cluster {koppeling.twinfield.cluster_url}")
    return 0


def _sync(koppeling: Koppeling, args: argparse.Namespace) -> int:
    print(json.dumps(koppeling.sync()))
    return 0


def _run(koppeling: Koppeling, args: argparse.Namespace) -> int:
    if args.once:
        return _sync(koppeling, args)
    run_forever(koppeling, real_sleep)
    return 0  # pragma: no cover - only a signal ends it


def run_forever(koppeling: Koppeling, sleep: Callable[[float], Any], rounds: int | None = None,
                log: TextIO | None = None) -> None:
    """The daemon: a sync every ``sync_interval``, payments ``payment_runs_per_day`` times a day. A run that
    fails (the shop or Twinfield unreachable, a login refused) is logged and tried again at the next
    interval - the daemon never ends on it. ``rounds`` bounds the loop (tests); ``sleep`` waits between."""
    from .service import next_payment_run, parse_interval

    log = log or sys.stdout
    interval = parse_interval(koppeling.config.sync_interval)
    clock = koppeling.clock
    next_sync = clock.now()
    next_payments = next_payment_run(clock.now(), koppeling.config.payment_runs_per_day)
    done = 0
    while rounds is None or done < rounds:
        now = clock.now()
        if now >= next_sync:
            _logged(log, now, "sync", koppeling.sync)
            next_sync = now + interval
        if now >= next_payments:
            _logged(log, now, "payments", koppeling.payments)
            next_payments = next_payment_run(now, koppeling.config.payment_runs_per_day)
        done += 1
        wait = (min(next_sync, next_payments) - clock.now()).total_seconds()
        sleep(max(1.0, min(wait, 60.0)))


def _logged(log: TextIO, now: Any, what: str, run: Callable[[], dict]) -> None:
    try:
        counts = run()
    except Exception as exc:  # noqa: BLE001 - whatever one run meets, the daemon carries on
        print(f"{now:%Y-%m-%d %H:%M:%S} {what} failed, tried again at the next interval: "
              f"{type(exc).__name__}: {exc}", file=log, flush=True)
        return
    print(f"{now:%Y-%m-%d %H:%M:%S} {what} {json.dumps(counts)}", file=log, flush=True)


def _payments(koppeling: Koppeling, args: argparse.Namespace) -> int:
    print(json.dumps(koppeling.payments()))
    return 0


def _status(koppeling: Koppeling, args: argparse.Namespace) -> int:
    rows = koppeling.reporting()
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for row in rows:
        payment = row["payment"]["state"] if row["payment"] else "-"
        print(f"{row['id']:<22} {row['number']:<12} {row['total']:>10}  {row['twinfield']['kind']} "
              f"{row['twinfield']['number']:<10} customer {row['customer']:<6} payment {payment}")
    print(f"{len(rows)} posted, {len(koppeling.errors())} on the Errors list")
    return 0


def _errors(koppeling: Koppeling, args: argparse.Namespace) -> int:
    rows = koppeling.errors()
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for row in rows:
        print(f"{row['id']:<30} {row['number'] or '':<12} {row['check']:<10} "
              f"{'(retried) ' if row['retry'] else ''}{row['reason']}")
    print(f"{len(rows)} on the Errors list")
    return 1 if rows else 0


def _detail(koppeling: Koppeling, args: argparse.Namespace) -> int:
    try:
        print(json.dumps(koppeling.error_detail(args.id), indent=2))
    except KeyError as exc:
        print(f"koppelsim koppeling: {exc.args[0]}", file=sys.stderr)
        return 1
    return 0


def _retry(koppeling: Koppeling, args: argparse.Namespace) -> int:
    from .lock import KoppelingBusy

    try:
        print(json.dumps(koppeling.process_again(args.id, wait=True), indent=2))
    except (KeyError, KoppelingBusy) as exc:
        print(f"koppelsim koppeling: {exc.args[0]}", file=sys.stderr)
        return 1
    return 0


def _dashboard(koppeling: Koppeling, args: argparse.Namespace) -> int:
    from .web import DashboardServer  # flask only for this command

    server = DashboardServer(koppeling, args.host, args.port)
    # Our own handlers: a process started in the background by a non-interactive shell (CI, `make ... &`)
    # inherits SIGINT ignored, and Python then never turns Ctrl-C into KeyboardInterrupt by itself.
    for stop_signal in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop_signal, _interrupt)
    print(f"dashboard on {server.url}/ (Ctrl-C stops)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


_ACTIONS = {"connect": _connect, "sync": _sync, "run": _run, "payments": _payments, "status": _status, "errors": _errors,
            "detail": _detail, "retry": _retry, "dashboard": _dashboard}
