"""Admin routes of the Digipoort simulator, under ``/api/digipoort/``."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from ..core.admin import build_request, json_body
from ..core.errors import BadRequest, KoppelsimError, NotFound
from ..core.openapi import doc
from .config import Account
from .errors import FAULTS, STATUSES, STS100
from .models import DigipoortModel
from .outcomes import STUBS, validate_answer_action


class StatusUnavailable(KoppelsimError):
    http_status = 503


def create_blueprint(model: DigipoortModel) -> Blueprint:
    bp = Blueprint("digipoort", __name__)

    @bp.get("/accounts")
    def accounts():
        """Digipoort accounts (passwords are not shown)."""
        return jsonify(model.accounts())

    @bp.post("/accounts")
    @doc(status=201, body={"type": "object", "required": ["user", "password"], "properties": {
        "user": {"type": "string"}, "password": {"type": "string"},
        "berichtsoorten": {"type": ["array", "null"], "items": {"type": "string"}},
        "identities": {"type": ["array", "object", "null"],
                       "description": "belanghebbenden: one list, or a list per berichtsoort ('*' for the rest)"}}})
    def add_account():
        """Create or update an account; its IN and OUT folders are created."""
        account = build_request(Account, json_body())
        return jsonify(model.put_account(account)), 201

    @bp.delete("/accounts/<user>")
    def delete_account(user: str):
        """Remove an account (its files stay until a reset)."""
        model.delete_account(user)
        return jsonify({"removed": user})

    @bp.get("/submissions")
    @doc(query={"user": "account", "berichtsoort": "e.g. Omzetbelasting", "aanleverkenmerk": "sender's reference",
                "phase": "refused | delivering | delivered | accepted | rejected", "context_id": "sender data-reference id"})
    def submissions():
        """Every submission with its status sequence, newest last."""
        return jsonify(model.submissions(**request.args.to_dict()))

    @bp.get("/submissions/<kenmerk>")
    def submission(kenmerk: str):
        """One submission: meta data, phase, statuses, the decided plan and the answer."""
        return jsonify(model.submission(kenmerk))

    @bp.get("/submissions/<kenmerk>/statuses")
    def statuses(kenmerk: str):
        """The status list as WUS getStatussenProces gives it (the test stubs' status faults apply)."""
        sub = model.submission(kenmerk)
        view = (sub["plan"] or {}).get("status_view", "normal")
        if view == "fault":
            raise KoppelsimError(STS100.text.strip(), code=STS100.code, foutcode=STS100.code)
        if view == "overloaded":
            raise StatusUnavailable("De statusinformatieservice is overbelast; probeer het later opnieuw.",
                                    code="overloaded")
        return jsonify(sub["statuses"])

    @bp.get("/submissions/<kenmerk>/payload")
    def payload(kenmerk: str):
        """The data file of an accepted submission, as Digipoort received it."""
        sub = model.submission(kenmerk)
        path = model.archive_path(kenmerk)
        if not path.is_file():
            raise NotFound(f"submission {kenmerk} has no stored payload (it was {sub['phase']})")
        return Response(path.read_bytes(), mimetype="application/octet-stream",
                        headers={"Content-Disposition": f'attachment; filename="{sub["filename"]}"'})

    @bp.post("/submissions/<kenmerk>/answer")
    @doc(body={"type": "object", "properties": {
        "outcome": {"enum": ["accepted", "rejected", "delivery_failed", "technical_problem",
                             "max_delivery_attempts"]},
        "code": {"type": "string"}, "text": {"type": "string"}}})
    def answer(kenmerk: str):
        """Answer a waiting submission now (QA by hand): accepted, rejected with code and text, ..."""
        body = json_body(optional=True)
        try:
            validate_answer_action(body)
        except ValueError as exc:
            raise BadRequest(str(exc)) from exc
        return jsonify(model.answer_now(kenmerk, body))

    @bp.get("/files/<user>/<folder>")
    def files(user: str, folder: str):
        """What is in an account's IN or OUT right now."""
        return jsonify(model.files(user, folder))

    @bp.get("/recipients")
    def recipients():
        """The institutions behind Digipoort, the berichtsoorten each receives and its answer delay."""
        return jsonify({"recipients": [r.as_public_dict() for r in model.config.recipients],
                        "default_recipient": model.config.default_recipient})

    @bp.post("/files/<user>/OUT/<name>")
    def place(user: str, name: str):
        """QA: put a file of your choosing in an account's OUT (body = the bytes), e.g. a stray answer."""
        model.place_in_out(user, name, request.get_data())
        return jsonify({"placed": name}), 201

    @bp.get("/codes")
    def codes():
        """Fault codes, status codes and test stubs this simulator uses, each with its provenance."""
        return jsonify({
            "faults": [{"code": f.code, "text": f.text, "meaning": f.meaning, "provenance": f.provenance}
                       for f in FAULTS.values()],
            "statuses": [{"code": s.code, "text": s.text, "final": s.final, "provenance": s.provenance}
                         for s in STATUSES.values()],
            "stubs": [{"aanleverkenmerk": s.name, "behaviour": s.behaviour} for s in STUBS.values()],
        })

    return bp
