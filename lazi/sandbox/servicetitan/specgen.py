"""Regenerates spec_params.json from the official ServiceTitan OpenAPI files.

The stand-in binds query parameters and validates request bodies exactly as declared in the
official specs, but product code must not depend on the 4 MB of spec files, so the few facts
it needs are distilled into spec_params.json by:

    python -m lazi.sandbox.servicetitan.specgen /path/to/api-specs/servicetitan
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

from lazi.config import API_SPECS_DIR
from lazi.sandbox.servicetitan.routes import READ_ROUTES, WRITE_PATHS, spec_location

OUT = Path(__file__).with_name("spec_params.json")
_SORT_RE = re.compile(
    r"(?:Available fields are|possible values|Supported fields are)[:\s]+([^\n]*)"
)


def _ref_name(schema: dict[str, Any]) -> str | None:
    ref = schema.get("$ref") or (schema.get("oneOf") or schema.get("allOf") or [{}])[0].get("$ref")
    return ref.rsplit("/", 1)[-1] if ref else None


def _param_type(schema: dict[str, Any], schemas: dict[str, Any]) -> Any:
    name = _ref_name(schema)
    if name:
        return _param_type(schemas[name], schemas)
    if "enum" in schema:
        return {"enum": list(schema["enum"])}
    kind, fmt = schema.get("type"), schema.get("format")
    if kind == "array":
        return {"array": _param_type(schema.get("items", {}), schemas)}
    if kind == "integer":
        return "int64" if fmt == "int64" else "int32"
    if kind == "number":
        return "decimal" if fmt == "decimal" else "double"
    if kind == "boolean":
        return "bool"
    if kind == "string" and fmt in ("date-time", "date", "guid"):
        return {"date-time": "datetime"}.get(fmt, fmt)
    return "object" if kind == "object" else "string"


def _compact(schema: dict[str, Any], needed: set[str]) -> dict[str, Any]:
    """Keep only what body validation uses; refs stay refs so recursive schemas terminate."""
    name = _ref_name(schema)
    if name:
        needed.add(name)
        out: dict[str, Any] = {"$": name}
        if schema.get("nullable"):
            out["n"] = True
        return out
    out = {}
    for src, dst in (("type", "t"), ("format", "f"), ("enum", "e"), ("required", "r")):
        if src in schema:
            out[dst] = schema[src]
    if schema.get("nullable"):
        out["n"] = True
    if "properties" in schema:
        out["p"] = {k: _compact(v, needed) for k, v in schema["properties"].items()}
    if "items" in schema:
        out["i"] = _compact(schema["items"], needed)
    if isinstance(schema.get("additionalProperties"), dict):
        out["a"] = _compact(schema["additionalProperties"], needed)
    return out


def _items_of(envelope: str, schemas: dict[str, Any]) -> str:
    data = schemas[envelope].get("properties", {}).get("data")
    if data and data.get("type") == "array":
        return _ref_name(data["items"]) or envelope
    return envelope


def generate(spec_dir: Path) -> dict[str, Any]:
    specs: dict[str, Any] = {}
    ops: dict[str, Any] = {}
    needed: set[str] = set()

    def load(path: str) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        file, inner = spec_location(path)
        spec = specs.setdefault(file, json.loads((spec_dir / file).read_text()))
        return spec["paths"][inner], spec["components"]["schemas"], spec

    for route in READ_ROUTES:
        item, schemas, _ = load(route.path)
        op = item["get"]
        query: dict[str, Any] = {}
        sort_fields: list[str] | None = None
        for prm in op.get("parameters", []):
            if prm["in"] != "query":
                continue
            query[prm["name"]] = _param_type(prm.get("schema", {}), schemas)
            if prm["name"] == "sort":
                found = _SORT_RE.search(prm.get("description") or "")
                if found:
                    sort_fields = re.findall(r"[A-Za-z]+", found.group(1))
        envelope = _ref_name(op["responses"]["200"]["content"]["application/json"]["schema"])
        assert envelope is not None
        item_schema = _items_of(envelope, schemas)
        ops[f"GET {route.path}"] = {
            "query": query,
            "sort": sort_fields,
            "envelope": envelope,
            "item": item_schema,
            "fields": list(schemas[item_schema].get("properties", {})),
        }
    for method, path in WRITE_PATHS:
        item, schemas, _ = load(path)
        op = item[method.lower()]
        body = op.get("requestBody", {}).get("content", {})
        schema = next(iter(body.values()))["schema"] if body else None
        response = op["responses"]["200"].get("content", {}).get("application/json", {})
        ops[f"{method} {path}"] = {
            "body": _compact(schema, needed) if schema else None,
            "response": _ref_name(response.get("schema", {})),
        }
    # Body schemas reference others; close over the references, per spec file.
    compact: dict[str, Any] = {}
    all_schemas: dict[str, Any] = {}
    for spec in specs.values():
        all_schemas.update(spec["components"]["schemas"])
    while needed - compact.keys():
        name = min(needed - compact.keys())
        compact[name] = _compact(all_schemas[name], needed)
    return {"ops": ops, "schemas": compact}


def main(argv: list[str]) -> None:
    spec_dir = Path(argv[1]) if len(argv) > 1 else API_SPECS_DIR / "servicetitan"
    OUT.write_text(json.dumps(generate(spec_dir), indent=1, sort_keys=True) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main(sys.argv)
