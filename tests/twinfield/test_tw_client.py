"""The thin client against the simulator: token refresh before expiry on the injected clock, the cluster
from accesstokenvalidation, a retry after fault 354, errors carrying Twinfield's texts."""

from __future__ import annotations

from datetime import timedelta

import pytest

from clients.twinfield import OAuthError, TwinfieldClient, TwinfieldError


def test_the_client_finds_the_cluster_and_refreshes_before_the_hour_is_over(tw):
    client = tw.client()
    assert client.cluster_url == tw.base and client.refreshes == 0
    first = client.tokens.access_token
    tw.advance("54m")
    client.list_offices()
    assert client.refreshes == 0 and client.tokens.access_token == first
    tw.advance("1m1s")  # within the five minutes before expiry: refresh first
    client.list_offices()
    assert client.refreshes == 1 and client.tokens.access_token != first
    assert client.tokens.expires_at == tw.clock.now() + timedelta(hours=1)


def test_a_token_that_died_early_is_refreshed_once_after_fault_354(tw):
    stored = []
    client = tw.client(on_tokens=stored.append)
    client.list_offices()  # the client knows its cluster now
    tw.model.auth.expire()  # the token-expiry helper: every access token dies now
    assert client.list_offices() == [("NLA000001", "Webwinkel BV")]
    assert client.refreshes == 1 and stored == [client.tokens]
    faults = tw.runtime.journal.entries(kind="soap.fault")
    assert [f["faultstring"] for f in faults] == ["Access denied. Token invalid."]


def test_a_client_whose_token_died_before_its_first_call_refreshes_to_find_the_cluster(tw):
    client = tw.client()
    tw.model.auth.expire()
    assert client.list_offices() == [("NLA000001", "Webwinkel BV")] and client.refreshes == 1
    assert tw.runtime.journal.entries(kind="soap.fault") == []


def test_without_a_refresh_token_an_expired_client_says_so(tw):
    oauth = tw.oauth()
    tokens = oauth.login("KOPPELSIM", "koppeling", "koppeling-secret", scope="openid twf.user twf.organisation")
    client = TwinfieldClient(oauth, tokens, tw.clock, office="NLA000001")
    tw.advance("2h")
    with pytest.raises(OAuthError) as expired:
        client.list_offices()
    assert expired.value.error == "no_refresh_token"


def test_errors_carry_every_message_with_element_and_value(tw, customer):
    client = tw.client()
    with pytest.raises(TwinfieldError) as refused:
        client.post_transaction("VRK", [
            {"type": "total", "dim1": "1300", "dim2": "4000", "debitcredit": "debit", "value": "121.00"},
            {"type": "detail", "dim1": "8000", "debitcredit": "credit", "value": "100.00", "vatcode": "21"}],
            invoicenumber="E1")
    assert str(refused.value) == ("De boeking is niet in balans. Er ontbreekt 21.00 credit. - De boeking balanceert "
                                  "niet in de basisvaluta. Er ontbreekt 21.00 credit. - vatcode(21): Btw 21 bestaat "
                                  "niet of is (nog) niet actief.")
    assert refused.value.response.get("result") == "0"


def test_a_revoked_refresh_token_stops_the_client(tw):
    client = tw.client()
    tw.model.auth.revoke(client.tokens.refresh_token)
    tw.advance("1h")
    with pytest.raises(OAuthError) as refused:
        client.list_offices()
    assert refused.value.error == "invalid_grant"
