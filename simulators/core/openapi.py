"""The admin API describes itself: an OpenAPI 3.1 document built from the Flask routes.

A route's docstring gives the summary (first line) and description (the rest); ``@doc`` adds the
request body schema and query parameters where a route takes them.
"""

from __future__ import annotations

import re
from typing import Any, Callable

from flask import Flask

_CONVERTER = re.compile(r"<(?:(\w+):)?(\w+)>")
_TYPES = {"int": "integer", "float": "number", "path": "string", "string": "string", None: "string"}


def doc(body: dict | None = None, query: dict[str, str] | None = None, status: int = 200) -> Callable:
    """Attach a request body schema, documented query parameters and the success status to a view."""

    def mark(view: Callable) -> Callable:
        view.openapi_body = body  # type: ignore[attr-defined]
        view.openapi_query = query  # type: ignore[attr-defined]
        view.openapi_status = status  # type: ignore[attr-defined]
        return view

    return mark


def build_openapi(app: Flask) -> dict[str, Any]:
    paths: dict[str, dict] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.endpoint == "static":
            continue
        view = app.view_functions[rule.endpoint]
        path = _CONVERTER.sub(lambda m: "{" + m.group(2) + "}", rule.rule)
        params = [
            {"name": m.group(2), "in": "path", "required": True, "schema": {"type": _TYPES.get(m.group(1), "string")}}
            for m in _CONVERTER.finditer(rule.rule)
        ]
        for name, text in (getattr(view, "openapi_query", None) or {}).items():
            params.append({"name": name, "in": "query", "required": False, "description": text,
                           "schema": {"type": "string"}})
        summary, _, description = (view.__doc__ or rule.endpoint).strip().partition("\n")
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            operation: dict[str, Any] = {
                "operationId": f"{rule.endpoint}_{method.lower()}".replace(".", "_"),
                "summary": summary.strip(),
                "responses": {
                    str(getattr(view, "openapi_status", 200)): {"description": "success",
                                                                "content": {"application/json": {}}},
                    "4XX": {"description": "an error: {error: {code, message}}",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
                },
            }
            if description.strip():
                operation["description"] = " ".join(description.split())
            if params:
                operation["parameters"] = params
            body = getattr(view, "openapi_body", None)
            if body is not None and method in ("POST", "PUT", "PATCH"):
                operation["requestBody"] = {"required": True,
                                            "content": {"application/json": {"schema": body}}}
            tag = path.split("/")[2] if path.startswith("/api/") and path.count("/") > 2 else "core"
            operation["tags"] = [tag]
            paths.setdefault(path, {})[method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": "koppelsim admin API", "version": "1",
                 "description": "Control and inspect the simulators: clock, journal, rules, state."},
        "paths": paths,
        "components": {"schemas": {"Error": {
            "type": "object",
            "properties": {"error": {"type": "object", "properties": {
                "code": {"type": "string"}, "message": {"type": "string"}}}},
        }}},
    }
