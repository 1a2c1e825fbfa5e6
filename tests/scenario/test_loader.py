"""The scenario loader: good files load, bad ones fail with file, line, field and a plain message."""

from __future__ import annotations

import json
import pickle
import textwrap
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from simulators.scenario.loader import (
    MAX_SCENARIO_BYTES,
    ScenarioError,
    discover,
    format_field_path,
    load_scenario,
)
from simulators.scenario.vocabulary import Vocabulary, build_schema, core_vocabulary

ACCOUNT = {
    "type": "object",
    "properties": {"user": {"type": "string"}, "password": {"type": "string"}},
    "required": ["user", "password"],
    "additionalProperties": False,
}


def demo_vocabulary() -> Vocabulary:
    """A stand-in simulator with one given section, one step and one expectation."""
    vocab = Vocabulary()
    vocab.given("demo", {"type": "object", "properties": {"accounts": {"type": "array", "items": ACCOUNT}},
                         "additionalProperties": False}, lambda context, value: None)

    @vocab.step("demo.submit", {
        "type": "object",
        "properties": {"payload": {"type": "string"},
                       "berichtsoort": {"enum": ["Omzetbelasting", "Loonheffingen"]}},
        "required": ["payload"],
        "additionalProperties": False,
    })
    def submit(context: object, args: object) -> None:
        """Submit a message to the demo counterpart."""

    @vocab.expectation("demo.status", {"enum": ["delivered", "rejected"]})
    def status(context: object, expected: object) -> None:
        """Status of the last message."""

    return vocab


@pytest.fixture
def vocab() -> Vocabulary:
    merged = core_vocabulary()
    merged.merge(demo_vocabulary())
    return merged


@pytest.fixture
def write(tmp_path: Path):
    def write(text: str, name: str = "scenario.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return write


GOOD = """
    name: VAT return rejected by the Belastingdienst
    description: two hours after transport
    tags: [digipoort, rejection]
    given:
      clock: 2026-11-20T09:00:00+01:00
      demo:
        accounts: [{user: acme, password: s3cret}]
    steps:
      - demo.submit: {payload: x.xbrl, berichtsoort: Omzetbelasting}
      - advance: 5m
      - set_clock: 2026-11-21T10:00:00Z
      - expect: {demo.status: delivered}
      - advance: 90
    expect:
      demo.status: rejected
      journal: {no: [{kind: ftp.reply, code: "5*"}], count: {pattern: {kind: x}, at_least: 1}}
"""


def test_good_scenario_loads_with_lines(vocab, write):
    scenario = load_scenario(write(GOOD), vocab)
    assert scenario.name == "VAT return rejected by the Belastingdienst"
    assert scenario.description == "two hours after transport"
    assert scenario.tags == ["digipoort", "rejection"]
    assert scenario.given["demo"] == {"accounts": [{"user": "acme", "password": "s3cret"}]}
    assert [(s.index, s.action, s.line) for s in scenario.steps] == [
        (0, "demo.submit", 9), (1, "advance", 10), (2, "set_clock", 11), (3, "expect", 12),
        (4, "advance", 13)]
    assert scenario.steps[0].args == {"payload": "x.xbrl", "berichtsoort": "Omzetbelasting"}
    assert scenario.steps[4].args == 90
    assert scenario.expect_line == 14
    assert scenario.expect_lines == {"demo.status": 15, "journal": 16}
    # `no:` is the key "no", not YAML 1.1's False
    assert scenario.expect["journal"]["no"] == [{"kind": "ftp.reply", "code": "5*"}]


def test_minimal_scenario_has_empty_sections(vocab, write):
    scenario = load_scenario(write("name: only a name\n"), vocab)
    assert (scenario.description, scenario.tags, scenario.given, scenario.steps, scenario.expect) == (
        "", [], {}, [], {})
    assert scenario.expect_line == 0


def test_datetimes_are_normalised_to_iso_text(vocab, write):
    scenario = load_scenario(write(GOOD), vocab)
    assert scenario.given["clock"] == "2026-11-20T09:00:00+01:00"
    assert scenario.steps[2].args == "2026-11-21T10:00:00+00:00"
    assert isinstance(scenario.given["clock"], str)


def test_quoted_and_zone_less_instants_are_accepted(vocab, write):
    scenario = load_scenario(write("""
        name: x
        given: {clock: "2026-11-20T09:00:00"}
        steps: [{set_clock: 2026-11-21}]
    """), vocab)
    assert scenario.given["clock"] == "2026-11-20T09:00:00"
    assert scenario.steps[0].args == "2026-11-21"


def test_yaml_12_scalars(vocab, write):
    scenario = load_scenario(write("""
        name: x
        description: 0301
        tags: [no, yes, NO, "on"]
    """), vocab)
    assert scenario.description == "0301"  # not octal 193
    assert scenario.tags == ["no", "yes", "NO", "on"]  # not booleans


@pytest.mark.parametrize("duration", ["90s", "5m", "2h", "1h30m", "3d", "PT2H", 90, 1.5, "0s"])
def test_valid_durations(vocab, write, duration):
    scenario = load_scenario(write(f"name: x\nsteps:\n  - advance: {duration}\n"), vocab)
    assert scenario.steps[0].args == duration


def error_of(vocab, path: Path) -> ScenarioError:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path, vocab)
    return caught.value


