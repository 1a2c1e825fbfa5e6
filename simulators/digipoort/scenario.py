"""The Digipoort words of the scenario language: ``given.digipoort``, ``digipoort.*`` steps and expectations.

Steps drive the real client (``clients.digipoort``) or a raw FTPS session (``digipoort.ftp``) over
real sockets; the client polls OUT on the scenario's virtual clock, interleaved in time order with
the simulator's own events.
"""

from __future__ import annotations

import ftplib
from dataclasses import dataclass, field
from datetime import date, timedelta
from fnmatch import fnmatchcase
from typing import Any

from clients.digipoort import ClientStore, Connection, DigipoortClient
from clients.digipoort.client import CRASH_POINTS
from clients.xbrl import build_vat_return

from ..core.config import build
from ..core.matching import difference
from ..scenario.vocabulary import DURATION, Vocabulary
from .config import Account
from .models import SIM
from .outcomes import OUTCOMES
from .recipients import recipient_named
from .client_process import run_client_process_that_dies, submit_arguments
from .rawftp import RAW_FTP_SCHEMA, run_raw_session

PHASES = ["refused", "delivering", "delivered", "accepted", "rejected"]
CLIENT_STATES = ["new", "data_sent", "meta_sending", "sent", "transported", "error", "refused", "accepted", "rejected"]

_ACCOUNT = {"type": "object", "required": ["user", "password"], "additionalProperties": False, "properties": {
    "user": {"type": "string"}, "password": {"type": "string"},
    "berichtsoorten": {"type": "array", "items": {"type": "string"}},
    "identities": {"anyOf": [{"type": "array", "items": {"type": "string"}},
                             {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}},
                              "x-noun": "berichtsoort"}]}}}
_RULE = {"type": "object", "required": ["when"], "minProperties": 2, "properties": {
    "when": {"type": "object", "x-noun": "field"},
    "times": {"type": "integer", "minimum": 1},
    "error": {"type": "object", "properties": {"code": {"type": "string"}, "text": {"type": "string"}},
              "required": ["code"], "additionalProperties": False},
    "answer": {"type": "object", "additionalProperties": False, "properties": {
        "outcome": {"enum": list(OUTCOMES)}, "after": DURATION, "code": {"type": ["string", "integer"]},
        "text": {"type": "string"}, "class": {"type": "string"},
        "findings": {"type": "array", "items": {"type": "object"}}}},
    "ftp": {"type": "object", "additionalProperties": False, "properties": {
        "reply": {"type": "string"}, "close": {"type": "boolean"}, "drop": {"enum": ["before", "after"]}}},
}, "additionalProperties": False, "x-noun": "rule field"}
_SETTINGS = {"type": "object", "additionalProperties": False, "x-noun": "setting", "properties": {
    "answer_delay": DURATION, "transport_delay": DURATION, "retry_interval": DURATION,
    "max_delivery_window": DURATION, "max_file_size": {"type": "integer", "minimum": 1},
    "max_meta_size": {"type": "integer", "minimum": 1}}}
_RECIPIENT = {"type": "object", "additionalProperties": False, "x-noun": "recipient setting", "properties": {
    "answer_delay": DURATION, "berichtsoorten": {"type": "array", "items": {"type": "string"}},
    "checks_vat_returns": {"type": "boolean"}}}
_RECIPIENTS = {"type": "object", "additionalProperties": _RECIPIENT, "x-noun": "recipient",
               "description": "Per institution behind Digipoort (belastingdienst, kvk): its delay and berichtsoorten."}
GIVEN_SCHEMA = {"type": "object", "additionalProperties": False, "x-noun": "digipoort setting", "properties": {
    "accounts": {"type": "array", "items": _ACCOUNT}, "rules": {"type": "array", "items": _RULE},
    "settings": _SETTINGS, "recipients": _RECIPIENTS}}

