"""dlt's PostgreSQL destination, loading raw's page files with COPY in text format.

dlt only knows delimited files as csv: raw's files (copy_text.py) are imported under that
name, and this destination's client gives them a job that copies them in PostgreSQL's text
format. Every other file (dlt's own state and version rows) loads as dlt loads it. The
destination keeps dlt's PostgreSQL type name, so pipeline state, capabilities and naming are
the ones dlt's own destination has.
"""

from __future__ import annotations

from typing import Any

from dlt.common.destination.client import (
    HasFollowupJobs,
    LoadJob,
    PreparedTableSchema,
    RunnableLoadJob,
)
from dlt.common.storages.load_package import ParsedLoadJobFileName
from dlt.destinations.impl.postgres.factory import postgres
from dlt.destinations.impl.postgres.postgres import PostgresClient

from dlt_pipelines.common.copy_text import MARKER

COPY_CHUNK = 1 << 20  # dlt's CSV job hands PostgreSQL 8 KB at a time


class CopyTextJob(RunnableLoadJob, HasFollowupJobs):
    def __init__(self, file_path: str) -> None:
        super().__init__(file_path)
        # dlt (1.31.0) declares it None until set_run_vars hands the job its client, without
        # Optional; narrowed here to the PostgreSQL client this destination always hands.
        self._job_client: PostgresClient = None  # type: ignore[assignment]

    def run(self) -> None:
        sql_client = self._job_client.sql_client
        known = set(self._job_client.schema.get_table_columns(self.load_table_name))
        with open(self._file_path, "rb") as data:
            names = data.readline()[len(MARKER) :].rstrip(b"\n").decode().split("\t")
            unknown = [name for name in names if name not in known]
            if unknown:
                raise ValueError(f"{self._file_path}: columns {unknown} are not in the schema")
            columns = ",".join(sql_client.escape_column_name(name) for name in names)
            table = sql_client.make_qualified_table_name(self.load_table_name)
            with sql_client.begin_transaction(), sql_client.native_connection.cursor() as cursor:
                cursor.copy_expert(
                    f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT text)", data, COPY_CHUNK
                )


class RawPostgresClient(PostgresClient):
    def create_load_job(
        self, table: PreparedTableSchema, file_path: str, load_id: str, restore: bool = False
    ) -> LoadJob:
        if ParsedLoadJobFileName.parse(file_path).file_format == "csv":
            with open(file_path, "rb") as data:
                if data.read(len(MARKER)) == MARKER:
                    return CopyTextJob(file_path)
        return super().create_load_job(table, file_path, load_id, restore)


class raw_postgres(postgres):  # lower case, as dlt names its destination factories
    @property
    def destination_type(self) -> str:
        return "dlt.destinations.postgres"

    @property
    def client_class(self) -> type[Any]:
        return RawPostgresClient
