"""Settings a source reads as JSON: a list or object in .dlt/secrets.toml arrives as one, an
environment variable as a string to parse."""

from __future__ import annotations

from typing import Any

import orjson

from dlt_pipelines.common.errors import ConfigError


def variable(vendor: str, key: str) -> str:
    """The environment variable that sets `key` of `vendor`'s source."""
    return f"SOURCES__{vendor.upper()}__{key.upper()}"


def json_setting(vendor: str, key: str, value: Any, shape: str) -> Any:
    """`value` parsed when it is a JSON string. The error names the variable and the shape it
    must have, never the value: it holds credentials."""
    if not isinstance(value, str):
        return value
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError:
        raise ConfigError(f"{variable(vendor, key)} is not JSON; expected {shape}") from None
