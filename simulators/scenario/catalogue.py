"""The full scenario vocabulary: the core words plus every simulator's own, plus the clients' words
(the koppeling drives several simulators at once, so its words live here, not with one simulator)."""

from __future__ import annotations

import importlib

from ..core.runtime import SIMULATORS
from .vocabulary import Vocabulary, build_schema, core_vocabulary

CLIENT_VOCABULARIES = ("simulators.scenario.koppeling",)


def full_vocabulary() -> Vocabulary:
    vocab = core_vocabulary()
    for name in SIMULATORS:
        module = importlib.import_module(f"simulators.{name}.scenario")
        vocab.merge(module.vocabulary())
    for client in CLIENT_VOCABULARIES:
        vocab.merge(importlib.import_module(client).vocabulary())
    return vocab


def scenario_schema() -> dict:
    """What ``koppelsim schema`` prints and ``scenarios/schema.json`` holds (a test keeps them equal)."""
    return build_schema(full_vocabulary())
