"""The Centraal Boekhuis words of the scenario language: ``given.cbftp``, ``cb.*`` steps and expectations.

Steps drive the real CB client (``clients.cbftp``) or a raw FTP(S) session (``cb.ftp``) over real
sockets; ``cb.findings`` says which of CB's rules were broken — ``[]`` proves a client behaves.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

from clients.cbftp.client import CBClient, CBConnection
from clients.cbftp.digicom import Order, OrderLine
from clients.cbftp.store import CBClientStore

from ..core.clock import parse_duration
from ..core.config import build
from ..scenario.rawftp import raw_ftp_schema, run_raw_session
from ..scenario.vocabulary import DURATION, Vocabulary
from .config import CBAccount, Maintenance
from .findings import RULES, SIM

_ACCOUNT = {"type": "object", "required": ["relation_id", "password"], "additionalProperties": False,
            "properties": {"relation_id": {"type": "string", "pattern": "^[0-9]{7}$"}, "password": {"type": "string"},
                           "user": {"type": "string"}, "name": {"type": "string"}, "email": {"type": "string"},
                           "invoice_channel": {"enum": ["ftp", "email", "both"]}}}
_MAINTENANCE = {"type": "object", "additionalProperties": False, "properties": {
    "enabled": {"type": "boolean"}, "weekday": {"type": "string"}, "start": {"type": "string"},
    "end": {"type": "string"}, "outage": DURATION, "timezone": {"type": "string"}}}
_SETTINGS = {"type": "object", "additionalProperties": False, "x-noun": "setting", "properties": {
    "mode": {"enum": ["enforce", "report"]}, "login_interval": DURATION, "retention": DURATION,
    "max_file_size": {"type": "integer", "minimum": 1}, "passive_ports": {"type": "string"},
    "maintenance": _MAINTENANCE}}
GIVEN_SCHEMA = {"type": "object", "additionalProperties": False, "x-noun": "cbftp setting", "properties": {
    "accounts": {"type": "array", "items": _ACCOUNT}, "settings": _SETTINGS}}
_CLIENT = {"client": {"type": "string", "description": "which client (default: the first account's)"}}
_LINE = {"type": "object", "required": ["article", "quantity"], "additionalProperties": False,
         "properties": {"article": {"type": "string"}, "quantity": {"type": "integer"},
                        "reference": {"type": "string"}}}
ORDER_SCHEMA = {"type": "object", "required": ["number", "lines"], "additionalProperties": False, "properties": {
    **_CLIENT, "number": {"type": "string"}, "lines": {"type": "array", "items": _LINE, "minItems": 1},
    "unchecked": {"type": "boolean", "description": "build the file even when CB will refuse it"}}}
_FOLDER = {"anyOf": [{"type": "array", "items": {"type": "string"}},
                     {"type": "object", "required": ["files"], "additionalProperties": False,
                      "properties": {"relation_id": {"type": "string"},
                                     "files": {"type": "array", "items": {"type": "string"}}}}]}


@dataclass
class CBScenarioState:
    clients: dict[str, CBClient] = field(default_factory=dict)
    accounts: list[CBAccount] = field(default_factory=list)
    polls: dict[str, Any] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)


def _state(run) -> CBScenarioState:
    return run.state.setdefault(SIM, CBScenarioState())


def _model(run):
    return run.runtime.simulators[SIM].model


def _first_account(run) -> CBAccount:
    state = _state(run)
    return state.accounts[0] if state.accounts else _model(run).accounts()[0]


def _client(run, name: str | None) -> CBClient:
    state = _state(run)
    key = name or "default"
    if key not in state.clients:
        account = _first_account(run)
        endpoint = run.runtime.endpoint("cb-ftps")
        connection = CBConnection(endpoint.host, endpoint.port, account.login, account.password, account.relation_id,
                                  run.runtime.tls.client_context(), timeout=10)
        store = CBClientStore(run.workdir / f"cb-client-{key}.db")
        run.cleanups.append(store.close)
        state.clients[key] = CBClient(connection, store, run.workdir / f"cb-inbox-{key}", run.clock)
    return state.clients[key]


def vocabulary() -> Vocabulary:
    vocab = Vocabulary()
    vocab.given(SIM, GIVEN_SCHEMA, _given, "Centraal Boekhuis accounts and settings for this scenario.")

    @vocab.step("cb.order", ORDER_SCHEMA)
    def order(run, args: dict) -> None:
        """The CB client builds an order file (Digicom OPDNAW) and queues it for the next session."""
        client = _client(run, args.get("client"))
        lines = [OrderLine(line["article"], line["quantity"], line.get("reference")) for line in args["lines"]]
        # ``unchecked`` skips the client's own check: QA sends what CB will refuse.
        client.queue_order(Order(args["number"], lines, order_date=run.clock.now().date()),
                           check=not args.get("unchecked"))

    @vocab.step("cb.file", {"type": "object", "required": ["name"], "additionalProperties": False,
                            "properties": {**_CLIENT, "name": {"type": "string"}, "content": {"type": "string"},
                                           "file": {"type": "string"}}})
    def attachment(run, args: dict) -> None:
        """The CB client queues a PDF or JPG for CB."""
        data = run.resolve(args["file"]).read_bytes() if "file" in args else args.get("content", "").encode()
        _client(run, args.get("client")).queue_file(args["name"], data)

    @vocab.step("cb.session", {"type": ["object", "null"], "additionalProperties": False, "properties": {
        **_CLIENT, "skipped": {"type": "string", "description": "the session must be skipped, for a reason like this"}}})
    def session(run, args: dict | None) -> None:
        """One session of the CB client now: upload what waits, collect out/ (if CB's rules allow it now)."""
        args = args or {}
        report = _client(run, args.get("client")).session()
        if "skipped" in args:
            if report.skipped is None or not fnmatchcase(report.skipped, args["skipped"]):
                raise AssertionError(f"the session was to be skipped ({args['skipped']!r}); it "
                                     f"{'was skipped: ' + report.skipped if report.skipped else 'ran'}")
        elif report.skipped is not None:
            raise AssertionError(f"the session was skipped: {report.skipped}")

    @vocab.step("cb.poll", {"type": "object", "required": ["every"], "additionalProperties": False,
                            "properties": {**_CLIENT, "every": DURATION}})
    def poll(run, args: dict) -> None:
        """From now on the CB client runs a session every so often, as CB's rules and window allow."""
        client, every = _client(run, args.get("client")), parse_duration(args["every"])
        state, key = _state(run), args.get("client") or "default"

        def tick(_at) -> None:
            report = client.session()
            if report.skipped:
                state.skipped.append(report.skipped)
            due = max(client.next_session_at(), run.clock.now() + every)
            state.polls[key] = run.runtime.scheduler.call_at(due, tick)

        if key in state.polls:
            state.polls[key].cancel()
        state.polls[key] = run.runtime.scheduler.call_at(max(client.next_session_at(), run.clock.now()), tick)

    @vocab.step("cb.invoice", {"type": ["object", "null"], "additionalProperties": False, "properties": {
        "relation_id": {"type": "string"}, "count": {"type": "integer", "minimum": 1, "maximum": 100},
        "credit": {"type": "boolean"}, "lines": {"type": "integer", "minimum": 1, "maximum": 1000}}})
    def invoice(run, args: dict | None) -> None:
        """CB issues service invoices now (UBL + PDF), delivered as the account says (FTP and/or e-mail)."""
        args = args or {}
        relation = args.get("relation_id") or _first_account(run).relation_id
        for _ in range(args.get("count", 1)):
            _model(run).issue_invoice(relation, credit=bool(args.get("credit")), lines=args.get("lines"))

    @vocab.step("cb.place", {"type": "object", "required": ["name"], "additionalProperties": False, "properties": {
        "relation_id": {"type": "string"}, "name": {"type": "string"}, "content": {"type": "string"},
        "file": {"type": "string"},
        "repeat": {"type": "integer", "minimum": 1, "maximum": 100_000_000,
                   "description": "content repeated this many times (a large file from a short text)"}}})
    def place(run, args: dict) -> None:
        """CB places a file of your choosing in out/ (a receipt by hand, or a large file to cut a transfer short)."""
        relation = args.get("relation_id") or _first_account(run).relation_id
        data = run.resolve(args["file"]).read_bytes() if "file" in args else \
            args.get("content", "").encode() * args.get("repeat", 1)
        _model(run).place_file(relation, args["name"], data)

    @vocab.step("cb.ftp", raw_ftp_schema())
    def raw(run, args: dict) -> None:
        """A raw FTP(S) session against CB: uploads, downloads (also aborted ones), any command, with replies."""
        account = _first_account(run)
        endpoint = run.runtime.endpoint("cb-ftps")
        run_raw_session(run, endpoint.host, endpoint.port, account.login, account.password, args)

    @vocab.expectation("cb.findings", {"anyOf": [
        {"type": "array", "items": {"enum": sorted(RULES)}},
        {"type": "object", "additionalProperties": False, "properties": {
            "relation_id": {"type": "string"}, "rules": {"type": "array", "items": {"enum": sorted(RULES)}},
            "includes": {"type": "array", "items": {"enum": sorted(RULES)}}}}]})
    def findings(run, expected) -> None:
        """Which CB rules were broken: a list of rule names (once per finding, any order); [] = none."""
        spec = expected if isinstance(expected, dict) else {"rules": expected}
        found = _model(run).findings(spec.get("relation_id"))
        got = Counter(f["rule"] for f in found)
        shown = "; ".join(f"{f['rule']}: {f['detail']}" for f in found) or "none"
        if "rules" in spec and got != Counter(spec["rules"]):
            raise AssertionError(f"findings {sorted(got.elements())}, expected {sorted(spec['rules'])} ({shown})")
        missing = [r for r in spec.get("includes", []) if r not in got]
        if missing:
            raise AssertionError(f"no finding for {missing} ({shown})")

    for folder in ("in", "out"):
        vocab.expectation(f"cb.{folder}", _FOLDER,
                          f"Exactly which files are in {folder}/ now (patterns such as '*.ont'; [] = empty).",
                          )(_folder_expectation(folder))

    @vocab.expectation("cb.client", {"type": "object", "additionalProperties": False, "properties": {
        **_CLIENT, "received": {"type": "array", "items": {"type": "string"}},
        "uploaded": {"type": "array", "items": {"type": "string"}},
        "waiting": {"type": "integer", "minimum": 0},
        "receipts": {"type": "object", "additionalProperties": False, "properties": {
            "accepted": {"type": "integer"}, "refused": {"type": "integer"}}},
        "invoices": {"type": "integer", "minimum": 0}}})
    def client_view(run, expected: dict) -> None:
        """What the CB client holds: files received (patterns, exactly), uploads done, receipts, invoices."""
        client = _client(run, expected.get("client"))
        problems = []
        received = [r["name"] for r in client.store.received_files()]
        if "received" in expected and not _cover(received, expected["received"]):
            problems.append(f"received {received}, expected {expected['received']}")
        uploaded = [u["name"] for u in client.store.uploads() if u["uploaded_at"]]
        if "uploaded" in expected and not _cover(uploaded, expected["uploaded"]):
            problems.append(f"uploaded {uploaded}, expected {expected['uploaded']}")
        waiting = len(client.store.pending_uploads())
        if "waiting" in expected and waiting != expected["waiting"]:
            problems.append(f"{waiting} uploads waiting, expected {expected['waiting']}")
        if "receipts" in expected:
            receipts = client.receipts()
            counts = {"accepted": sum(r["accepted"] for r in receipts),
                      "refused": sum(not r["accepted"] for r in receipts)}
            if any(counts[k] != v for k, v in expected["receipts"].items()):
                problems.append(f"receipts {counts}, expected {expected['receipts']}")
        if "invoices" in expected:
            invoices = client.invoices(run.runtime.simulators[SIM].config.ubl_schema_dir)
            if len(invoices) != expected["invoices"]:
                problems.append(f"{len(invoices)} invoices parsed, expected {expected['invoices']}")
        if problems:
            raise AssertionError("; ".join(problems))

    return vocab


def _given(run, value: dict) -> None:
    model, state = _model(run), _state(run)
    for key, setting in (value.get("settings") or {}).items():
        if key == "maintenance":
            setting = build(Maintenance, setting, str(run.scenario.path), "given.cbftp.settings.maintenance")
        setattr(model.config, key, setting)
    for raw in value.get("accounts", []):
        account = build(CBAccount, raw, str(run.scenario.path), "given.cbftp.accounts")
        model.put_account(account)
        state.accounts.append(account)


def _cover(names: list[str], patterns: list[str]) -> bool:
    """Every name matches a pattern and every pattern matches a name."""
    return all(any(fnmatchcase(n, p) for p in patterns) for n in names) and \
        all(any(fnmatchcase(n, p) for n in names) for p in patterns)


def _folder_expectation(folder: str):
    def check(run, expected) -> None:
        relation = expected.get("relation_id") if isinstance(expected, dict) else None
        patterns = expected["files"] if isinstance(expected, dict) else expected
        names = _model(run).present(relation or _first_account(run).relation_id, folder)
        if not _cover(names, patterns):
            raise AssertionError(f"{folder}/ holds {names}, expected {patterns}")

    return check

