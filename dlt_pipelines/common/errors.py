"""Errors that end a sync: they name the vendor, the endpoint and the vendor's own message."""

from __future__ import annotations


class SourceError(Exception):
    def __init__(self, vendor: str, endpoint: str, message: str, status: int | None = None):
        self.vendor = vendor
        self.endpoint = endpoint
        self.status = status
        where = f"{vendor} {endpoint}"
        super().__init__(f"{where}: HTTP {status}: {message}" if status else f"{where}: {message}")


class ConfigError(Exception):
    """Missing or malformed source configuration (credentials, base URLs, scopes)."""
