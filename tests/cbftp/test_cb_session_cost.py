"""What makes one CB session cheaper must not change what it does: the login rule checked and noted in
one statement, accounts answered from memory yet always current (Store.write and the journal's batches
are tested in tests/core)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from simulators.cbftp.config import CBAccount
from simulators.core.clock import VirtualClock
from simulators.core.config import config_from_dict
from simulators.core.runtime import Runtime, register_config_sections, settings_for_tests

RELATION, PASSWORD = "7000123", "cb-secret"  # the account CB's configuration seeds


@pytest.fixture
def model(tmp_path):
    """The CB model of a runtime of its own, on a virtual clock (no FTP traffic needed)."""
    register_config_sections()
    settings = settings_for_tests()
    runtime = Runtime(config_from_dict({"state_dir": str(tmp_path / "state"), "admin_port": 0, **settings}),
                      clock=VirtualClock("2026-11-20T09:00:00Z"), only=["mailbox", "cbftp"])
    runtime.start(admin=False)
    try:
        yield runtime.simulators["cbftp"].model
    finally:
        runtime.stop()


# -- accounts from memory -------------------------------------------------------------------------------

def test_a_login_checks_the_password_of_the_account_as_it_is_now(model):
    assert model.login_account(RELATION, PASSWORD).relation_id == RELATION
    assert model.login_account(RELATION, "wrong") is None
    assert model.login_account("7999999", PASSWORD) is None

    model.put_account(CBAccount(relation_id=RELATION, password="new-secret"))  # changed: the old one no longer works
    assert model.login_account(RELATION, PASSWORD) is None
    assert model.login_account(RELATION, "new-secret").relation_id == RELATION

    model.put_account(CBAccount(relation_id="7000456", password="pw", user="shop"))
    assert model.login_account("shop", "pw").relation_id == "7000456"
    assert model.login_account("7000456", "pw") is None  # its own user name, not the relation id

    model.delete_account("7000456")
    assert model.login_account("shop", "pw") is None


def test_after_a_reset_only_the_configured_accounts_log_in(model):
    model.put_account(CBAccount(relation_id="7000456", password="pw"))
    assert model.login_account("7000456", "pw") is not None
    model.reset()
    assert model.login_account("7000456", "pw") is None
    assert model.login_account(RELATION, PASSWORD) is not None


# -- the login rule in one statement ------------------------------------------------------------------

def test_a_login_is_noted_unless_it_comes_within_the_interval_after_the_last_noted_one(model):
    first = model.clock.now()
    assert model.note_login_unless_too_soon(RELATION, first)  # the first login ever
    assert model.last_login(RELATION) == first.replace(microsecond=first.microsecond // 1000 * 1000)

    assert not model.note_login_unless_too_soon(RELATION, first + timedelta(minutes=9, seconds=59, microseconds=999_999))
    assert model.last_login(RELATION) == first  # a refused login is not noted

    at_ten = first + timedelta(minutes=10)  # exactly the interval after: allowed (as "at - previous < 10m" says)
    assert model.note_login_unless_too_soon(RELATION, at_ten)
    assert model.last_login(RELATION) == at_ten


def test_a_login_before_the_last_noted_one_is_too_soon(model):
    """A clock set back (a scenario may) sees the last login in its future: that is within the interval."""
    now = model.clock.now()
    assert model.note_login_unless_too_soon(RELATION, now)
    assert not model.note_login_unless_too_soon(RELATION, now - timedelta(hours=1))
    assert model.last_login(RELATION) == now


def test_a_changed_interval_applies_to_the_next_login(model):
    now = model.clock.now()
    assert model.note_login_unless_too_soon(RELATION, now)
    model.config.login_interval = "1m"
    try:
        assert model.note_login_unless_too_soon(RELATION, now + timedelta(minutes=1))
    finally:
        model.config.login_interval = "10m"
