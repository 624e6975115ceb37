"""Raw rows as PostgreSQL's COPY text format: tab-separated, backslash escapes, \\N for null.

dlt's PostgreSQL loader reads CSV, and CSV quoting doubles every quote of the JSON in
`full_data` and makes the server track quoted fields character by character: COPY spent a
quarter more time on the same rows in CSV than in text format (measured on ServiceTitan jobs).
The rows are formatted column by column in Arrow, which leaves the per-value work to C++.

A file starts with one line naming its columns after MARKER, which no CSV header dlt writes
can start with; destination.py loads such files with COPY in text format.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

MARKER = b"#lazi copy text\t"
_SPECIAL = r"[\t\n\r]"


def header(names: list[str]) -> bytes:
    if any(not name or "\t" in name or "\n" in name for name in names):
        raise ValueError(f"column names must be non-empty and tab-free: {names!r}")
    return MARKER + "\t".join(names).encode() + b"\n"


def lines(table: pa.Table, json_columns: Collection[str] = ()) -> pa.Array:
    """Each row's fields joined by tabs, without the line's end. Columns in `json_columns`
    hold serialized JSON, which never holds a raw tab or line break (JSON escapes them), so
    the search for those is skipped there: it was the costliest step."""
    fields = [
        _field(table.column(name), is_json=name in json_columns) for name in table.column_names
    ]
    joined = pc.binary_join_element_wise(*fields, "\t")
    return joined.combine_chunks() if isinstance(joined, pa.ChunkedArray) else joined


def write_lines(out: BinaryIO, text: pa.Array, last_field: str) -> None:
    """Append each of `text`'s lines to `out` with one more field (the same in every line)."""
    if len(text) == 0:
        return
    if "\\" in last_field or re.search(_SPECIAL, last_field):
        raise ValueError(f"{last_field!r} needs escaping")
    ended = pc.binary_join_element_wise(text, last_field + "\n", "\t")
    # No line is null (every field was filled), so the lines lie end to end in the data buffer.
    _, offsets, data = ended.buffers()
    ends = np.frombuffer(offsets, np.int64 if pa.types.is_large_string(ended.type) else np.int32)
    start, end = ends[ended.offset], ends[ended.offset + len(ended)]
    out.write(memoryview(data)[start:end])


def _field(column: pa.ChunkedArray, *, is_json: bool) -> pa.ChunkedArray:
    kind = column.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        text = pc.replace_substring(column, "\\", "\\\\")
        if not is_json and pc.any(pc.match_substring_regex(text, _SPECIAL)).as_py():
            for raw, escaped in (("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r")):
                text = pc.replace_substring(text, raw, escaped)
    elif (
        pa.types.is_boolean(kind)
        or pa.types.is_integer(kind)
        or pa.types.is_floating(kind)
        or (pa.types.is_timestamp(kind) and kind.tz is not None)  # 2024-01-01 00:00:00.000000Z
    ):
        text = column.cast(pa.string())
    else:
        raise TypeError(f"no COPY text form for Arrow type {kind}")
    return pc.fill_null(text, "\\N") if text.null_count else text
