"""The login host over real HTTP: the HTML login page driven like a browser, the code flow, refresh,
accesstokenvalidation (with the cluster URL), userinfo, expiry after one hour of simulated time."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re

import pytest
import requests

from clients.twinfield import OAuthError
from simulators.twinfield.authorize import OAuthError as GrantRefused

AUTH = "/auth/authentication/connect"
SCOPE = "openid twf.user twf.organisation twf.organisationUser offline_access"
TIMEOUT = 10


def authorize(tw, **params):
    query = {"client_id": "koppelsim", "redirect_uri": "http://localhost/callback", "response_type": "code",
             "scope": SCOPE, "state": "s-1", "nonce": "n-1", **params}
    return requests.get(tw.base + AUTH + "/authorize", params=query, timeout=TIMEOUT, allow_redirects=False)


def test_the_login_page_is_a_form_and_posting_it_leads_to_consent_and_a_code(tw, param):
    page = authorize(tw)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    request_id = re.search(r'name="request" value="([0-9a-f]+)"', page.text).group(1)
    assert 'name="password"' in page.text and 'name="organisation"' in page.text
    consent = requests.post(tw.base + "/auth/authentication/login", timeout=TIMEOUT, data={
        "request": request_id, "organisation": "KOPPELSIM", "username": "koppeling", "password": "koppeling-secret"})
    assert consent.status_code == 200 and 'value="allow"' in consent.text
    answer = requests.post(tw.base + "/auth/authentication/consent", data={"request": request_id, "decision": "allow"},
                           timeout=TIMEOUT, allow_redirects=False)
    assert answer.status_code == 302
    location = answer.headers["Location"]
    assert location.startswith("http://localhost/callback?")
    assert param(location, "state") == "s-1" and re.fullmatch(r"[0-9a-f]{32}", param(location, "code"))
    assert param(location, "scope") is not None and param(location, "session_state") is not None
    token = requests.post(tw.base + AUTH + "/token", auth=("koppelsim", "koppelsim-secret"), timeout=TIMEOUT, data={
        "grant_type": "authorization_code", "code": param(location, "code"), "redirect_uri": "http://localhost/callback"})
    body = token.json()
    assert token.status_code == 200
    assert list(body) == ["id_token", "access_token", "expires_in", "token_type", "refresh_token"]
    assert body["expires_in"] == 3600 and body["token_type"] == "Bearer"
    # the code is spent
    again = requests.post(tw.base + AUTH + "/token", auth=("koppelsim", "koppelsim-secret"), timeout=TIMEOUT, data={
        "grant_type": "authorization_code", "code": param(location, "code"), "redirect_uri": "http://localhost/callback"})
    assert again.status_code == 400 and again.json() == {"error": "invalid_grant"}


def test_a_wrong_password_shows_the_form_again_and_issues_nothing(tw):
    with pytest.raises(OAuthError) as refused:
        tw.login(password="wrong")
    assert refused.value.error == "access_denied" and "Ongeldige combinatie" in str(refused.value)
    assert tw.model.auth.tokens() == []


def test_denying_consent_redirects_with_access_denied(tw):
    with pytest.raises(OAuthError) as denied:
        tw.login(allow=False)
    assert denied.value.error == "access_denied"


def test_an_unregistered_redirect_uri_or_client_gets_an_error_page_never_a_redirect(tw):
    bad_redirect = authorize(tw, redirect_uri="http://evil.example/steal")
    assert bad_redirect.status_code == 400 and "Location" not in bad_redirect.headers
    unknown = authorize(tw, client_id="nobody")
    assert unknown.status_code == 400 and "unknown" in unknown.text


def test_response_type_and_scope_errors_go_back_to_the_client(tw, param):
    wrong_type = authorize(tw, response_type="token")
    assert wrong_type.status_code == 302 and param(wrong_type.headers["Location"], "error") == "unsupported_response_type"
    wrong_scope = authorize(tw, scope="openid everything")
    assert param(wrong_scope.headers["Location"], "error") == "invalid_scope"
    assert param(wrong_scope.headers["Location"], "state") == "s-1"


def test_the_token_endpoint_takes_the_client_in_the_form_too_and_refuses_a_wrong_secret(tw):
    tokens = tw.login()
    form = requests.post(tw.base + AUTH + "/token", timeout=TIMEOUT, data={
        "grant_type": "refresh_token", "refresh_token": tokens.refresh_token, "client_id": "koppelsim",
        "client_secret": "koppelsim-secret"})
    assert form.status_code == 200 and form.json()["refresh_token"] == tokens.refresh_token  # reusable, not rotated
    wrong = requests.post(tw.base + AUTH + "/token", auth=("koppelsim", "nope"), timeout=TIMEOUT,
                          data={"grant_type": "refresh_token", "refresh_token": tokens.refresh_token})
    assert wrong.status_code == 400 and wrong.json() == {"error": "invalid_client"}
    grant = requests.post(tw.base + AUTH + "/token", auth=("koppelsim", "koppelsim-secret"), timeout=TIMEOUT,
                          data={"grant_type": "password", "username": "koppeling"})
    assert grant.json() == {"error": "unsupported_grant_type"}


def test_accesstokenvalidation_answers_the_claims_with_this_simulator_as_the_cluster(tw):
    tokens = tw.login()
    answer = requests.get(tw.base + AUTH + "/accesstokenvalidation", params={"token": tokens.access_token},
                          timeout=TIMEOUT)
    claims = answer.json()
    assert answer.status_code == 200
    assert claims["twf.clusterUrl"] == tw.base
    assert claims["twf.organisationCode"] == "KOPPELSIM" and claims["twf.organisationUserCode"] == "koppeling"
    assert re.fullmatch(r"[0-9a-f-]{36}", claims["twf.organisationId"])
    assert claims["client_id"] == "koppelsim" and claims["scope"] == SCOPE.split()
    # claims are strings, as in Wolters Kluwer's published example
    assert int(claims["exp"]) - int(claims["nbf"]) == 3600
    assert int(claims["nbf"]) == int(tw.clock.now().timestamp())


def test_an_access_token_expires_after_one_hour_of_simulated_time(tw):
    tokens = tw.login()
    tw.advance("59m59s")
    assert tw.oauth().validate(tokens.access_token)["twf.organisationCode"] == "KOPPELSIM"
    tw.advance("1s")
    answer = requests.get(tw.base + AUTH + "/accesstokenvalidation", params={"token": tokens.access_token},
                          timeout=TIMEOUT)
    assert answer.status_code == 400 and answer.json() == {"Message": "expired_token"}
    garbage = requests.get(tw.base + AUTH + "/accesstokenvalidation", params={"token": "0" * 32}, timeout=TIMEOUT)
    assert garbage.status_code == 400 and garbage.json() == {"Message": "invalid_token"}
    # the refresh token still works after the access token died
    fresh = tw.oauth().refresh(tokens.refresh_token)
    assert fresh.access_token != tokens.access_token
    assert tw.oauth().validate(fresh.access_token)["twf.organisationUserCode"] == "koppeling"


def test_userinfo_needs_a_bearer_token(tw):
    tokens = tw.login()
    ok = requests.get(tw.base + AUTH + "/userinfo", headers={"Authorization": f"Bearer {tokens.access_token}"},
                      timeout=TIMEOUT)
    assert ok.status_code == 200 and ok.json()["twf.organisationUserCode"] == "koppeling" and "sub" in ok.json()
    refused = requests.get(tw.base + AUTH + "/userinfo", headers={"Authorization": "Bearer nope"}, timeout=TIMEOUT)
    assert refused.status_code == 401 and 'invalid_token' in refused.headers["WWW-Authenticate"]


def test_the_id_token_is_a_jwt_for_this_client_with_the_nonce(tw):
    tokens = tw.login()
    header, payload, signature = tokens.id_token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert claims["aud"] == "koppelsim" and claims["twf.organisationCode"] == "KOPPELSIM" and claims["nonce"]
    expected = hmac.new(b"koppelsim-secret", f"{header}.{payload}".encode(), hashlib.sha256).digest()
    assert base64.urlsafe_b64encode(expected).rstrip(b"=").decode() == signature


def test_without_offline_access_there_is_no_refresh_token(tw):
    tokens = tw.login(scope="openid twf.user twf.organisation")
    assert tokens.refresh_token is None and tokens.access_token


def test_an_authorization_code_expires(tw, param):
    page = authorize(tw)
    request_id = re.search(r'name="request" value="([0-9a-f]+)"', page.text).group(1)
    requests.post(tw.base + "/auth/authentication/login", timeout=TIMEOUT, data={
        "request": request_id, "organisation": "KOPPELSIM", "username": "koppeling", "password": "koppeling-secret"})
    answer = requests.post(tw.base + "/auth/authentication/consent", data={"request": request_id, "decision": "allow"},
                           timeout=TIMEOUT, allow_redirects=False)
    tw.advance("6m")
    late = requests.post(tw.base + AUTH + "/token", auth=("koppelsim", "koppelsim-secret"), timeout=TIMEOUT, data={
        "grant_type": "authorization_code", "code": param(answer.headers["Location"], "code"),
        "redirect_uri": "http://localhost/callback"})
    assert late.status_code == 400 and late.json() == {"error": "invalid_grant"}


def test_one_code_gives_one_set_of_tokens_even_when_two_exchanges_race(tw, param, monkeypatch):
    """The second exchange is run at the worst moment: after the first has read the unused code, before it
    spends it. Only one of them may get tokens."""
    page = authorize(tw)
    request_id = re.search(r'name="request" value="([0-9a-f]+)"', page.text).group(1)
    requests.post(tw.base + "/auth/authentication/login", timeout=TIMEOUT, data={
        "request": request_id, "organisation": "KOPPELSIM", "username": "koppeling", "password": "koppeling-secret"})
    answer = requests.post(tw.base + "/auth/authentication/consent", data={"request": request_id, "decision": "allow"},
                           timeout=TIMEOUT, allow_redirects=False)
    code = param(answer.headers["Location"], "code")
    auth = tw.model.auth
    client = tw.model.directory.client("koppelsim")
    read = auth.store.query_dicts
    raced: list = []

    def read_then_race(sql, args=()):
        rows = read(sql, args)
        if "FROM tw_codes" in sql and not raced:
            raced.append(None)  # once: the racing exchange reads the code through here too
            raced[0] = auth.token_from_code(client, code, "http://localhost/callback")
        return rows

    monkeypatch.setattr(auth.store, "query_dicts", read_then_race)
    with pytest.raises(GrantRefused) as second:
        auth.token_from_code(client, code, "http://localhost/callback")
    assert second.value.error == "invalid_grant" and "access_token" in raced[0]
    monkeypatch.undo()
    assert len([t for t in auth.tokens() if t["kind"] == "access"]) == 1


def test_a_consent_posted_twice_at_once_gives_one_code(tw, monkeypatch):
    page = authorize(tw)
    request_id = re.search(r'name="request" value="([0-9a-f]+)"', page.text).group(1)
    requests.post(tw.base + "/auth/authentication/login", timeout=TIMEOUT, data={
        "request": request_id, "organisation": "KOPPELSIM", "username": "koppeling", "password": "koppeling-secret"})
    auth = tw.model.auth.authorize  # the login and consent pages' state
    read = auth.store.query_dicts
    raced: list = []

    def read_then_race(sql, args=()):
        rows = read(sql, args)
        if "FROM tw_login_requests" in sql and not raced:
            raced.append(None)
            raced[0] = auth.consent(request_id, True)
        return rows

    monkeypatch.setattr(auth.store, "query_dicts", read_then_race)
    with pytest.raises(GrantRefused):
        auth.consent(request_id, True)
    monkeypatch.undo()
    assert "code=" in raced[0] and auth.store.query("SELECT COUNT(*) FROM tw_codes")[0][0] == 1


def test_the_discovery_document_names_the_endpoints_here(tw):
    doc = requests.get(tw.base + "/auth/authentication/.well-known/openid-configuration", timeout=TIMEOUT).json()
    assert doc["token_endpoint"] == tw.base + AUTH + "/token"
    assert "twf.organisation" in doc["scopes_supported"]


def login_page(tw) -> str:
    """The request id of a fresh login page."""
    page = authorize(tw)
    return re.search(r'name="request" value="([0-9a-f]+)"', page.text).group(1)


def submit_login(tw, request_id: str) -> requests.Response:
    return requests.post(tw.base + "/auth/authentication/login", timeout=TIMEOUT, allow_redirects=False, data={
        "request": request_id, "organisation": "KOPPELSIM", "username": "koppeling", "password": "koppeling-secret"})


def test_a_login_page_left_open_past_its_lifetime_has_expired(tw):
    request_id = login_page(tw)
    tw.advance("9m")
    assert submit_login(tw, request_id).status_code == 200  # still in time: the consent page
    late = login_page(tw)
    tw.advance("10m")  # login_request_lifetime (simulated time)
    answer = submit_login(tw, late)
    assert answer.status_code == 400 and "verlopen" in answer.text


def test_a_consent_page_past_the_lifetime_gives_no_code(tw):
    request_id = login_page(tw)
    assert submit_login(tw, request_id).status_code == 200
    tw.advance("10m")
    answer = requests.post(tw.base + "/auth/authentication/consent", data={"request": request_id, "decision": "allow"},
                           timeout=TIMEOUT, allow_redirects=False)
    assert answer.status_code == 400 and "code=" not in answer.headers.get("Location", "")


def test_expired_login_requests_and_dead_codes_are_swept_away(tw):
    store = tw.model.store
    for _ in range(3):
        login_page(tw)  # abandoned on the login page
    tw.login()  # one finished login: its code is used
    count = lambda table: store.query(f"SELECT COUNT(*) FROM {table}")[0][0]
    assert count("tw_login_requests") == 3 and count("tw_codes") == 1
    tw.advance("11m")
    login_page(tw)  # every new authorize sweeps
    assert count("tw_login_requests") == 1 and count("tw_codes") == 0


def test_a_scenario_may_shorten_the_login_lifetime(tw):
    tw.sim.configure(login_request_lifetime="1m")
    request_id = login_page(tw)
    tw.advance("61s")
    assert submit_login(tw, request_id).status_code == 400
