"""Raw rows written in COPY text format come back from PostgreSQL exactly as they were."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

import psycopg
import pyarrow as pa
import pytest

from dlt_pipelines.common import copy_text

AWKWARD = [
    "plain",
    "",  # an empty string stays empty, it is not null
    None,
    "back\\slash and \\N and \\t written out",
    "tab\there, newline\nthere, return\rthere",
    '{"quote": "\\"", "unicode": "Zoë ☃ 東京"}',
    "\\",
]


def test_every_value_round_trips_through_copy(empty_db: str) -> None:
    n = len(AWKWARD)
    table = pa.table(
        {
            "t": pa.array(AWKWARD, pa.string()),
            "j": pa.array(['{"a": 1}', '{"b": "x\\\\y"}', None, "[]", "{}", "1", "null"]),
            "i": pa.array([1, -(2**63), None, 2**63 - 1, 0, 7, 8], pa.int64()),
            "b": pa.array([True, False, None, True, False, True, None]),
            "f": pa.array([1.5, -0.25, None, 1e20, 0.0, 3.0, 2.5]),
            "ts": pa.array(
                [datetime(2024, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)] * (n - 1) + [None],
                pa.timestamp("us", tz="UTC"),
            ),
        }
    )
    out = io.BytesIO()
    out.write(copy_text.header([*table.column_names, "load"]))
    for part in (table.slice(0, 3), table.slice(3)):  # two pages into one file
        copy_text.write_lines(out, copy_text.lines(part, json_columns={"j"}), "1796.5")
    data = out.getvalue()
    first_line, body = data.split(b"\n", 1)
    assert first_line.startswith(copy_text.MARKER)
    assert first_line[len(copy_text.MARKER) :].decode().split("\t") == [*table.column_names, "load"]

    with psycopg.connect(empty_db, autocommit=True) as conn:
        conn.execute(
            "create table t (n serial, t text, j jsonb, i bigint, b boolean, f float8, "
            "ts timestamptz, load text)"
        )
        with conn.cursor().copy("copy t (t, j, i, b, f, ts, load) from stdin") as copy:
            copy.write(body)
        rows = conn.execute("select t, j, i, b, f, ts, load from t order by n").fetchall()

    expected = list(zip(*(table.column(c).to_pylist() for c in table.column_names), strict=True))
    expected = [
        (t, None if j is None else json.loads(j), i, b, f, ts, "1796.5")
        for t, j, i, b, f, ts in expected
    ]
    assert rows == expected


def test_an_unknown_arrow_type_is_refused() -> None:
    with pytest.raises(TypeError, match="no COPY text form"):
        copy_text.lines(pa.table({"d": pa.array([b"\x00"], pa.binary())}))


def test_a_last_field_that_needs_escaping_is_refused() -> None:
    text = copy_text.lines(pa.table({"a": pa.array(["x"])}))
    with pytest.raises(ValueError, match="needs escaping"):
        copy_text.write_lines(io.BytesIO(), text, "tab\there")
