"""The hub words of the scenario language: ``given.hub``, ``hub.*`` steps and expectations.

Steps drive the real hub (``clients.hub``) running in this runtime, which talks to the Digipoort and
CB simulators over real FTPS. ``hub.send_receive`` with ``crash_at`` runs the hub as its own process
(``koppelsim hub send-receive``) on the same state, and that process really dies like a kill -9.
"""

from __future__ import annotations

import os
import subprocess
import sys
from fnmatch import fnmatchcase
from typing import Any

from clients.hub import HubError, RunInProgress
from clients.hub.run import CRASH_ENV, CRASH_POINTS

from ..core.config import build
from ..core.matching import difference
from ..scenario.vocabulary import DURATION, Vocabulary
from .config import TenantConfig
from .service import SIM

STATUSES = ["prepared", "sent", "delivered", "error", "accepted", "rejected"]
_STRINGS = {"type": "array", "items": {"type": "string"}}
_TENANT = {"type": "object", "required": ["id"], "additionalProperties": False, "properties": {
    "id": {"type": "string"}, "name": {"type": "string"}, "vat_number": {"type": "string"},
    "kvk_number": {"type": "string"}, "relation_ids": _STRINGS, "emails": _STRINGS}}
GIVEN_SCHEMA = {"type": "object", "additionalProperties": False, "x-noun": "hub setting", "properties": {
    "tenants": {"type": "array", "items": _TENANT, "description": "the tenants (replacing the two examples)"},
    "schedule": {"anyOf": [DURATION, {"type": "null"}], "description": "send/receive every so often, e.g. 1h"},
    "cb_relation_ids": _STRINGS, "mail": {"type": "boolean"}}}
_FIELDS = {"period": {"type": "string"}, "boxes": {"type": "object", "additionalProperties": {"type": "integer"}},
           "supplies": {"type": "array", "items": {"type": "object"}}, "year": {"type": "integer"},
           "document": {"type": "string"}, "identity": {"type": "string"}}
_FAILS = {"type": "string", "description": "it must be refused with a message like this (wildcards allowed)"}
PREPARE_SCHEMA = {"type": "object", "required": ["tenant", "type"], "additionalProperties": False,
                  "x-noun": "prepare field", "properties": {
                      "tenant": {"type": "string"}, "type": {"type": "string", "description": "vat, icp or kvk"},
                      "as": {"type": "string", "description": "a name for the message in expectations"},
                      "fails": _FAILS, **_FIELDS}}
RUN_SCHEMA = {"type": ["object", "null"], "additionalProperties": False, "properties": {
    "while_running": {"type": "string", "description": "a second send/receive started while this one runs must "
                                                       "be refused with a message like this"},
    "crash_at": {"enum": list(CRASH_POINTS), "description": "run the hub as its own process that dies (kill -9) here"},
    "fails": _FAILS}}
_EXPECTED_STATUS = {"anyOf": [{"enum": STATUSES}, {"type": "object", "additionalProperties": False, "properties": {
    "status": {"enum": STATUSES}, "reason": {"type": "string"}, "attempt": {"type": "integer"}}}]}


def _service(run):
    return run.runtime.simulators[SIM]


def _hub(run):
    return _service(run).hub


def _aliases(run) -> dict[str, str]:
    return run.state.setdefault(SIM, {})


def _number(run, alias: str) -> str:
    number = _aliases(run).get(alias, alias)
    return number


def _refused(action, fails: str | None, what: str) -> Any:
    """Run an action that must succeed, or (with ``fails``) must be refused with a matching message."""
    try:
        result = action()
    except HubError as exc:
        if fails is None:
            raise AssertionError(f"the {what} was refused: {exc.message}") from exc
        if not fnmatchcase(exc.message, fails):
            raise AssertionError(f"the {what} was refused with {exc.message!r}, expected {fails!r}") from exc
        return None
    if fails is not None:
        raise AssertionError(f"the {what} was expected to be refused ({fails!r}) but succeeded")
    return result