_VAT = {"type": "object", "required": ["period", "boxes"], "additionalProperties": False, "properties": {
    "period": {"type": "string", "pattern": r"^\d{4}-(0[1-9]|1[0-2]|Q[1-4])$",
               "description": "2026-10 (a month) or 2026-Q3 (a quarter)"},
    "identity": {"type": "string"}, "boxes": {"type": "object", "additionalProperties": {"type": "integer"}}}}
SUBMIT_SCHEMA = {"type": "object", "required": ["berichtsoort"], "additionalProperties": False,
                 "x-noun": "submit field", "properties": {
    "payload": {"type": "string", "description": "a file next to the scenario"},
    "content": {"type": "string", "description": "the payload itself"},
    "vat": _VAT, "berichtsoort": {"type": "string"}, "identity": {"type": "string"},
    "identity_type": {"type": "string"}, "rol": {"type": "string"}, "aanleverkenmerk": {"type": "string"},
    "eerder_aanleverkenmerk": {"type": "string"}, "filename": {"type": "string"},
    "as": {"type": "string", "description": "a name to refer to this submission in expectations"},
    "client": {"type": "string"}, "user": {"type": "string"}, "password": {"type": "string"},
    "crash_at": {"enum": list(CRASH_POINTS),
                 "description": "run the client as a separate process that dies (like kill -9) at this point"},
    "fails": {"type": "string", "description": "the submit must fail with an error matching this pattern"}}}
_CLIENT_ONLY = {"type": ["object", "null"], "additionalProperties": False,
                "properties": {"client": {"type": "string"}, "crash_at": {"enum": list(CRASH_POINTS)},
                               "fails": {"type": "string", "description": "it must fail with an error like this"}}}


def _per_alias(item: dict) -> dict:
    return {"anyOf": [item, {"type": "object", "additionalProperties": item, "x-noun": "submission name"}]}


@dataclass
class ScenarioClients:
    """The scenario-side Digipoort objects of one run."""

    clients: dict[str, DigipoortClient] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)  # name in the scenario -> contextId
    accounts: list[Account] = field(default_factory=list)
    timers: dict[str, Any] = field(default_factory=dict)
    poll_errors: list[str] = field(default_factory=list)


def _state(run) -> ScenarioClients:
    return run.state.setdefault(SIM, ScenarioClients())


def _model(run):
    return run.runtime.simulators[SIM].model


def _default_account(run) -> Account:
    state = _state(run)
    return state.accounts[0] if state.accounts else _model(run).config.accounts[0]


def _client(run, name: str | None, user: str | None = None, password: str | None = None) -> DigipoortClient:
    state = _state(run)
    key = name or "default"
    if key not in state.clients:
        account = _default_account(run)
        endpoint = run.runtime.endpoint("digipoort-ftp")
        connection = Connection(endpoint.host, endpoint.port, user or account.user, password or account.password,
                                run.runtime.tls.client_context(), timeout=10)
        store = ClientStore(run.workdir / f"client-{key}.db")
        run.cleanups.append(store.close)
        seeded = run.runtime.ctx.random  # the one seeded generator: references repeat from run to run
        state.clients[key] = DigipoortClient(connection, store, run.clock,
                                             new_ref=lambda: f"ref{seeded.getrandbits(80):020x}")
    return state.clients[key]


def _arm_polling(run, name: str | None) -> None:
    """Let the client poll OUT on the scenario clock: each poll plans the next, with back-off."""
    state, key = _state(run), name or "default"
    client = state.clients[key]
    previous = state.timers.pop(key, None)
    if previous is not None:
        previous.cancel()
    due = client.next_poll_at()
    if due is None:
        return

    def poll(_at) -> None:
        state.timers.pop(key, None)
        try:
            client.poll()
        except ftplib.all_errors as exc:  # as a real client would: note it and look again later
            state.poll_errors.append(f"{_at.isoformat()}: {type(exc).__name__}: {exc}")
            client.schedule_poll(client.policy.initial)
        _arm_polling(run, name)

    state.timers[key] = run.runtime.scheduler.call_at(due, poll)


