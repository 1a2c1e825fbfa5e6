"""The login host: ``/auth/authentication/connect/{authorize,token,accesstokenvalidation,userinfo}``.

``authorize`` shows a real HTML login form (organisation, user, password), then a consent page, then
redirects to the client's registered ``redirect_uri`` with ``code``, ``scope``, ``state`` and
``session_state`` - the way IdentityServer (behind login.twinfield.com) does. An unknown client or a
redirect URI that is not registered gets an error page, never a redirect. The token endpoint answers
``{id_token, access_token, expires_in: 3600, token_type: "Bearer", refresh_token}``; errors are
``{"error": "invalid_grant"}`` and the like with status 400.
"""

from __future__ import annotations

import base64
import binascii
import html
from typing import TYPE_CHECKING, Callable
from urllib.parse import unquote

from flask import Blueprint, Response, jsonify, redirect, request

from .authorize import OAuthError

if TYPE_CHECKING:
    from .models import TwinfieldModel

PREFIX = "/auth/authentication"

_PAGE = """<!DOCTYPE html>
<html lang="nl"><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:sans-serif;max-width:28em;margin:4em auto}} label{{display:block;margin:.6em 0}}
input[type=text],input[type=password]{{width:100%}} .error{{color:#a00}}</style></head>
<body><h1>{title}</h1>{body}<p><small>koppelsim - Twinfield simulator</small></p></body></html>"""


def _page(title: str, body: str, status: int = 200) -> Response:
    return Response(_PAGE.format(title=html.escape(title), body=body), status=status,
                    content_type="text/html; charset=utf-8")


def _login_form(request_id: str, error: str = "", organisation: str = "", user: str = "") -> Response:
    problem = f'<p class="error">{html.escape(error)}</p>' if error else ""
    body = (f'{problem}<form method="post" action="{PREFIX}/login">'
            f'<input type="hidden" name="request" value="{html.escape(request_id)}">'
            f'<label>Organisatie <input type="text" name="organisation" value="{html.escape(organisation)}"></label>'
            f'<label>Gebruikersnaam <input type="text" name="username" value="{html.escape(user)}"></label>'
            f'<label>Wachtwoord <input type="password" name="password"></label>'
            f'<button type="submit">Inloggen</button></form>')
    return _page("Inloggen bij Twinfield", body, 200 if not error else 401)


def _consent_form(request_id: str, client_name: str, scopes: list[str]) -> Response:
    items = "".join(f"<li>{html.escape(s)}</li>" for s in scopes)
    body = (f"<p>{html.escape(client_name)} vraagt toegang tot uw Twinfield-administraties:</p><ul>{items}</ul>"
            f'<form method="post" action="{PREFIX}/consent">'
            f'<input type="hidden" name="request" value="{html.escape(request_id)}">'
            f'<button type="submit" name="decision" value="allow">Toestaan</button> '
            f'<button type="submit" name="decision" value="deny">Weigeren</button></form>')
    return _page("Toestemming", body)


def _client_credentials() -> tuple[str | None, str | None]:
    """Basic auth or the form's client_id/client_secret (both are accepted by the real endpoint)."""
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(header[6:].strip()).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None, None
        client_id, _, secret = decoded.partition(":")
        return unquote(client_id), unquote(secret)
    return request.form.get("client_id"), request.form.get("client_secret")


def _oauth_error(err: OAuthError) -> Response:
    body = {"error": err.error}
    response = jsonify(body)
    response.status_code = err.status
    response.headers["Cache-Control"] = "no-store"
    return response


