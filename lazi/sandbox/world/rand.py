"""Counter-based randomness: every value is a pure function of (seed, stream, index).

Records are computed on demand at any index, so a sequential RNG is useless here; a
splitmix64-style mixer gives the same number for the same coordinates in any order, and
has a numpy twin so whole columns (counts, parents) can be derived at once.
"""

from __future__ import annotations

import zlib
from bisect import bisect_right
from collections.abc import Sequence
from typing import TypeVar, overload

import numpy as np

T = TypeVar("T")
M64 = (1 << 64) - 1
_G = 0x9E3779B97F4A7C15
_C1 = 0xBF58476D1CE4E5B9
_C2 = 0x94D049BB133111EB


def stream_id(name: str) -> int:
    """Stable small integer for a stream name (crc32 is stable across runs, hash() is not)."""
    return zlib.crc32(name.encode())


def _fin(z: int) -> int:
    z = ((z ^ (z >> 30)) * _C1) & M64
    z = ((z ^ (z >> 27)) * _C2) & M64
    return z ^ (z >> 31)


def mix(seed: int, stream: int, index: int) -> int:
    """64-bit hash of the coordinates; identical to mix_np element-wise."""
    z = (seed * _G + stream * _C1 + index * _C2 + _G) & M64
    return _fin(z)


def mix_np(seed: int, stream: int, index: np.ndarray) -> np.ndarray:
    """Vectorised mix(); uint64 arithmetic wraps exactly like the masked Python ints."""
    base = np.uint64((seed * _G + stream * _C1 + _G) & M64)
    z = index.astype(np.uint64) * np.uint64(_C2) + base
    z = (z ^ (z >> np.uint64(30))) * np.uint64(_C1)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(_C2)
    return z ^ (z >> np.uint64(31))


@overload
def bucket(h: np.ndarray, cumulative_pct: Sequence[int]) -> np.ndarray: ...
@overload
def bucket(h: int, cumulative_pct: Sequence[int]) -> int: ...
def bucket(h: int | np.ndarray, cumulative_pct: Sequence[int]) -> int | np.ndarray:
    """Map a hash to a category by cumulative percentages (shared by scalar and numpy paths)."""
    pct = h % 10000
    if isinstance(pct, np.ndarray):
        return np.searchsorted(np.asarray(cumulative_pct) * 100, pct, side="right")
    return bisect_right([c * 100 for c in cumulative_pct], pct)


_LCG_A = 6364136223846793005
_LCG_C = 1442695040888963407


class Rng:
    """Cheap per-record generator seeded from one mix(); draws are ordered, so callers
    must draw in a fixed order for a record to stay stable.

    After the seeding hash, steps are a 64-bit LCG using the high 53 bits: records make
    dozens of draws and this is the hot path at 1M records.
    """

    __slots__ = ("_s",)

    def __init__(self, seed: int, stream: int, index: int) -> None:
        self._s = mix(seed, stream, index)

    def next(self) -> int:
        self._s = (self._s * _LCG_A + _LCG_C) & M64
        return self._s >> 11

    def below(self, n: int) -> int:
        self._s = (self._s * _LCG_A + _LCG_C) & M64
        return (self._s >> 11) % n if n > 0 else 0

    def between(self, lo: int, hi: int) -> int:
        """Uniform integer in [lo, hi]."""
        return lo + self.below(hi - lo + 1)

    def chance(self, pct: float) -> bool:
        self._s = (self._s * _LCG_A + _LCG_C) & M64
        return (self._s >> 11) % 10000 < pct * 100

    def pick(self, seq: Sequence[T]) -> T:
        self._s = (self._s * _LCG_A + _LCG_C) & M64
        return seq[(self._s >> 11) % len(seq)]

    def uniform(self) -> float:
        return self.next() / float(1 << 53)
