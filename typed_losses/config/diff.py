"""Where two plain configs differ: the path of each difference and both values."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from typed_losses.config.paths import Key, render_path

__all__ = ["Difference", "differences"]

ABSENT = "(absent)"


@attrs.frozen
class Difference:
    """One place where two plain configs differ; `first`/`second` are reprs (or `(absent)`)."""

    path: str
    first: str
    second: str


def differences(first: Any, second: Any, label: str = "losses", *, limit: int = 10) -> list[Difference]:
    """Up to `limit` places where the plain values differ, in document order (empty: equal)."""
    out: list[Difference] = []
    _walk(first, second, (), label, out, limit)
    return out


def _walk(a: Any, b: Any, path: tuple[Key, ...], label: str, out: list[Difference], limit: int) -> None:
    if len(out) >= limit:
        return
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        for key in [*a.keys(), *(k for k in b if k not in a)]:
            where = (*path, str(key))
            if key not in b:
                out.append(Difference(render_path(label, where), repr(a[key]), ABSENT))
            elif key not in a:
                out.append(Difference(render_path(label, where), ABSENT, repr(b[key])))
            else:
                _walk(a[key], b[key], where, label, out, limit)
            if len(out) >= limit:
                return
        return
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            out.append(Difference(render_path(label, path), f"{len(a)} entries", f"{len(b)} entries"))
        for index, (x, y) in enumerate(zip(a, b, strict=False)):
            _walk(x, y, (*path, index), label, out, limit)
        return
    if a != b or _kind(a) != _kind(b):
        out.append(Difference(render_path(label, path), repr(a), repr(b)))


def _kind(value: Any) -> type:
    """`1` and `1.0` compare equal; `True` and `1` do not."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float
    return type(value)
