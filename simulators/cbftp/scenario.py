"""The Centraal Boekhuis words of the scenario language (grown with the CB scenarios)."""

from __future__ import annotations

from ..scenario.vocabulary import Vocabulary


def vocabulary() -> Vocabulary:
    return Vocabulary()
