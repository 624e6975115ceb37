"""Request-body checking the way ASP.NET's JSON input formatter does it for ServiceTitan.

ASP.NET web defaults read property names case-insensitively, accept numbers written as
strings, read enum names case-insensitively and ignore unknown properties. Anything that
does not convert is a 400 with errors keyed by JSON path ("$.name"). The result is the body
with canonical property names and converted values, so handlers can trust it.
"""

from __future__ import annotations

import re
from typing import Any

from lazi.sandbox.servicetitan.params import parse_datetime

_NUMBER = re.compile(r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$")
_INT = re.compile(r"^\s*[+-]?\d+\s*$")
_NET_TYPES = {
    "integer": "System.Int64",
    "number": "System.Decimal",
    "boolean": "System.Boolean",
    "string": "System.String",
    "array": "System.Collections.Generic.List",
    "object": "System.Object",
}


class BodyErrors(Exception):
    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(errors)
        self.errors = errors


def check_body(body: Any, schema: dict[str, Any], schemas: dict[str, Any]) -> Any:
    errors: dict[str, list[str]] = {}
    value = _check(body, schema, schemas, "$", errors)
    if errors:
        raise BodyErrors(errors)
    return value


def _resolve(schema: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    while "$" in schema:
        nullable = schema.get("n", False)
        schema = {**schemas[schema["$"]], **({"n": True} if nullable else {})}
    return schema


def _fail(errors: dict[str, list[str]], path: str, schema: dict[str, Any]) -> None:
    net = _NET_TYPES.get(schema.get("t", "object"), "System.Object")
    errors.setdefault(path, []).append(
        f"The JSON value could not be converted to {net}. Path: {path} | LineNumber: 0."
    )


def _check(
    value: Any, schema: dict[str, Any], schemas: dict[str, Any], path: str, errors: dict
) -> Any:
    schema = _resolve(schema, schemas)
    if value is None:
        # Value types without `nullable` cannot hold null; reference types (strings,
        # objects, lists) can, as in C#.
        if (
            schema.get("t") in ("integer", "number", "boolean")
            and not schema.get("n")
            and "e" not in schema
        ):
            _fail(errors, path, schema)
        return None
    if "e" in schema:
        if isinstance(value, str):
            for name in schema["e"]:
                if name.lower() == value.strip().lower():
                    return name
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(schema["e"]):
            return schema["e"][value]
        _fail(errors, path, schema)
        return None
    kind = schema.get("t")
    if kind == "object" or "p" in schema:
        return _check_object(value, schema, schemas, path, errors)
    if kind == "array":
        if not isinstance(value, list):
            _fail(errors, path, schema)
            return None
        item = schema.get("i", {})
        return [_check(v, item, schemas, f"{path}[{i}]", errors) for i, v in enumerate(value)]
    if kind == "integer":
        if isinstance(value, bool) or not (
            isinstance(value, int) or (isinstance(value, str) and _INT.match(value))
        ):
            _fail(errors, path, schema)
            return None
        return int(value)
    if kind == "number":
        if isinstance(value, bool) or not (
            isinstance(value, int | float) or (isinstance(value, str) and _NUMBER.match(value))
        ):
            _fail(errors, path, schema)
            return None
        return float(value)
    if kind == "boolean":
        if not isinstance(value, bool):
            _fail(errors, path, schema)
            return None
        return value
    if kind == "string":
        if not isinstance(value, str):
            _fail(errors, path, schema)
            return None
        if schema.get("f") in ("date-time", "date"):
            try:
                parse_datetime(value)
            except ValueError:
                _fail(errors, path, schema)
                return None
        return value
    return value


def _check_object(
    value: Any, schema: dict[str, Any], schemas: dict[str, Any], path: str, errors: dict
) -> Any:
    if not isinstance(value, dict):
        _fail(errors, path, schema)
        return None
    props = schema.get("p", {})
    by_lower = {k.lower(): k for k in props}
    out: dict[str, Any] = {}
    for key, item in value.items():
        name = by_lower.get(key.lower())
        if name is None:
            continue  # unknown members are ignored
        out[name] = _check(item, props[name], schemas, f"{path}.{name}", errors)
    for required in schema.get("r", []):
        # Required means present. Null stays acceptable for reference types (strings,
        # objects, lists), which System.Text.Json binds without complaint; value types
        # already failed conversion above.
        if required not in out:
            label = required[:1].upper() + required[1:]
            errors.setdefault(label, []).append(f"The {label} field is required.")
    return out