def vocabulary() -> Vocabulary:
    vocab = Vocabulary()
    vocab.given(SIM, GIVEN_SCHEMA, _given, "The hub's tenants and its send/receive schedule.")

    @vocab.step("hub.tenant", {**_TENANT, "properties": {**_TENANT["properties"], "fails": _FAILS}})
    def tenant(run, args: dict) -> None:
        """Create a tenant (sub-environment) now."""
        fields = {k: v for k, v in args.items() if k not in ("id", "fails")}
        _refused(lambda: _hub(run).create_tenant(args["id"], **fields), args.get("fails"), "tenant")

    @vocab.step("hub.prepare", PREPARE_SCHEMA)
    def prepare(run, args: dict) -> None:
        """A tenant prepares a message (vat: period + boxes; icp: period + supplies; kvk: year)."""
        fields = {k: v for k, v in args.items() if k in _FIELDS}
        made = _refused(lambda: _hub(run).prepare(args["tenant"], args["type"], fields), args.get("fails"), "prepare")
        if made is not None:
            _aliases(run)[args.get("as", made["number"])] = made["number"]

    @vocab.step("hub.send_receive", RUN_SCHEMA)
    def send_receive(run, args: dict | None) -> None:
        """One send/receive run now: deliver what is queued, fetch and link every answer, collect e-invoices."""
        args = args or {}
        if "crash_at" in args:
            _run_process_that_dies(run, args["crash_at"])
            return
        second: list[str] = []

        def meanwhile(kind: str, detail: str) -> None:
            if kind == "locked" and "while_running" in args and not second:
                try:
                    _service(run).run("manual")
                    second.append("(it was not refused)")
                except RunInProgress as exc:
                    second.append(exc.message)

        try:  # through the service, as the API and the schedule do: the run is journaled
            report = _service(run).run("manual", progress=meanwhile)
        except HubError as exc:
            if args.get("fails") is None or not fnmatchcase(exc.message, args["fails"]):
                raise AssertionError(f"send/receive was refused: {exc.message}") from exc
            return
        if "while_running" in args:
            got = second[0] if second else "(no second run was started)"
            if not fnmatchcase(got, args["while_running"]):
                raise AssertionError(f"the second send/receive: {got!r}, expected {args['while_running']!r}")
        run.state.setdefault("hub.reports", []).append(report)

    @vocab.step("hub.resubmit", {"type": "object", "required": ["of"], "additionalProperties": False,
                                 "properties": {"of": {"type": "string"}, "fails": _FAILS, **_FIELDS}})
    def resubmit(run, args: dict) -> None:
        """The tenant corrects a message in error (or rejected) and queues it again."""
        fields = {k: v for k, v in args.items() if k in _FIELDS}
        _refused(lambda: _hub(run).resubmit(_number(run, args["of"]), fields), args.get("fails"), "resubmit")

    @vocab.step("hub.return_file", {"type": "object", "required": ["of", "content"], "additionalProperties": False,
                                    "properties": {"of": {"type": "string"}, "content": {"type": "string"},
                                                   "kind": {"enum": ["answer", "ok"], "description": (
                                                       "answer (default): {kenmerk} and its .meta; ok: a "
                                                       "transport confirmation {reference}_{kenmerk}.ok")},
                                                   "kenmerk": {"type": "string", "description": (
                                                       "the kenmerk a .ok names (default: the recorded one)")}}})
    def return_file(run, args: dict) -> None:
        """Digipoort puts a return file of your choosing in OUT for a message already sent: an answer under
        the message's kenmerk, or (kind: ok) a transport confirmation naming the message's reference."""
        number = _number(run, args["of"])
        found = _hub(run).store.one("SELECT ref, kenmerk FROM attempts WHERE number=? AND kenmerk IS NOT NULL "
                                    "ORDER BY attempt DESC", (number,))
        if found is None:
            raise AssertionError(f"{args['of']} has no Digipoort kenmerk yet (was it delivered?)")
        digipoort = run.runtime.simulators["digipoort"].model
        user = _service(run).config.digipoort_user
        if args.get("kind") == "ok":
            digipoort.place_in_out(user, f"{found['ref']}_{args.get('kenmerk', found['kenmerk'])}.ok",
                                   args["content"].encode())
            return
        digipoort.place_in_out(user, found["kenmerk"], args["content"].encode())
        digipoort.place_in_out(user, f"{found['kenmerk']}.meta", b"<meta/>")

    @vocab.expectation("hub.status", {"type": "object", "x-noun": "message name",
                                      "additionalProperties": _EXPECTED_STATUS})
    def status(run, expected: dict) -> None:
        """What the tenant sees of a message: its status, and optionally the reason (a pattern) and attempt."""
        for alias, want in expected.items():
            got = _refused(lambda: _hub(run).message(_number(run, alias)), None, "look-up")
            pattern = {"status": want} if isinstance(want, str) else want
            problems = difference(pattern, got)
            if problems:
                raise AssertionError(f"{alias} ({got['number']}): " + "; ".join(problems))

    @vocab.expectation("hub.tenant", {"type": "object", "x-noun": "tenant", "additionalProperties": {
        "type": "object", "x-noun": "status", "additionalProperties": {"type": "integer", "minimum": 0}}})
    def tenant_view(run, expected: dict) -> None:
        """How many of a tenant's own messages are in each status, e.g. {a: {accepted: 2}} (others count 0)."""
        for tenant_id, counts in expected.items():
            rows = _refused(lambda: _hub(run).statuses(tenant_id), None, "look-up")
            got = {s: sum(1 for r in rows if r["status"] == s) for s in STATUSES}
            got = {s: n for s, n in got.items() if n}
            if got != {s: n for s, n in counts.items() if n}:
                raise AssertionError(f"tenant {tenant_id} sees {got}, expected {counts}")

    @vocab.expectation("hub.returns", {"type": "object", "x-noun": "message name", "additionalProperties": {
        "type": "array", "items": {"type": "object"}}})
    def returns(run, expected: dict) -> None:
        """The return messages the communication environment linked to a message, in order (field patterns)."""
        for alias, patterns in expected.items():
            got = _hub(run).history(_number(run, alias))["returns"]
            if len(got) != len(patterns):
                summary = [(r["kind"], r["status"]) for r in got]
                raise AssertionError(f"{alias}: {len(got)} return messages {summary}, expected {len(patterns)}")
            for index, (pattern, item) in enumerate(zip(patterns, got)):
                problems = difference(pattern, item)
                if problems:
                    raise AssertionError(f"{alias}: return message {index + 1}: " + "; ".join(problems))

    @vocab.expectation("hub.history", {"type": "object", "x-noun": "message name", "additionalProperties": {
        "type": "array", "items": {"type": "object"}}})
    def history(run, expected: dict) -> None:
        """Events that must be in a message's history (each a field pattern, e.g. {event: kept, status: accepted})."""
        for alias, patterns in expected.items():
            events = _hub(run).history(_number(run, alias))["events"]
            for pattern in patterns:
                if not any(not difference(pattern, event) for event in events):
                    shown = "; ".join(f"{e['event']}/{e['status']}: {e['detail']}" for e in events)
                    raise AssertionError(f"{alias}: no event like {pattern}; events: {shown}")

    @vocab.expectation("hub.unknown", {"type": "object", "additionalProperties": False, "properties": {
        "returns": {"type": "integer", "minimum": 0}, "invoices": {"type": "integer", "minimum": 0},
        "containing": {**_STRINGS, "description": "texts each kept unknown's content must hold one of"}}})
    def unknown(run, expected: dict) -> None:
        """How many return messages and e-invoices the hub kept as unknown, and (containing) that their
        content is kept: each text must be in the content of one of them."""
        got = _hub(run).unknown()
        for key in ("returns", "invoices"):
            if key in expected and len(got[key]) != expected[key]:
                names = [item["name"] for item in got[key]]
                raise AssertionError(f"{len(got[key])} unknown {key} {names}, expected {expected[key]}")
        contents = [item["content"] for item in got["returns"] + got["invoices"]]
        for text in expected.get("containing", []):
            if not any(text in content for content in contents):
                raise AssertionError(f"no unknown return message or e-invoice holds {text!r}; "
                                     f"kept: {[c[:120] for c in contents]}")

    @vocab.expectation("hub.invoices", {"type": "object", "x-noun": "tenant", "additionalProperties": {
        "type": "integer", "minimum": 0}})
    def invoices(run, expected: dict) -> None:
        """How many e-invoices were routed to each tenant."""
        for tenant_id, want in expected.items():
            got = _hub(run).invoices(tenant_id)
            if len(got) != want:
                raise AssertionError(f"tenant {tenant_id} has {len(got)} e-invoices "
                                     f"{[(i['source'], i['name']) for i in got]}, expected {want}")

    @vocab.expectation("hub.runs", {"type": "object", "additionalProperties": False, "properties": {
        "count": {"type": "integer", "minimum": 0}, "trigger": {"type": "string"}}, "required": ["count"]})
    def runs(run, expected: dict) -> None:
        """How many send/receive runs there were (optionally: with this trigger, e.g. schedule)."""
        got = [r for r in _hub(run).runs(1000) if r["trigger"] == expected.get("trigger", r["trigger"])]
        if len(got) != expected["count"]:
            raise AssertionError(f"{len(got)} runs ({[(r['trigger'], r['started_at']) for r in got]}), "
                                 f"expected {expected['count']}")

    return vocab


