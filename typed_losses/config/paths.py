"""Paths into a config document: ``Key`` steps and their dotted rendering (``losses[1].params.margin``)."""

from __future__ import annotations

__all__ = ["Key", "render_path"]

#: One step of a path into a document: a mapping key or a sequence index.
Key = str | int


def render_path(label: str, rel: tuple[Key, ...]) -> str:
    """``label`` followed by ``rel`` in dotted form: ``losses[1].params.margin``."""
    out = label
    for part in rel:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