def vocabulary() -> Vocabulary:
    vocab = Vocabulary()
    vocab.given(SIM, GIVEN_SCHEMA, _given, "Digipoort accounts, rules and settings for this scenario.")

    @vocab.step("digipoort.submit", SUBMIT_SCHEMA)
    def submit(run, args: dict) -> None:
        """Submit through the Digipoort client: data file, then meta file; it then polls OUT on the clock."""
        payload, filename = _payload(run, args)
        fields = {k: args[k] for k in ("identity_type", "rol", "aanleverkenmerk", "eerder_aanleverkenmerk")
                  if k in args}
        identity = args.get("identity") or (args.get("vat") or {}).get("identity")
        if not identity:
            raise ValueError("digipoort.submit needs 'identity' (or vat.identity)")
        client = _client(run, args.get("client"), args.get("user"), args.get("password"))
        if "crash_at" in args:
            ref = run_client_process_that_dies(run, client, args["crash_at"], submit_arguments(args, payload,
                                                                                                 filename, identity, run))
            _state(run).aliases[args.get("as", ref)] = ref
        else:
            ref = client.prepare(payload, berichtsoort=args["berichtsoort"], identity=identity, filename=filename,
                                 **fields)
            _state(run).aliases[args.get("as", ref)] = ref
            _expect_outcome(lambda: client.deliver(ref), args.get("fails"), "submit")
        _arm_polling(run, args.get("client"))

    @vocab.step("digipoort.poll", _CLIENT_ONLY)
    def poll(run, args: dict | None) -> None:
        """Make the client look at OUT now (besides its own polling on the clock)."""
        args = args or {}
        client = _client(run, args.get("client"))
        if "crash_at" in args:
            run_client_process_that_dies(run, client, args["crash_at"], ["status"])
        else:
            client.poll()
        _arm_polling(run, args.get("client"))

    @vocab.step("digipoort.resume", _CLIENT_ONLY)
    def resume(run, args: dict | None) -> None:
        """Start the client again after a crash: it finishes half-sent submissions and polls on."""
        args = args or {}
        client = _client(run, args.get("client"))
        _expect_outcome(client.resume, args.get("fails"), "resume")
        client.schedule_poll(client.policy.initial, reset=True)
        _arm_polling(run, args.get("client"))

    @vocab.step("digipoort.ftp", RAW_FTP_SCHEMA)
    def raw(run, args: dict) -> None:
        """A raw FTP(S) session: uploads, downloads, any command, each with the reply it must get."""
        account = _default_account(run)
        endpoint = run.runtime.endpoint("digipoort-ftp")
        for context_id, alias in run_raw_session(run, endpoint, account, args).items():
            _state(run).aliases[alias] = context_id

    @vocab.step("digipoort.answer", {"type": "object", "required": ["of"], "additionalProperties": False,
                                     "properties": {"of": {"type": "string"}, "outcome": {"enum": list(OUTCOMES)},
                                                    "code": {"type": ["string", "integer"]},
                                                    "text": {"type": "string"}}})
    def answer(run, args: dict) -> None:
        """Answer a waiting submission now, by hand (what QA does through the admin API)."""
        sub = _submission(run, args["of"])
        _model(run).answer_now(sub["kenmerk"], {k: v for k, v in args.items() if k != "of"})

    @vocab.step("digipoort.place", {"type": "object", "required": ["name", "content"], "additionalProperties": False,
                                    "properties": {"name": {"type": "string"}, "content": {"type": "string"},
                                                   "user": {"type": "string"}}})
    def place(run, args: dict) -> None:
        """Digipoort places a file of your choosing in OUT (a stray or unreadable return message)."""
        user = args.get("user") or _default_account(run).user
        _model(run).place_in_out(user, args["name"], args["content"].encode())

    @vocab.expectation("digipoort.recipient", {"type": "object", "x-noun": "submission name",
                                               "additionalProperties": {"type": "string"}})
    def recipient(run, expected: dict) -> None:
        """Which institution received a submission: belastingdienst or kvk."""
        for alias, want in expected.items():
            got = _submission(run, alias)["recipient"]
            if got != want:
                raise AssertionError(f"{alias}: went to {got!r}, expected {want!r}")

    @vocab.expectation("digipoort.status", _per_alias({"enum": PHASES}))
    def status(run, expected) -> None:
        """The simulator's phase of a submission: refused, delivering, delivered, accepted, rejected."""
        for alias, want in _expand(run, expected):
            got = _submission(run, alias)["phase"]
            if got != want:
                raise AssertionError(f"{alias}: phase is {got!r}, expected {want!r}")

    @vocab.expectation("digipoort.statuses", {"type": "object", "x-noun": "submission name",
                                              "additionalProperties": {"type": "array", "items": {"type": "integer"}}})
    def statuses(run, expected: dict) -> None:
        """The exact Digipoort status-code sequence of a submission, e.g. [105, 100, 110, ...]."""
        for alias, want in expected.items():
            got = [s["statuscode"] for s in _submission(run, alias)["statuses"]]
            if got != want:
                raise AssertionError(f"{alias}: statuses {got}, expected {want}")

    @vocab.expectation("digipoort.foutcode", {"type": "object", "x-noun": "submission name",
                                              "additionalProperties": {"type": "string"}})
    def foutcode(run, expected: dict) -> None:
        """The fault code of a refused submission (its ``.error``), e.g. ALS120."""
        for alias, want in expected.items():
            sub = _submission(run, alias)
            if sub["foutcode"] != want:
                raise AssertionError(f"{alias}: foutcode {sub['foutcode']!r} ({sub['foutbeschrijving']!r}), "
                                     f"expected {want!r}")

    @vocab.expectation("digipoort.client", _per_alias({"anyOf": [{"enum": CLIENT_STATES}, {"type": "object"}]}))
    def client_view(run, expected) -> None:
        """What the client knows: its state per submission, or fields such as {state, foutcode, reason}."""
        for alias, want in _expand(run, expected):
            ref = _state(run).aliases.get(alias, alias)
            row = next((r for c in _state(run).clients.values() for r in c.submissions() if r["ref"] == ref), None)
            if row is None:
                raise AssertionError(f"the client has no submission {alias!r}")
            errors = _state(run).poll_errors
            pattern = {"state": want} if isinstance(want, str) else want
            problems = difference(pattern, row)
            if problems:
                hint = f" (failed polls: {'; '.join(errors[-3:])})" if errors else ""
                raise AssertionError(f"{alias}: " + "; ".join(problems) + hint)

    for folder in ("in", "out"):
        vocab.expectation(f"digipoort.{folder}", {"anyOf": [
            {"type": "array", "items": {"type": "string"}},
            {"type": "object", "required": ["files"], "additionalProperties": False,
             "properties": {"user": {"type": "string"}, "files": {"type": "array", "items": {"type": "string"}}}}]},
            f"Exactly which files are in {folder.upper()} (patterns such as '*.ok'; [] = empty).",
        )(_folder_expectation(folder.upper()))

    @vocab.expectation("digipoort.submissions", {"type": "object", "additionalProperties": False, "properties": {
        "count": {"type": "integer", "minimum": 0}, "phase": {"enum": PHASES}}, "required": ["count"]})
    def submissions(run, expected: dict) -> None:
        """How many submissions the simulator received (optionally: in a phase)."""
        found = _model(run).submissions(phase=expected.get("phase"))
        if len(found) != expected["count"]:
            summary = ", ".join(f"{s['contextId']}:{s['phase']}" for s in found)
            raise AssertionError(f"{len(found)} submissions ({summary}), expected {expected['count']}")

    return vocab


