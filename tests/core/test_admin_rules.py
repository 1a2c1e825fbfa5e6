"""The admin app's rules compile their URL builders on first use, and build exactly what werkzeug builds."""

from __future__ import annotations

import pytest
from flask import Flask, url_for
from werkzeug.routing import Map, Rule

from simulators.core.admin import LazyBuilderRule

RULES = [
    ("/livez", "livez", {}),
    ("/api/rules/<int:rule_id>", "rule", {"rule_id": 7}),
    ("/api/<name>/files/<path:path>", "file", {"name": "digipoort", "path": "IN/a b/ü.xml"}),
    ("/api/<sim>/accounts", "accounts", {"sim": "cb", "extra": "x y", "many": ["1", "2"]}),
    # Variables named like the builder's own parameters must not clash with them.
    ("/x/<rule>/<self>/<values>", "clash", {"rule": "r", "self": "s", "values": "v"}),
]


def _maps() -> tuple[Map, Map]:
    def rules(cls: type[Rule]) -> list[Rule]:
        made = [cls(path, endpoint=endpoint) for path, endpoint, _ in RULES]
        made.append(cls("/page/", defaults={"page": 1}, endpoint="page"))
        made.append(cls("/page/<int:page>", endpoint="page"))
        return made

    return Map(rules(Rule)), Map(rules(LazyBuilderRule))


@pytest.mark.parametrize("append_unknown", [True, False])
def test_builds_what_werkzeug_builds(append_unknown: bool) -> None:
    eager, lazy = (m.bind("localhost") for m in _maps())
    cases = [(endpoint, values) for _, endpoint, values in RULES] + [("page", {"page": 1}), ("page", {"page": 3})]
    for endpoint, values in cases:
        expected = eager.build(endpoint, dict(values), append_unknown=append_unknown)
        assert lazy.build(endpoint, dict(values), append_unknown=append_unknown) == expected
        assert lazy.build(endpoint, dict(values), append_unknown=append_unknown) == expected  # compiled now


def test_builders_compile_only_when_a_url_is_built(monkeypatch: pytest.MonkeyPatch) -> None:
    compiled = []
    original = Rule._compile_builder

    def counting(self: Rule, *args, **kwargs):
        compiled.append(self.rule)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Rule, "_compile_builder", counting)
    url_map = Map([LazyBuilderRule(path, endpoint=endpoint) for path, endpoint, _ in RULES])
    assert compiled == []
    assert url_map.bind("localhost").build("rule", {"rule_id": 3}) == "/api/rules/3"
    assert compiled == ["/api/rules/<int:rule_id>"]


def test_url_for_in_a_flask_app_with_the_lazy_rules() -> None:
    app = Flask("lazy")
    app.url_rule_class = LazyBuilderRule

    @app.get("/api/rules/<int:rule_id>")
    def rule(rule_id: int):
        return {"url": url_for("rule", rule_id=rule_id, q="a b", _external=True)}

    response = app.test_client().get("/api/rules/5")
    assert response.status_code == 200
    assert response.get_json() == {"url": "http://localhost/api/rules/5?q=a+b"}
    assert isinstance(next(iter(app.url_map.iter_rules("rule"))), LazyBuilderRule)
