"""A dlt resource for one raw table, fed by a vendor-specific page generator.

Each page becomes a CSV file that dlt imports into the load package as is. dlt would otherwise
write Arrow batches to parquet while extracting and rewrite them as CSV while normalizing (the
PostgreSQL loader copies CSV): two passes over every byte that took half of a backfill's time.
The file carries the package's load id itself, which is all dlt's normalizer would have added.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dlt
import pyarrow as pa
import pyarrow.csv as pa_csv
from dlt.extract.resource import DltResource

from dlt_pipelines.common.rows import RawTable, canonical, content_hash, to_batch
from dlt_pipelines.common.stats import RunStats

SCHEMA_CONTRACT = {"tables": "evolve", "columns": "evolve", "data_type": "freeze"}
LOAD_ID = "_dlt_load_id"
SPOOL = "spool"  # CSV files between writing and dlt's import; emptied at the start of a run
# What dlt's PostgreSQL CSV loader reads: a header, commas, strings quoted, null as empty.
CSV_OPTIONS = pa_csv.WriteOptions(include_header=True, quoting_style="needed")


@dataclass
class Page:
    """Records of one scope as one API page returned them."""

    scope: Any
    records: list[dict[str, Any]]
    deleted: bool = False  # tombstones made by a full reconcile


PageSource = Callable[[dict[str, Any]], Iterator[Page]]


def raw_resource(table: RawTable, endpoint: str, pages: PageSource, stats: RunStats) -> DltResource:
    """`pages(state)` yields the pages; it reads and advances its cursors in `state`, dlt's
    resource state, which is committed in the same load package as the rows it describes."""

    @dlt.resource(
        name=table.name,
        table_name=table.name,
        primary_key=table.primary_key,
        write_disposition={"disposition": "merge", "strategy": "insert-only"},
        columns={**table.dlt_columns(), LOAD_ID: {"data_type": "text", "nullable": False}},
        schema_contract=SCHEMA_CONTRACT,  # type: ignore[arg-type]
    )
    def _rows() -> Iterator[Any]:
        state = dlt.current.resource_state()
        known = state.setdefault("known_fields", [])
        known_fields = set(known)
        load_id = dlt.current.load_package_state()["load_id"]
        spool = Path(dlt.current.pipeline().working_dir) / SPOOL
        spool.mkdir(exist_ok=True)
        try:
            for page in pages(state):
                endpoint_stats = stats.endpoint(table.name, endpoint, page.scope)
                if not page.records:
                    continue
                batch, counts = to_batch(
                    table,
                    page.scope,
                    page.records,
                    deleted=page.deleted,
                    known_fields=known_fields,
                )
                endpoint_stats.add(counts, deleted=page.deleted)
                if counts.new_fields or len(known) != len(known_fields):
                    # In place and before the yield: dlt snapshots state as items flow.
                    known[:] = sorted(known_fields)
                batch = batch.append_column(LOAD_ID, pa.array([load_id] * batch.num_rows))
                path = spool / f"{table.name}.{uuid.uuid4().hex}.csv"
                pa_csv.write_csv(batch, path, CSV_OPTIONS)
                # dlt hard-links the file into the package before the generator resumes
                yield dlt.mark.with_file_import(str(path), "csv", batch.num_rows)
                path.unlink()
        finally:
            now = time.time()
            for endpoint_stats in stats.all():
                if endpoint_stats.table == table.name and endpoint_stats.finished is None:
                    endpoint_stats.finished = now

    return _rows()


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
            yield Page(page.scope, fresh, deleted=page.deleted)

    return wrapped