def _given(run, value: dict) -> None:
    config = _service(run).config
    if "tenants" in value:
        config.tenants = [build(TenantConfig, t, str(run.scenario.path), "given.hub.tenants") for t in value["tenants"]]
    for key in ("schedule", "cb_relation_ids", "mail"):
        if key in value:
            setattr(config, key, value[key])


def _run_process_that_dies(run, crash_at: str) -> None:
    """``koppelsim hub send-receive`` as its own process on the same state, dying like kill -9 at ``crash_at``."""
    service = _service(run)
    endpoint = run.runtime.endpoint("digipoort-ftp")
    command = [sys.executable, "-m", "simulators", "hub", "--state", str(service.folder),
               "--host", endpoint.host, "--port", str(endpoint.port), "--user", service.config.digipoort_user,
               "--password", service.config.digipoort_password, "--ca", str(run.runtime.tls.ca_cert),
               "--at", run.clock.now().isoformat(), "send-receive"]
    done = subprocess.run(command, env={**os.environ, CRASH_ENV: crash_at}, capture_output=True, text=True,
                          timeout=120)
    if done.returncode != 137:
        raise RuntimeError(f"the hub was to die at {crash_at} but exited {done.returncode}: "
                           f"{(done.stderr or done.stdout).strip()[-500:]}")
