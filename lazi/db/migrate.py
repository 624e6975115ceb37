"""Apply the SQL migrations in `migrations/` with yoyo (each in its own transaction)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from yoyo import get_backend, read_migrations

from lazi.config import MIGRATIONS_DIR, mask_secrets
from lazi.db.warehouse import connect
from lazi.errors import LaziError


@dataclass(frozen=True)
class MigrationResult:
    applied: list[str]
    already_applied: int


def migrate(url: str) -> MigrationResult:
    """Apply pending migrations; a second call applies nothing."""
    connect(url).close()  # one clear line for a bad URL or an unreachable server
    # yoyo logs the backend URI at debug level; keep it quiet so no password can reach a log.
    logging.getLogger("yoyo").setLevel(logging.WARNING)
    backend = get_backend(_yoyo_uri(url))
    try:
        migrations = read_migrations(str(MIGRATIONS_DIR))
        with backend.lock():
            pending = backend.to_apply(migrations)
            already = len(migrations) - len(pending)
            try:
                backend.apply_migrations(pending)
            except Exception as exc:
                raise LaziError(
                    f"Migration failed and was rolled back: {mask_secrets(str(exc)).strip()}"
                ) from None
        return MigrationResult(applied=[m.id for m in pending], already_applied=already)
    finally:
        backend.connection.close()


def _yoyo_uri(url: str) -> str:
    # yoyo picks psycopg 3 by the "+psycopg" scheme; plain postgresql:// would need psycopg2.
    scheme, rest = url.split("://", 1)
    del scheme
    return "postgresql+psycopg://" + rest
