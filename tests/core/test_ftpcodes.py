"""FTP reply codes by name: each name is checked against its RFC number, and a reply is one line."""

from __future__ import annotations

import pytest

from simulators.core import ftpcodes
from simulators.core.errors import BadRequest, ConfigError, Conflict, KoppelsimError, NotFound

# RFC 959 section 4.2.2 (and RFC 2228 / RFC 4217 for the security replies we do not name here).
RFC_NUMBERS = {
    "SERVICE_READY": 220,
    "CLOSING_CONTROL": 221,
    "TRANSFER_COMPLETE": 226,
    "LOGGED_IN": 230,
    "FILE_ACTION_OK": 250,
    "SERVICE_NOT_AVAILABLE": 421,
    "CANT_OPEN_DATA": 425,
    "TRANSFER_ABORTED": 426,
    "ACTION_NOT_TAKEN_BUSY": 450,
    "LOCAL_ERROR": 451,
    "SYNTAX_ERROR": 500,
    "SYNTAX_ERROR_ARGS": 501,
    "NOT_IMPLEMENTED": 502,
    "BAD_SEQUENCE": 503,
    "NOT_LOGGED_IN": 530,
    "FILE_UNAVAILABLE": 550,
    "EXCEEDED_STORAGE": 552,
    "FILE_NAME_NOT_ALLOWED": 553,
}


@pytest.mark.parametrize(("name", "number"), sorted(RFC_NUMBERS.items()))
def test_each_named_code_is_its_rfc_number(name, number):
    assert getattr(ftpcodes, name) == number


def test_every_named_code_in_the_module_is_checked():
    named = {n for n, v in vars(ftpcodes).items() if n.isupper() and isinstance(v, int)}
    assert named == set(RFC_NUMBERS), "a new code needs its RFC number in this test"


def test_no_two_names_share_a_code():
    values = [getattr(ftpcodes, n) for n in RFC_NUMBERS]
    assert len(values) == len(set(values))


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("Service ready.", "220 Service ready."),
        ("two\r\n530 fake second reply", "220 two 530 fake second reply"),
        ("a\rb\nc", "220 a b c"),
        ("  lots   of\t space  ", "220 lots of space"),
        ("", "220 "),
    ],
)
def test_reply_is_one_line_without_cr_or_lf(text, line):
    out = ftpcodes.reply(ftpcodes.SERVICE_READY, text)
    assert out == line
    assert "\r" not in out and "\n" not in out


# -- errors: a code and a message, one translator per protocol ----------------------------------------


@pytest.mark.parametrize(
    ("cls", "code", "status"),
    [(KoppelsimError, "error", 500), (BadRequest, "bad_request", 400), (NotFound, "not_found", 404),
     (Conflict, "conflict", 409), (ConfigError, "config_error", 400)],
)
def test_error_classes_carry_a_code_and_http_status(cls, code, status):
    err = cls("something is wrong")
    assert (err.code, err.http_status, err.message, str(err)) == (code, status, "something is wrong",
                                                                 "something is wrong")
    assert err.as_dict() == {"code": code, "message": "something is wrong"}


def test_error_code_and_details_can_be_given():
    err = BadRequest("refused", code="ALS140", foutcode="ALS140", size=3)
    assert err.as_dict() == {"code": "ALS140", "message": "refused",
                             "details": {"foutcode": "ALS140", "size": 3}}
    assert BadRequest("x").code == "bad_request"  # the class default is not changed by an instance
