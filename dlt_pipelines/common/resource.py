"""A dlt resource for one raw table, fed by a vendor-specific page generator.

Pages become files in PostgreSQL's COPY text format (copy_text.py) that dlt imports into the
load package as is (as "csv", the only delimited format it knows; destination.py loads them).
dlt would otherwise write Arrow batches to parquet while extracting and rewrite them as CSV
while normalizing: two passes over every byte that took half of a backfill's time. The file
carries the package's load id itself, which is all dlt's normalizer would have added.
The pages are fetched and typed ahead by the resource's feed (see feed.py), and a resource
takes from it until the package holds enough rows.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import dlt
import pyarrow as pa
from dlt.common.schema.typing import TSchemaContractDict
from dlt.extract.resource import DltResource

from dlt_pipelines.common import copy_text
from dlt_pipelines.common.feed import NOT_READY, Feed, Page, PageSource
from dlt_pipelines.common.rows import RawTable, canonical, content_hash
from dlt_pipelines.common.stats import RunStats

__all__ = ["SPOOL", "Page", "PageSource", "once_per_run", "raw_resource"]

SCHEMA_CONTRACT: TSchemaContractDict = {
    "tables": "evolve",
    "columns": "evolve",
    "data_type": "freeze",
}
LOAD_ID = "_dlt_load_id"
SPOOL = "spool"  # CSV files between writing and dlt's import; emptied at the start of a run
FILE_BYTES = 32 << 20


def raw_resource(table: RawTable, endpoint: str, pages: PageSource, stats: RunStats) -> DltResource:
    """`pages(state)` yields the pages; it reads and advances its cursors in `state`. The feed
    runs it on a copy of dlt's resource state, and each package commits the state as it stood
    after the last page it holds. dlt evaluates the resource once per package of the sync."""
    feed: Feed | None = None

    @dlt.resource(
        name=table.name,
        table_name=table.name,
        primary_key=table.version_key,
        write_disposition={"disposition": "merge", "strategy": "insert-only"},
        columns={**table.dlt_columns(), LOAD_ID: {"data_type": "text", "nullable": False}},
        schema_contract=SCHEMA_CONTRACT,
    )
    def _rows() -> Iterator[Any]:
        nonlocal feed
        state = dlt.current.resource_state()
        if feed is None:
            feed = stats.feeds.start(table, pages, state)
        load_id = dlt.current.load_package_state()["load_id"]
        spool = Path(dlt.current.pipeline().working_dir) / SPOOL
        spool.mkdir(exist_ok=True)
        with _PageFiles(spool, table.name) as files:
            while not feed.finished and not stats.feeds.package_full():
                batch = feed.take(wait=stats.feeds.package_wants_more())
                if batch is NOT_READY:
                    break
                if batch is None:
                    stats.finish(table.name)
                    break
                # Before the package's files are handed on: dlt snapshots state as they flow.
                state.clear()
                state.update(batch.state)
                if batch.lines is None or batch.counts is None:
                    continue
                stats.endpoint(table.name, endpoint, batch.scope).add(
                    batch.counts, deleted=batch.deleted
                )
                yield from files.write([*batch.columns, LOAD_ID], batch.lines, load_id)
            yield from files.flush()

    return _rows()


class _PageFiles:
    """Pages of one resource written into files of about FILE_BYTES: dlt's cost is per file (a
    load job, its bookkeeping, a COPY statement), not per row."""

    def __init__(self, spool: Path, table: str) -> None:
        self._spool = spool
        self._table = table
        self._path: Path | None = None
        self._file: BinaryIO | None = None
        self._names: list[str] = []
        self._rows = 0

    def __enter__(self) -> _PageFiles:
        return self

    def __exit__(self, *_: object) -> None:
        if self._file is not None:  # a failed extract: the half-written file is dropped
            self._file.close()
            assert self._path is not None
            self._path.unlink(missing_ok=True)

    def write(self, names: list[str], lines: pa.Array, load_id: str) -> Iterator[Any]:
        """Lines of COPY text without their last field, the load id."""
        if self._file is not None and self._names != names:
            yield from self.flush()
        if self._file is None:
            self._path = self._spool / f"{self._table}.{uuid.uuid4().hex}.csv"
            self._file = self._path.open("wb")
            self._file.write(copy_text.header(names))
            self._names = names
            self._rows = 0
        copy_text.write_lines(self._file, lines, load_id)
        self._rows += len(lines)
        if self._file.tell() >= FILE_BYTES:
            yield from self.flush()

    def flush(self) -> Iterator[Any]:
        if self._file is None or self._path is None:
            return
        self._file.close()
        self._file = None
        # dlt hard-links the file into the package before the generator resumes
        yield dlt.mark.with_file_import(str(self._path), "csv", self._rows)
        self._path.unlink()
        self._path = None


def once_per_run(pages: PageSource) -> PageSource:
    """Drop records already yielded in this run with the same content. Overlapping reads (a
    narrowed re-listing, a wider re-read window, a page shifted by an insert) repeat records,
    and raw's unique (scope, id, content hash) index rejects a repeat within one load."""

    def wrapped(state: dict[str, Any]) -> Iterator[Page]:
        yielded: dict[Any, set[tuple[str, str]]] = {}
        for page in pages(state):
            done = yielded.setdefault(page.scope, set())
            fresh = []
            for record in page.records:
                key = (str(record.get("id")), content_hash(canonical(record), deleted=page.deleted))
                if key not in done:
                    done.add(key)
                    fresh.append(record)
            yield Page(page.scope, fresh, deleted=page.deleted, total=page.total)

    return wrapped
