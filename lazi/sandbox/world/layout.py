"""Shared machinery for lazily generated tables: prefix-sum child layouts and LazyTable."""

from __future__ import annotations

from collections.abc import Callable
from typing import overload

import numpy as np

from .rand import mix, mix_np

NpOrInt = np.ndarray | int


@overload
def umod(h: np.ndarray, m: NpOrInt) -> np.ndarray: ...
@overload
def umod(h: int, m: NpOrInt) -> int: ...
def umod(h: NpOrInt, m: NpOrInt) -> NpOrInt:
    """h mod m as a signed value, for numpy (uint64 hashes) and plain ints alike.

    numpy promotes uint64 mixed with int64 to float64, so hashes are reduced and cast
    before they meet any other arithmetic.
    """
    if isinstance(h, np.ndarray):
        mm = m.astype(np.uint64) if isinstance(m, np.ndarray) else np.uint64(m)
        return (h % mm).astype(np.int64)
    return h % int(m)


class Children:
    """Parent -> contiguous child index range, from a per-parent count column."""

    def __init__(self, counts: np.ndarray) -> None:
        self.start = np.zeros(len(counts) + 1, dtype=np.int64)
        np.cumsum(counts, out=self.start[1:])
        self.total = int(self.start[-1])

    def range(self, parent: int) -> tuple[int, int]:
        return int(self.start[parent]), int(self.start[parent + 1])

    def parent(self, child: int) -> tuple[int, int]:
        """(parent index, ordinal among its siblings)."""
        p = int(np.searchsorted(self.start, child, side="right")) - 1
        return p, child - int(self.start[p])


class Hashes:
    """Named hash streams for one scope (tenant, location, ...)."""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def __call__(self, stream: int, idx: int) -> int:
        return mix(self.seed, stream, idx)

    def col(self, stream: int, n: int) -> np.ndarray:
        return mix_np(self.seed, stream, np.arange(n, dtype=np.uint64))


def int_id_codec(id_base: int) -> tuple[Callable[[int], int], Callable[[object], int | None]]:
    """ServiceTitan-style ids: id_base + index (accepts digit strings from URL paths)."""

    def id_of(idx: int) -> int:
        return id_base + idx

    def idx_of(value: object) -> int | None:
        if isinstance(value, str) and value.isdigit():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            return None
        idx = value - id_base
        return idx if 0 <= idx < 100_000_000 else None

    return id_of, idx_of