def _given(run, value: dict) -> None:
    model, state = _model(run), _state(run)
    for key, setting in (value.get("settings") or {}).items():
        setattr(model.config, key, setting)
    for raw in value.get("accounts", []):
        account = build(Account, raw, str(run.scenario.path), "given.digipoort.accounts")
        model.put_account(account)
        state.accounts.append(account)
    for name, settings in (value.get("recipients") or {}).items():
        recipient = recipient_named(model.config.recipients, name)
        for key, setting in settings.items():
            setattr(recipient, key, setting)
    for rule in value.get("rules", []):
        run.runtime.rules.add(SIM, rule)


def _payload(run, args: dict) -> tuple[bytes, str]:
    given = [k for k in ("payload", "content", "vat") if k in args]
    if len(given) != 1:
        raise ValueError("digipoort.submit needs exactly one of 'payload' (a file), 'content' or 'vat'")
    if "payload" in args:
        path = run.resolve(args["payload"])
        return path.read_bytes(), args.get("filename", path.name)
    if "content" in args:
        return args["content"].encode(), args.get("filename", "bericht.xml")
    vat = args["vat"]
    start, end = _period(vat["period"])
    identity = vat.get("identity") or args.get("identity")
    body = build_vat_return(identity=identity, period_start=start, period_end=end, boxes=vat["boxes"],
                            created=run.clock.now())
    return body, args.get("filename", f"omzetbelasting-{vat['period']}.xbrl")


