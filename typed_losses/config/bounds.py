"""The bounds on what a config may be: its size, its node count and its nesting depth, in one place.

`MAX_DEPTH` (200 levels) is read by every path that takes a config: the YAML loader, the checker
(plain data, OmegaConf nodes, checkpoint states), and collections built from Python. Below it nothing
fails for depth: OmegaConf builds a node in about 11 Python frames a level, copying and pickling a deep
`multi` tree take about 6 a level, so a config that nests deeper than Python's default recursion limit
allows raises that limit once, to a bound computed from `MAX_DEPTH` (`ensure_headroom()`).
Typical configs (a few levels) never change it.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Mapping
from typing import Any

from omegaconf import DictConfig, ListConfig

from typed_losses.config.paths import Key, render_path
from typed_losses.errors import LossConfigError

__all__ = ["MAX_BYTES", "MAX_DEPTH", "MAX_NODES", "check_depth", "ensure_headroom", "nesting"]

#: Bounds on what a document may expand to (after aliases and merge keys), nest and weigh. A loss config
#: is a few hundred nodes and MMF's largest configs a few thousand; room is left for long inline lists
#: (per-class weights). OmegaConf needs about 0.3 ms a node, so the bound is also a bound on load time;
#: `load_yaml(..., max_nodes=N)` changes it for one call.
MAX_NODES = 100_000
MAX_DEPTH = 200
MAX_BYTES = 8 * 1024 * 1024
#: Python frames one level of nesting may take, in the deepest of what is done with a config or a
#: collection (measured on CPython 3.11: OmegaConf.create 11, deepcopy 6.3, pickle 5.3, to_config 3.1,
#: state_dict 3.2, forward 2.2 a level), and the frames left to the caller.
FRAMES_PER_LEVEL = 12
CALLER_FRAMES = 400
_LIMIT_LOCK = threading.Lock()


def ensure_headroom(levels: int) -> None:
    """Make sure Python's recursion limit lets a config nested `levels` deep be built and used.

    Raises the limit (never lowers it) to `CALLER_FRAMES + FRAMES_PER_LEVEL * levels`, with `levels` at
    most `MAX_DEPTH`: a bound, reached only by configs nested about 50 levels deep or more.
    """
    needed = CALLER_FRAMES + FRAMES_PER_LEVEL * min(levels, MAX_DEPTH)
    if sys.getrecursionlimit() < needed:
        with _LIMIT_LOCK:
            if sys.getrecursionlimit() < needed:
                sys.setrecursionlimit(needed)


def nesting(value: object) -> tuple[int, tuple[Key, ...]]:
    """How deep `value` (plain data or OmegaConf nodes) nests, and the path to its deepest node.

    Counted as the YAML loader counts: a scalar or an empty container is 0 levels, a container one more
    than its deepest value. Computed without recursion; a value shared by several containers is measured
    once, a container holding itself is not followed into itself, and interpolations are not resolved.
    """
    height: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[object, bool]] = [(value, False)]
    while stack:
        item, leaving = stack.pop()
        key = id(item)
        children = _children(item)
        if not children:
            height[key] = 0
            continue
        if leaving:
            on_path.discard(key)
            height[key] = 1 + max(height.get(id(child), 0) for _, child in children)
            continue
        if key in height or key in on_path:
            continue
        on_path.add(key)
        stack.append((item, True))
        stack.extend((child, False) for _, child in children if id(child) not in height)
    path: list[Key] = []
    current = value
    while True:
        children = _children(current)
        if not children:
            break
        name, current = max(children, key=lambda pair: height.get(id(pair[1]), 0))
        path.append(name)
        if len(path) > MAX_DEPTH:
            break
    return height.get(id(value), 0), tuple(path)


def _depth(value: object) -> int:
    """How deep `value` nests (as `nesting()` counts), quickly; past `MAX_DEPTH`, some number
    past it (a container holding itself counts as too deep here: `nesting()` tells)."""
    deepest = 0
    reached: dict[int, int] = {}  # id of a container -> the greatest depth it was walked from
    stack: list[tuple[object, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        kind = type(item)
        children: Any
        if kind is dict:
            children = item.values()  # type: ignore[attr-defined]
        elif kind is list or kind is tuple:
            children = item
        elif isinstance(item, (DictConfig, ListConfig)):
            content = item._content  # the child nodes, read without resolving (a str: interpolation, ???)
            children = content.values() if isinstance(content, dict) else content if isinstance(content, list) else ()
        elif isinstance(item, (Mapping, list, tuple)):
            children = [child for _, child in _children(item)]
        else:
            continue
        if not children or reached.get(id(item), -1) >= depth:  # a shared value (YAML alias): walked already
            continue
        reached[id(item)] = depth
        deepest = max(deepest, depth + 1)
        if depth >= MAX_DEPTH:
            return depth + 1
        for child in children:
            container = _IS_CONTAINER.get(type(child))
            if container is None:
                container = _IS_CONTAINER[type(child)] = issubclass(type(child), _CONTAINERS)
            if container:
                stack.append((child, depth + 1))
    return deepest


_CONTAINERS = (dict, list, tuple, Mapping, DictConfig, ListConfig)
_IS_CONTAINER: dict[type, bool] = {}


def _children(item: object) -> list[tuple[Key, Any]]:
    if isinstance(item, (DictConfig, ListConfig)):
        if item._is_none() or item._is_missing() or item._is_interpolation():
            return []
        if isinstance(item, DictConfig):
            return [(str(k), item._get_node(k)) for k in item]
        return [(i, item._get_node(i)) for i in range(len(item))]
    if isinstance(item, Mapping):
        return [(k if isinstance(k, (str, int)) else str(k), v) for k, v in item.items()]
    if isinstance(item, (list, tuple)):
        return list(enumerate(item))
    return []


def check_depth(value: object, label: str) -> None:
    """Refuse a `losses` value nested deeper than `MAX_DEPTH` (a [`LossConfigError`][typed_losses.LossConfigError] at the
    entry holding the deepest node, positioned when the value was loaded from a file); make room for one
    that is not (`ensure_headroom()`)."""
    levels = _depth(value)
    if levels <= MAX_DEPTH:
        ensure_headroom(levels)
        return
    levels, path = nesting(value)  # exactly, with the path (a container holding itself is no depth)
    if levels <= MAX_DEPTH:
        ensure_headroom(levels)
        return
    from typed_losses.config.issues import Locator
    from typed_losses.config.yaml import source_map_of

    loc = Locator(label)
    if isinstance(value, (DictConfig, ListConfig)):
        source, doc_path = source_map_of(value)
        loc = Locator(render_path("", doc_path) or label, doc_path, source)
    loc.add(path[:1], f"nests deeper than {MAX_DEPTH} levels (the limit for configs)")
    raise LossConfigError(loc.issues)
