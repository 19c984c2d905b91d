"""Paths into a config document: `Key` steps, their dotted rendering (`losses[1].params.margin`), and
finding nodes by path or by key name without resolving values."""

from __future__ import annotations

from collections.abc import Sequence

from omegaconf import DictConfig, ListConfig
from omegaconf.base import Container, Node
from omegaconf.errors import OmegaConfBaseException

__all__ = ["Key", "find_key", "followed", "node_at", "render_path"]

#: One step of a path into a document: a mapping key or a sequence index.
Key = str | int


def render_path(label: str, rel: tuple[Key, ...]) -> str:
    """`label` followed by `rel` in dotted form: `losses[1].params.margin`."""
    out = label
    for part in rel:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def followed(node: Node) -> Node:
    """The container an interpolation such as `${shared.ce}` points at, else `node` itself (also when
    the interpolation does not resolve: the checker reports that where it reads the value)."""
    if not node._is_interpolation():
        return node
    try:
        target = node._maybe_dereference_node(throw_on_resolution_failure=True)
    except OmegaConfBaseException:
        return node
    return target if isinstance(target, Container) else node


def node_at(node: Node, path: Sequence[Key]) -> Node | None:
    """The node at `path` below `node` (list indices as ints or digit strings); `None` when a step
    does not exist. The last node is not resolved (a `???` value is a node too); steps through an
    interpolated container (`model: ${base}`) follow it."""
    for part in path:
        node = followed(node)
        child: object = None
        if isinstance(node, DictConfig) and part in node.keys():  # noqa: SIM118 - `in node` is False for ??? values
            child = node._get_node(part)
        elif isinstance(node, ListConfig) and str(part).isdigit() and int(part) < len(node):
            child = node._get_node(int(part))
        if not isinstance(child, Node):
            return None
        node = child
    return node


def find_key(node: Node, key: str, *, skip: Sequence[str] = ()) -> list[tuple[tuple[Key, ...], Node]]:
    """Every value of a mapping key named `key` below `node` with its path from `node`, in document
    order, unresolved; the values of keys in `skip` are not searched."""
    found: list[tuple[tuple[Key, ...], Node]] = []
    _find(node, (), key, skip, found)
    return found


def _find(
    node: Node, path: tuple[Key, ...], key: str, skip: Sequence[str], found: list[tuple[tuple[Key, ...], Node]]
) -> None:
    if isinstance(node, DictConfig):
        for name in node.keys():  # noqa: SIM118 - ??? values too
            child = node._get_node(name)
            assert isinstance(child, Node)
            if name == key:
                found.append(((*path, str(name)), child))
            elif isinstance(child, Container) and name not in skip:
                _find(child, (*path, str(name)), key, skip, found)
    elif isinstance(node, ListConfig):
        for index in range(len(node)):
            item = node._get_node(index)
            if isinstance(item, Container):
                _find(item, (*path, index), key, skip, found)
