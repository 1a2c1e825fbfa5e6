"""Twinfield scenario words: a setting given in a scenario reaches the model that was built before it."""

from __future__ import annotations

import textwrap

import pytest

from simulators.scenario.catalogue import full_vocabulary
from simulators.scenario.loader import load_scenario
from simulators.scenario.runner import bind_core, run_scenario


@pytest.fixture(scope="module")
def vocab():
    vocabulary = full_vocabulary()
    bind_core(vocabulary)
    return vocabulary


def test_the_vat_tolerance_setting_takes_effect(tmp_path, vocab):
    """A vatvalue 0.04 off the computed 21.00 passes under the default tolerance (0.05) and is a blocking
    warning under 0.01; the setting used to be written to the config only, which the model had already read."""
    path = tmp_path / "tolerance.yaml"
    path.write_text(textwrap.dedent("""
        name: a stricter VAT tolerance refuses a 4 cent difference
        given:
          twinfield:
            settings: {vat_tolerance: "0.01"}
            customers: [{code: "4000", name: Jan Jansen}]
        steps:
          - twinfield.connect: {user: koppeling}
          - twinfield.book:
              journal: VRK
              invoicenumber: "T1"
              date: "20261120"
              fails: "*wijkt af van het berekende btw-bedrag*"
              lines:
                - {type: total, dim1: "1300", dim2: "4000", debitcredit: debit, value: "121.04"}
                - {type: detail, dim1: "8000", debitcredit: credit, value: "100.00", vatcode: VH, vatvalue: "21.04"}
        expect:
          twinfield.bookings: {count: 0}
    """))
    result = run_scenario(load_scenario(path, vocab), vocab)
    assert result.status == "passed", result.message