def test_error_text_is_file_line_field_message(vocab, write):
    path = write("""
        name: x
        steps:
          - advance: 5m
          - advance: 5m
          - advance: 2x
    """)
    error = error_of(vocab, path)
    assert str(error).startswith(f"{path}:5: steps[2].advance: '2x' is not a valid duration (use e.g. 90s")
    assert (error.line, error.field) == (5, "steps[2].advance")


BAD = {
    "unknown step with suggestion": (
        """
        name: x
        steps:
          - advance: 5m
          - demo.sumbit: {payload: a}
        """,
        4, "steps[1]",
        "unknown step 'demo.sumbit' (did you mean 'demo.submit'?); "
        "known steps: advance, demo.submit, expect, set_clock",
    ),
    "missing name": ("steps: []", 1, "", "missing required top-level key 'name'"),
    "unknown top-level key": (
        "name: x\ncolour: red", 2, "", "unknown top-level key 'colour'; known top-level keys: description,"),
    "list expected": ("name: x\ntags: digipoort", 2, "tags", "expected a list, got text 'digipoort'"),
    "empty name": ("name:", 1, "name", "expected text, got nothing"),
    "not a mapping": ("- name: x", 1, "", "expected a mapping (key: value), got a list"),
    "nested missing field": (
        """
        name: x
        given:
          demo:
            accounts:
              - user: a
                password: b
              - user: c
        """,
        7, "given.demo.accounts[1]", "missing required field 'password'",
    ),
    "nested unknown field": (
        """
        name: x
        given:
          demo:
            accounts:
              - user: a
                pasword: b
        """,
        6, "given.demo.accounts[0]", "unknown field 'pasword' (did you mean 'password'?)",
    ),
    "unknown given section": (
        "name: x\ngiven:\n  dmeo: {}", 3, "given", "unknown given section 'dmeo' (did you mean 'demo'?)"),
    "arguments not indented": (
        """
        name: x
        steps:
          - demo.submit:
            payload: a
        """,
        3, "steps[0]", "expected exactly one step, found 2: demo.submit, payload; "
                       "if the others are arguments, indent them under 'demo.submit'",
    ),
    "step as bare word": (
        "name: x\nsteps:\n  - advance", 3, "steps[0]", "expected a step written as '- action: arguments'"),
    "empty step": ("name: x\nsteps:\n  - {}", 3, "steps[0]", "a step needs an action"),
    "bad step argument value": (
        "name: x\nsteps:\n  - demo.submit: {payload: a, berichtsoort: Omzetbelastig}",
        3, "steps[0].demo.submit.berichtsoort",
        "'Omzetbelastig' is not one of: Omzetbelasting, Loonheffingen (did you mean 'Omzetbelasting'?)",
    ),
    "negative advance": ("name: x\nsteps:\n  - advance: -5", 3, "steps[0].advance", "must be at least 0"),
    "bad clock": (
        "name: x\ngiven:\n  clock: 2026-13-40T09:00:00", 3, "given.clock",
        "'2026-13-40T09:00:00' is not a valid ISO 8601 date-time",
    ),
    "bad set_clock": (
        "name: x\nsteps:\n  - set_clock: tomorrow", 3, "steps[0].set_clock",
        "'tomorrow' is not a valid ISO 8601 date-time",
    ),
    "unknown expectation in step": (
        "name: x\nsteps:\n  - expect: {demo.staus: delivered}", 3, "steps[0].expect",
        "unknown expectation 'demo.staus' (did you mean 'demo.status'?); "
        "known expectations: demo.status, journal",
    ),
    "unknown expectation at the end": (
        "name: x\nexpect:\n  jurnal: {}", 3, "expect",
        "unknown expectation 'jurnal' (did you mean 'journal'?)",
    ),
    "journal pattern of the wrong kind": (
        "name: x\nexpect:\n  journal: {has: ftp.reply}", 3, "expect.journal.has",
        "expected a pattern (field: value) or a list of patterns, got text 'ftp.reply'",
    ),
    "journal list item of the wrong kind": (
        """
        name: x
        expect:
          journal:
            no:
              - {kind: ftp.reply}
              - nope
        """,
        6, "expect.journal.no[1]", "expected a mapping (key: value), got text 'nope'",
    ),
    "journal count without a bound": (
        "name: x\nexpect:\n  journal: {count: {pattern: {kind: x}}}", 3, "expect.journal.count",
        "count needs 'equals', 'at_least' or 'at_most' next to 'pattern'",
    ),
    "first problem in the file wins": (
        """
        name: x
        steps:
          - advance: 2x
        colour: red
        """,
        3, "steps[0].advance", "'2x' is not a valid duration",
    ),
}


