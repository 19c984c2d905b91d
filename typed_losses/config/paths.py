"""Paths into a config document: ``Key`` steps and their dotted rendering (``losses[1].params.margin``)."""

from __future__ import annotations

from collections.abc import Sequence

from omegaconf import DictConfig, ListConfig
from omegaconf.base import Node

__all__ = ["Key", "node_at", "render_path"]

#: One step of a path into a document: a mapping key or a sequence index.
Key = str | int


def render_path(label: str, rel: tuple[Key, ...]) -> str:
    """``label`` followed by ``rel`` in dotted form: ``losses[1].params.margin``."""
    out = label
    for part in rel:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def node_at(node: Node, path: Sequence[Key]) -> Node | None:
    """The node at ``path`` below ``node`` (list indices as ints or digit strings), unresolved; ``None``
    when a step does not exist. A ``???`` value is a node too."""
    for part in path:
        child: object = None
        if isinstance(node, DictConfig) and part in node.keys():  # noqa: SIM118 - `in node` is False for ??? values
            child = node._get_node(part)
        elif isinstance(node, ListConfig) and str(part).isdigit() and int(part) < len(node):
            child = node._get_node(int(part))
        if not isinstance(child, Node):
            return None
        node = child
    return node
