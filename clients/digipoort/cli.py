"""``koppelsim digipoort submit|status|follow|resume`` — the client from the command line."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from ..clock import FixedClock, RealClock, monotonic, real_sleep

if TYPE_CHECKING:
    from .client import DigipoortClient

# The client and ftplib are imported by the commands that use them, not here: every `koppelsim`
# command (`koppelsim sim` too) builds this parser, and its start-up time is a feature.


def add_digipoort_commands(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("digipoort", help="submit to Digipoort (or the simulator) and follow the answers")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=2121)
    parser.add_argument("--user", default="acme")
    parser.add_argument("--password", default="acme-secret")
    parser.add_argument("--ca", default="./.koppelsim/tls/ca.pem",
                        help="CA certificate to trust (the simulator writes it to <state-dir>/tls/ca.pem)")
    parser.add_argument("--plain", action="store_true", help="plain FTP instead of explicit FTPS")
    parser.add_argument("--state", default="./.koppelsim-client/digipoort.db", help="the client's own state file")
    parser.add_argument("--at", default=None, help=argparse.SUPPRESS)  # a fixed clock, for scripted runs
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    submit = actions.add_parser("submit", help="send a data file and its meta file")
    submit.add_argument("file", help="the payload, e.g. an XBRL VAT return")
    submit.add_argument("--berichtsoort", required=True, help="e.g. Omzetbelasting, ICP")
    submit.add_argument("--identity", required=True, help="identiteitBelanghebbende nummer, e.g. 001000044B37")
    submit.add_argument("--identity-type", default="Fi")
    submit.add_argument("--rol", default="Bedrijf")
    submit.add_argument("--aanleverkenmerk", default=None, help="your reference; Logius test-stub names work")
    submit.add_argument("--eerder-aanleverkenmerk", default=None)
    submit.set_defaults(run=_submit)

    status = actions.add_parser("status", help="look at OUT once and list every submission")
    status.add_argument("--no-poll", action="store_true", help="only show what is known locally")
    status.add_argument("--json", action="store_true")
    status.set_defaults(run=_status)

    follow = actions.add_parser("follow", help="poll with back-off until every submission is final")
    follow.add_argument("--timeout", type=float, default=3600.0, help="give up after this many real seconds")
    follow.set_defaults(run=_follow)

    resume = actions.add_parser("resume", help="finish submissions a crash left half-sent")
    resume.set_defaults(run=_resume)

    example = actions.add_parser("example-return", help="write a VAT return (XBRL) to submit; needs no server")
    example.add_argument("--identity", default="001000044B37", help="the omzetbelastingnummer (default: the "
                                                                    "simulator's example account's)")
    example.add_argument("--period", default=None, help="2026-10 (a month) or 2026-Q3; default: last month")
    example.add_argument("--box", action="append", default=[], metavar="LABEL=EUROS",
                         help="a box in whole euros, repeatable (default: 1a=10000 1a_btw=2100)")
    example.add_argument("-o", "--output", default="-", help="the file to write (default: standard output)")
    example.set_defaults(run=_example_return)

    meta = actions.add_parser("meta", help="print the meta file for a data file, for your own FTP client")
    meta.add_argument("file", help="the data file the meta file describes (name, size, SHA-256)")
    meta.add_argument("--berichtsoort", required=True, help="e.g. Omzetbelasting, ICP")
    meta.add_argument("--identity", required=True, help="identiteitBelanghebbende nummer, e.g. 001000044B37")
    meta.add_argument("--identity-type", default="Fi")
    meta.add_argument("--rol", default="Bedrijf")
    meta.add_argument("--aanleverkenmerk", default=None, help="your reference; Logius test-stub names work")
    meta.add_argument("--reference", default=None, help="the contextId (default: the file name without extension)")
    meta.set_defaults(run=_meta)
    parser.set_defaults(func=_dispatch)


def _client(args: argparse.Namespace) -> DigipoortClient:
    import ssl

    from .client import Connection, DigipoortClient
    from .store import ClientStore

    context = None
    if not args.plain:
        ca = Path(args.ca)
        if not ca.is_file():
            raise SystemExit(f"koppelsim digipoort: CA certificate {ca} not found; start `koppelsim sim` first "
                             "or pass --ca")
        context = ssl.create_default_context(cafile=str(ca))
    connection = Connection(args.host, args.port, args.user, args.password, context)
    # Real time for a developer's run against `koppelsim sim`; a fixed instant when a scenario runs
    # this command as a separate process at a moment of its virtual clock.
    return DigipoortClient(connection, ClientStore(args.state), _clock(args))


def _clock(args: argparse.Namespace) -> FixedClock | RealClock:
    return FixedClock(args.at) if args.at else RealClock()


def _dispatch(args: argparse.Namespace) -> int:
    import ftplib

    try:
        return args.run(args)
    except ftplib.all_errors as exc:
        print(f"koppelsim digipoort: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


def _submit(args: argparse.Namespace) -> int:
    path = Path(args.file)
    client = _client(args)
    ref = client.submit(path.read_bytes(), berichtsoort=args.berichtsoort, identity=args.identity,
                        identity_type=args.identity_type, rol=args.rol, aanleverkenmerk=args.aanleverkenmerk,
                        eerder_aanleverkenmerk=args.eerder_aanleverkenmerk, filename=path.name)
    print(ref)
    return 0


def _status(args: argparse.Namespace) -> int:
    client = _client(args)
    if not args.no_poll:
        for event in client.poll():
            print(f"received {event.name}: {event.kind} {event.detail}".rstrip(), file=sys.stderr)
    rows = client.submissions()
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"{'reference':<24} {'berichtsoort':<16} {'state':<12} {'kenmerk':<38} detail")
    for row in rows:
        detail = (row["foutcode"] or "") + (f" {row['reason']}" if row["reason"] else "")
        print(f"{row['ref']:<24} {row['berichtsoort']:<16} {row['state']:<12} {row['kenmerk'] or '':<38} "
              f"{detail[:80]}")
    return 0


def _follow(args: argparse.Namespace) -> int:
    import ftplib

    client = _client(args)
    deadline = monotonic() + args.timeout
    client.schedule_poll(client.policy.initial, reset=True)
    while client.outstanding():
        try:
            for event in client.poll():
                print(f"{event.ref or '?'}: {event.kind} {event.detail}".rstrip(), flush=True)
        except ftplib.all_errors as exc:  # look again later, as a client that runs unattended must
            print(f"koppelsim digipoort: poll failed ({type(exc).__name__}: {exc}); trying again", file=sys.stderr)
            client.schedule_poll(client.policy.initial)
        upcoming = client.next_poll_at()
        if upcoming is None:
            break
        wait = (upcoming - client.clock.now()).total_seconds()
        if monotonic() + wait > deadline:
            print("koppelsim digipoort: timed out with submissions outstanding", file=sys.stderr)
            return 1
        real_sleep(max(wait, 0))
    return 0


def _example_return(args: argparse.Namespace) -> int:
    from ..xbrl import build_vat_return, period_dates, vat_box_problems

    now = _clock(args).now()
    if args.period is None:
        last_month = now.replace(day=1) - timedelta(days=1)
        args.period = f"{last_month.year}-{last_month.month:02d}"
    try:
        start, end = period_dates(args.period)
        boxes = _boxes(args.box) if args.box else {"1a": 10000, "1a_btw": 2100}
    except ValueError as exc:
        raise SystemExit(f"koppelsim digipoort: {exc}") from None
    if problems := vat_box_problems(boxes):
        raise SystemExit(f"koppelsim digipoort: {'; '.join(problems)}")
    payload = build_vat_return(identity=args.identity, period_start=start, period_end=end, boxes=boxes, created=now)
    if args.output == "-":
        sys.stdout.buffer.write(payload)
    else:
        Path(args.output).write_bytes(payload)
        print(f"{args.output}: VAT return {args.period} for {args.identity}", file=sys.stderr)
    return 0


def _boxes(pairs: list[str]) -> dict[str, int]:
    boxes = {}
    for pair in pairs:
        label, sep, euros = pair.partition("=")
        if not sep or not euros.strip().lstrip("-").isdigit():
            raise ValueError(f"--box {pair!r}: give LABEL=EUROS in whole euros, e.g. 1a=10000")
        boxes[label.strip()] = int(euros)
    return boxes


def _meta(args: argparse.Namespace) -> int:
    import hashlib

    from .messages import build_meta

    path = Path(args.file)
    payload = path.read_bytes()
    sys.stdout.buffer.write(build_meta(
        context_id=args.reference or path.stem, filename=path.name, content_type="application/xml",
        sha256=hashlib.sha256(payload).hexdigest(), size=len(payload), berichtsoort=args.berichtsoort,
        aanleverkenmerk=args.aanleverkenmerk, eerder_aanleverkenmerk=None, identity_number=args.identity,
        identity_type=args.identity_type, rol=args.rol,
        created=_clock(args).now().isoformat(timespec="milliseconds").replace("+00:00", "Z")))
    return 0


def _resume(args: argparse.Namespace) -> int:
    for ref in _client(args).resume():
        print(f"resumed {ref}")
    return 0
