"""``koppelsim hub tenant-create|tenants|prepare|send-receive|status|history|resubmit|unknown``.

The hub from the command line, talking to Digipoort (or the simulator) over FTPS. By default it works on
the hub of a `koppelsim sim` started in this folder (``./.koppelsim/files/hub``): the same tenants, the
same messages, the same installation id. The run lock is a ``flock`` on ``hub.db.lock``, so the CLI and
the scheduled task never run send/receive at once. ``--state`` points it at another hub's folder.
"""

from __future__ import annotations

import argparse
import json
import ssl
import sys
from pathlib import Path

from typing import TYPE_CHECKING

from ..clock import FixedClock, RealClock
from .errors import HubError

if TYPE_CHECKING:
    from .hub import Hub

DEFAULT_STATE = "./.koppelsim/files/hub"  # koppelsim sim's state_dir default + files/ + the hub's area


def add_hub_commands(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("hub", help="the communication service: tenants, messages, send/receive")
    parser.add_argument("--state", default=DEFAULT_STATE,
                        help=f"the hub's state folder (default: {DEFAULT_STATE}, the hub of `koppelsim sim`)")
    parser.add_argument("--host", default="127.0.0.1", help="Digipoort (simulator) host")
    parser.add_argument("--port", type=int, default=2121)
    parser.add_argument("--user", default="hub", help="Digipoort account (default: the simulator's hub account)")
    parser.add_argument("--password", default="hub-secret")
    parser.add_argument("--ca", default="./.koppelsim/tls/ca.pem", help="CA certificate to trust")
    parser.add_argument("--plain", action="store_true", help="plain FTP instead of explicit FTPS")
    parser.add_argument("--at", default=None, help=argparse.SUPPRESS)  # a fixed clock, for scripted runs
    parser.add_argument("--json", action="store_true", help="print JSON")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    tenant = actions.add_parser("tenant-create", help="create a tenant (sub-environment)")
    tenant.add_argument("id")
    tenant.add_argument("--name")
    tenant.add_argument("--vat-number", help="omzetbelastingnummer, e.g. 001000044B37")
    tenant.add_argument("--kvk-number")
    tenant.add_argument("--relation-id", action="append", default=[], help="CB relation id (repeatable)")
    tenant.add_argument("--email", action="append", default=[], help="e-invoice address (repeatable)")
    tenant.set_defaults(run=lambda hub, a: hub.create_tenant(a.id, a.name, a.vat_number, a.kvk_number,
                                                             a.relation_id, a.email))
    actions.add_parser("tenants", help="list tenants").set_defaults(run=lambda hub, a: hub.tenants())

    prepare = actions.add_parser("prepare", help="prepare a message in a tenant")
    prepare.add_argument("tenant")
    prepare.add_argument("type", help="vat, icp or kvk")
    prepare.add_argument("--period", help="2026-10 or 2026-Q3 (vat, icp)")
    prepare.add_argument("--box", action="append", default=[], metavar="LABEL=EUROS", help="vat: 1a=10000 1a_btw=2100 …")
    prepare.add_argument("--supply", action="append", default=[], metavar="VATNUMBER=EUROS", help="icp: DE123456789=5000")
    prepare.add_argument("--year", type=int, help="kvk: the financial year")
    prepare.add_argument("--document", help="kvk: the filing document (a file)")
    prepare.set_defaults(run=_prepare)

    send = actions.add_parser("send-receive", help="deliver what is queued, fetch and link every answer")
    send.set_defaults(run=lambda hub, a: hub.send_receive("cli", progress=_progress).as_dict(), connects=True)

    status = actions.add_parser("status", help="each message with status and reason (what a tenant sees)")
    status.add_argument("tenant", nargs="?", help="one tenant (default: all)")
    status.set_defaults(run=lambda hub, a: hub.statuses(a.tenant))

    history = actions.add_parser("history", help="a message's full history with every return message")
    history.add_argument("number")
    history.set_defaults(run=lambda hub, a: hub.history(a.number))

    resubmit = actions.add_parser("resubmit", help="queue a message in error or rejected again")
    resubmit.add_argument("number")
    resubmit.add_argument("--box", action="append", default=[], metavar="LABEL=EUROS", help="corrected VAT boxes")
    resubmit.set_defaults(run=lambda hub, a: hub.resubmit(a.number, **({"boxes": _pairs(a.box)} if a.box else {})))

    actions.add_parser("unknown", help="return messages and e-invoices that could not be linked").set_defaults(
        run=lambda hub, a: hub.unknown())
    parser.set_defaults(func=_dispatch)


def _pairs(items: list[str]) -> dict[str, int]:
    pairs = {}
    for item in items:
        key, sep, value = item.partition("=")
        try:
            pairs[key.strip()] = int(value)
        except ValueError:
            raise HubError(f"{item!r}: expected LABEL=WHOLE_EUROS, e.g. 1a=10000") from None
        if not sep:
            raise HubError(f"{item!r}: expected LABEL=WHOLE_EUROS")
    return pairs


def _prepare(hub: Hub, args: argparse.Namespace) -> dict:
    fields: dict = {}
    if args.period:
        fields["period"] = args.period
    if args.box:
        fields["boxes"] = _pairs(args.box)
    if args.supply:
        fields["supplies"] = [{"vat_number": k, "amount": v} for k, v in _pairs(args.supply).items()]
    if args.year is not None:
        fields["year"] = args.year
    if args.document:
        fields["document"] = Path(args.document).read_text()
    return hub.prepare(args.tenant, args.type, **fields)


def _progress(kind: str, detail: str) -> None:
    print(f"{kind}: {detail}", file=sys.stderr, flush=True)


def _hub(args: argparse.Namespace) -> Hub:
    # Imported here, not at the top: `koppelsim sim` builds this parser and must not pay for the client.
    from ..digipoort import ClientStore, Connection, DigipoortClient
    from .hub import Hub
    from .store import HubStore

    state = Path(args.state)
    clock = FixedClock(args.at) if args.at else RealClock()
    if not getattr(args, "connects", False):  # only send/receive talks to Digipoort: the rest needs no CA
        return Hub(HubStore(state / "hub.db"), clock)
    context = None
    if not args.plain:
        ca = Path(args.ca)
        if not ca.is_file():
            raise HubError(f"CA certificate {ca} not found; start `koppelsim sim` first or pass --ca")
        context = ssl.create_default_context(cafile=str(ca))
    connection = Connection(args.host, args.port, args.user, args.password, context)
    digipoort = DigipoortClient(connection, ClientStore(state / "digipoort.db"), clock)
    return Hub(HubStore(state / "hub.db"), clock, digipoort)


def _dispatch(args: argparse.Namespace) -> int:
    try:
        result = args.run(_hub(args), args)
    except HubError as exc:
        print(f"koppelsim hub: {exc.message}", file=sys.stderr)
        return 3 if exc.code == "run_in_progress" else 1
    except OSError as exc:
        print(f"koppelsim hub: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    if args.json or not isinstance(result, list):
        print(json.dumps(result, indent=2, default=str))
    else:
        _table(result)
    return 0


def _table(rows: list[dict]) -> None:
    if not rows:
        print("(none)")
        return
    columns = [c for c in ("id", "name", "vat_number", "number", "tenant", "type", "description", "status", "reason")
               if c in rows[0]]
    print("  ".join(f"{c:<14}" for c in columns))
    for row in rows:
        print("  ".join(f"{str(row.get(c) if row.get(c) is not None else ''):<14}" for c in columns)[:200])