@pytest.mark.parametrize("text, line, field, message", BAD.values(), ids=BAD.keys())
def test_errors_name_line_field_and_cause(vocab, write, text, line, field, message):
    error = error_of(vocab, write(text))
    assert (error.line, error.field) == (line, field), str(error)
    assert message in error.message
    assert "is not valid under any of the given schemas" not in error.message


def test_aliases_are_refused_before_expansion(vocab, write):
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"{c}: &{c} [" + ", ".join([f"*{chr(ord(c) - 1)}"] * 9) + "]" for c in "bcdefghi"]
    error = error_of(vocab, write("\n".join(lines) + "\nname: x\n"))
    assert error.line == 2
    assert "YAML aliases (*a) are not supported in scenarios" in error.message


def test_merge_keys_are_refused(vocab, write):
    error = error_of(vocab, write("name: x\ngiven: {<<: {clock: 2026-11-20}}"))
    assert "merge keys" in error.message


def test_duplicate_keys(vocab, write):
    error = error_of(vocab, write("name: x\nsteps: []\nname: y\n"))
    assert (error.line, error.message) == (3, "duplicate key 'name' (first on line 1)")


def test_nested_duplicate_keys(vocab, write):
    error = error_of(vocab, write("""
        name: x
        steps:
          - demo.submit:
              payload: a
              payload: b
    """))
    assert (error.line, error.field) == (5, "steps[0].demo.submit")
    assert "duplicate key 'payload' (first on line 4)" in error.message


def test_files_over_the_size_limit_are_refused(vocab, tmp_path):
    path = tmp_path / "big.yaml"
    path.write_text("name: x\ndescription: " + "a" * MAX_SCENARIO_BYTES + "\n")
    error = error_of(vocab, path)
    assert "larger than 1 MB" in str(error)


@pytest.mark.parametrize("text", ["", "# only a comment\n", "---\n"])
def test_empty_file(vocab, write, text):
    assert "the file is empty" in str(error_of(vocab, write(text)))


def test_yaml_syntax_error_has_the_line(vocab, write):
    error = error_of(vocab, write("name: x\nsteps:\n  - advance: 5m\n - advance: 3m\n"))
    assert error.line == 4
    assert error.message.startswith("YAML syntax error:")


def test_tabs_get_a_hint(vocab, write):
    error = error_of(vocab, write("name: x\nsteps:\n\t- advance: 5m\n"))
    assert error.line == 3
    assert "indent with spaces" in error.message