def _period(text: str) -> tuple[date, date]:
    year = int(text[:4])
    if "Q" in text:
        quarter = int(text[-1])
        first, last = 3 * quarter - 2, 3 * quarter
    else:
        first = last = int(text[5:7])
    end = date(year + (last == 12), last % 12 + 1, 1)
    return date(year, first, 1), end - timedelta(days=1)


def _expect_outcome(action, fails: str | None, what: str) -> None:
    """Run a client action that must succeed, or (with ``fails``) must fail with a matching error."""
    try:
        action()
    except ftplib.all_errors as exc:
        if fails is None:
            raise
        if not fnmatchcase(f"{type(exc).__name__}: {exc}", fails):
            raise AssertionError(f"the {what} failed with {type(exc).__name__}: {exc}, expected {fails!r}") from exc
        return
    if fails is not None:
        raise AssertionError(f"the {what} was expected to fail ({fails!r}) but succeeded")


def _expand(run, expected) -> list[tuple[str, Any]]:
    if isinstance(expected, dict) and not _looks_like_pattern(expected):
        return list(expected.items())
    aliases = list(_state(run).aliases) or [s["contextId"] for s in _model(run).submissions()]
    if not aliases:
        raise AssertionError("no submission was made in this scenario")
    return [(alias, expected) for alias in aliases]


def _looks_like_pattern(value: dict) -> bool:
    return bool(set(value) & {"state", "foutcode", "reason", "kenmerk"})


def _submission(run, alias: str) -> dict:
    """A submission by its alias or contextId; a pattern (``CS000001-1-*``) matches contextIds."""
    context_id = _state(run).aliases.get(alias, alias)
    found = _model(run).submissions(context_id=context_id)
    if not found and any(c in alias for c in "*?["):
        found = [s for s in _model(run).submissions() if fnmatchcase(s["contextId"], alias)]
    if not found:
        known = ", ".join(sorted(_state(run).aliases)) or "none"
        raise AssertionError(f"no submission {alias!r} reached the simulator (names known: {known})")
    return found[-1]


def _folder_expectation(folder: str):
    def check(run, expected) -> None:
        user = expected.get("user") if isinstance(expected, dict) else None
        patterns = expected["files"] if isinstance(expected, dict) else expected
        names = [f["name"] for f in _model(run).files(user or _default_account(run).user, folder)]
        unmatched = [p for p in patterns if not any(fnmatchcase(n, p) for n in names)]
        extra = [n for n in names if not any(fnmatchcase(n, p) for p in patterns)]
        if unmatched or extra:
            raise AssertionError(f"{folder} holds {names}; missing {unmatched or 'nothing'}, "
                                 f"unexpected {extra or 'nothing'}")

    return check