def create_login_blueprint(model: "TwinfieldModel", journal: Callable[..., None]) -> Blueprint:
    bp = Blueprint("twinfield_login", __name__)
    auth = model.auth
    flow = auth.authorize  # the login request between the pages

    @bp.get(f"{PREFIX}/connect/authorize")
    def authorize():
        params = request.args.to_dict()
        try:
            flow.check_authorize(params)
        except OAuthError as err:
            journal("oauth.authorize", client_id=params.get("client_id"), error=err.error)
            return _page("Fout", f'<p class="error">{html.escape(err.description or err.error)}</p>', 400)
        problem = flow.redirect_error(params)
        if problem:
            return redirect(problem, 302)
        journal("oauth.authorize", client_id=params.get("client_id"), scope=params.get("scope"))
        return _login_form(flow.start_login(params))

    @bp.post(f"{PREFIX}/login")
    def login():
        request_id = request.form.get("request", "")
        pending = flow.login_request(request_id)
        if pending is None:
            return _page("Fout", '<p class="error">Deze inlogpoging is verlopen; begin opnieuw.</p>', 400)
        organisation, user = request.form.get("organisation", ""), request.form.get("username", "")
        if not flow.submit_credentials(request_id, organisation, user, request.form.get("password", "")):
            journal("oauth.login", user=user, organisation=organisation, result="invalid")
            # [CHOSEN] the text; the real page's wording is not in the public record
            return _login_form(request_id, "Ongeldige combinatie van organisatie, gebruikersnaam en wachtwoord.",
                               organisation, user)
        journal("oauth.login", user=user, organisation=organisation, result="ok")
        client = model.directory.client(pending["params"]["client_id"]) or {}
        return _consent_form(request_id, client.get("name", ""), (pending["params"].get("scope") or "").split())

    @bp.post(f"{PREFIX}/consent")
    def consent():
        try:
            target = flow.consent(request.form.get("request", ""), request.form.get("decision") == "allow")
        except OAuthError as err:
            return _page("Fout", f'<p class="error">{html.escape(err.description or err.error)}</p>', 400)
        journal("oauth.consent", decision=request.form.get("decision"))
        return redirect(target, 302)

    @bp.post(f"{PREFIX}/connect/token")
    def token():
        grant = request.form.get("grant_type")
        try:
            client = auth.client_from(*_client_credentials())
            if grant == "authorization_code":
                answer = auth.token_from_code(client, request.form.get("code"), request.form.get("redirect_uri"))
            elif grant == "refresh_token":
                answer = auth.token_from_refresh(client, request.form.get("refresh_token"))
            else:
                raise OAuthError("unsupported_grant_type")
        except OAuthError as err:
            journal("oauth.token", grant_type=grant, error=err.error)
            return _oauth_error(err)
        journal("oauth.token", grant_type=grant, client_id=client["client_id"], result="issued")
        response = jsonify(answer)
        response.headers["Cache-Control"] = "no-store"
        return response

    @bp.get(f"{PREFIX}/connect/accesstokenvalidation")
    def validation():
        try:
            claims = auth.validation(request.args.get("token"))
        except OAuthError as err:
            journal("oauth.validation", error=err.error)
            response = jsonify({"Message": err.error})
            response.status_code = 400
            return response
        journal("oauth.validation", result="valid", organisation=claims.get("twf.organisationCode"))
        return jsonify(claims)

    @bp.route(f"{PREFIX}/connect/userinfo", methods=["GET", "POST"])
    def userinfo():
        header = request.headers.get("Authorization", "")
        token = header[7:].strip() if header.lower().startswith("bearer ") else request.form.get("access_token")
        try:
            return jsonify(auth.userinfo(token))
        except OAuthError:
            response = Response(status=401)
            response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
            return response

    @bp.get(f"{PREFIX}/.well-known/openid-configuration")
    def discovery():
        base = f"{auth.login_url}{PREFIX}"
        return jsonify({
            "issuer": auth.issuer, "authorization_endpoint": f"{base}/connect/authorize",
            "token_endpoint": f"{base}/connect/token", "userinfo_endpoint": f"{base}/connect/userinfo",
            "scopes_supported": ["openid", "twf.user", "twf.organisation", "twf.organisationUser", "offline_access"],
            "response_types_supported": ["code"], "grant_types_supported": ["authorization_code", "refresh_token"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        })

    return bp