def test_two_documents_are_refused(vocab, write):
    error = error_of(vocab, write("name: x\n---\nname: y\n"))
    assert (error.line, "one YAML document" in error.message) == (2, True)


@pytest.mark.parametrize("tag", ["!!python/object:os.system", "!!binary", "!custom"])
def test_unsafe_or_unknown_tags_are_refused(vocab, write, tag):
    error = error_of(vocab, write(f"name: x\ndescription: {tag} aGVsbG8=\n"))
    assert (error.line, error.field) == (2, "description")
    assert "is not supported in scenarios" in error.message


def test_not_utf8(vocab, tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("name: x\ndescription: caf\u00e9\n".encode("latin-1"))
    error = error_of(vocab, path)
    assert (error.line, "UTF-8" in error.message) == (2, True)


def test_missing_file(vocab, tmp_path):
    assert str(error_of(vocab, tmp_path / "nope.yaml")) == f"{tmp_path / 'nope.yaml'}: file does not exist"


def test_scenario_error_pickles():
    error = ScenarioError("a.yaml", "boom", 3, "steps[0]")
    copy = pickle.loads(pickle.dumps(error))
    assert str(copy) == str(error) == "a.yaml:3: steps[0]: boom"


def test_field_paths():
    assert format_field_path(["given", "demo", "accounts", 0, "user"]) == "given.demo.accounts[0].user"
    assert format_field_path(["steps", 2, "advance"]) == "steps[2].advance"
    assert format_field_path(["given", "a b"]) == "given['a b']"
    assert format_field_path([]) == ""


# ------------------------------------------------------------------------------------- discover

def test_discover_folders_recursively_sorted_and_files(tmp_path):
    for name in ["b/two.yaml", "a/one.yml", "a/zz/three.yaml", "a/notes.txt", "a/.hidden/x.yaml", "c.yaml"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("name: x\n")
    found = discover([tmp_path / "a", tmp_path / "b", str(tmp_path / "c.yaml"), tmp_path / "a/one.yml"])
    assert [p.relative_to(tmp_path).as_posix() for p in found] == [
        "a/one.yml", "a/zz/three.yaml", "b/two.yaml", "c.yaml"]


def test_discover_names_a_missing_path(tmp_path):
    with pytest.raises(ScenarioError, match="nowhere"):
        discover([tmp_path / "nowhere"])


def test_discover_refuses_a_named_non_yaml_file(tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(ScenarioError, match="not a scenario file"):
        discover([tmp_path / "notes.txt"])


# ----------------------------------------------------------------------------------- vocabulary

def test_schema_is_valid_json_schema_and_serialisable(vocab):
    schema = build_schema(vocab)
    Draft202012Validator.check_schema(schema)
    assert json.loads(json.dumps(schema)) == schema
    step_names = schema["properties"]["steps"]["items"]["properties"]
    assert sorted(step_names) == ["advance", "demo.submit", "expect", "set_clock"]
    assert step_names["demo.submit"]["description"] == "Submit a message to the demo counterpart."


def test_words_cannot_be_registered_twice(vocab):
    with pytest.raises(ValueError, match="registered twice"):
        vocab.merge(demo_vocabulary())
    with pytest.raises(ValueError, match="registered twice"):
        vocab.step("advance", {})(lambda context, args: None)


def test_invalid_schema_is_refused_at_registration():
    with pytest.raises(ValueError, match="invalid JSON Schema"):
        Vocabulary().step("demo.x", {"type": "nonsense"})


def test_core_handlers_wait_for_the_runner():
    core = core_vocabulary()
    assert sorted(core.step_specs) == ["advance", "expect", "set_clock"]
    assert sorted(core.given_specs) == ["clock"] and sorted(core.expect_specs) == ["journal"]
    with pytest.raises(NotImplementedError):
        core.step_specs["advance"].handler(None, "5m")


def test_a_control_character_is_a_scenario_error_naming_the_line(tmp_path, vocab):
    path = tmp_path / "bell.yaml"
    path.write_bytes(b"name: ok\ndescription: a bell \x07 here\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, vocab)
    assert info.value.line == 2
