"""Reversible vendor-style string ids, so get(id) maps back to a record index in O(1)."""

from __future__ import annotations

from .rand import M64, mix, stream_id

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_INDEX = {c: i for i, c in enumerate(_ALPHABET)}


class IdCodec:
    """Bijection index <-> opaque id. An affine map mod 2**64 scrambles the index and a
    hash tail acts as a checksum, so ids of one collection never decode in another."""

    def __init__(self, seed: int, name: str, style: str) -> None:
        self._salt = stream_id(name)
        self._seed = seed
        self._mul = (mix(seed, self._salt, 1) | 1) & M64
        self._inv = pow(self._mul, -1, 1 << 64)
        self._add = mix(seed, self._salt, 2)
        self.style = style  # "ghl" (20 base62 chars) or a CallRail prefix such as "CAL"

    def encode(self, index: int) -> str:
        x = (index * self._mul + self._add) & M64
        check = mix(self._seed, self._salt, x)
        if self.style == "ghl":
            return _b62(x, 11) + _b62(check, 11)[:9]
        return f"{self.style}{x:016x}{check:016x}"

    def decode(self, value: object) -> int | None:
        if not isinstance(value, str):
            return None
        try:
            if self.style == "ghl":
                if len(value) != 20:
                    return None
                x = _unb62(value[:11])
                ok = _b62(mix(self._seed, self._salt, x), 11)[:9] == value[11:]
            else:
                p = len(self.style)
                if len(value) != p + 32 or not value.startswith(self.style):
                    return None
                x = int(value[p : p + 16], 16)
                ok = int(value[p + 16 :], 16) == mix(self._seed, self._salt, x)
        except (KeyError, ValueError):
            return None
        if not ok or x > M64:
            return None
        return ((x - self._add) * self._inv) & M64


def _b62(x: int, width: int) -> str:
    out = []
    for _ in range(width):
        x, r = divmod(x, 62)
        out.append(_ALPHABET[r])
    return "".join(reversed(out))


def _unb62(s: str) -> int:
    x = 0
    for c in s:
        x = x * 62 + _INDEX[c]
    return x
