"""The collector is paused while koppelsim starts, and afterwards everything is collectable as before."""

from __future__ import annotations

import gc

from simulators.cli import _collector_paused, main


def test_paused_inside_and_back_on_after_with_nothing_left_frozen() -> None:
    assert gc.isenabled()
    with _collector_paused():
        assert not gc.isenabled()
        garbage = []
        garbage.append(garbage)  # a cycle made during start-up
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0  # nothing is exempt from later collections
    del garbage
    assert gc.collect() >= 1


def test_a_collector_switched_off_by_the_caller_stays_off() -> None:
    gc.disable()
    try:
        with _collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_back_on_after_a_command(capsys) -> None:
    assert main(["schema"]) == 0
    capsys.readouterr()
    assert gc.isenabled() and gc.get_freeze_count() == 0
