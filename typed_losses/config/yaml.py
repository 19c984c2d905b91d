"""Safe YAML loading that remembers where every node was written.

[`load_yaml()`][typed_losses.load_yaml] returns an OmegaConf container and records a `SourceMap` for it, so that errors
found later in any part of that container can be reported as `file:line:column`. Loading is safe:
no Python tags, a bound on alias expansion ("billion laughs"), on nesting depth and on file size, and
duplicate keys are errors (PyYAML silently keeps the last one).
"""

from __future__ import annotations

import datetime
import os
import stat
import weakref
from collections.abc import Hashable
from typing import Any

import attrs
import yaml
from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.base import Container, Node

from typed_losses.config.bounds import MAX_BYTES, MAX_DEPTH, MAX_NODES, ensure_headroom
from typed_losses.config.paths import Key, render_path
from typed_losses.errors import ConfigIssue, LossConfigError

__all__ = [
    "MAX_BYTES",
    "MAX_DEPTH",
    "MAX_NODES",
    "Key",
    "SourceMap",
    "load_yaml",
    "load_yaml_text",
    "path_of",
    "read_config_file",
    "source_map_of",
]

Location = tuple[int, int]

#: libyaml's loader when PyYAML has it: 10-50x faster, and its parser refuses nesting beyond 1000 levels
#: without recursing in Python.
_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
DOCUMENT = "<document>"
_COLLECTION_TAGS = frozenset({"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"})
_MERGE_TAG = "tag:yaml.org,2002:merge"


@attrs.frozen
class SourceMap:
    """Positions (1-based line, column) of the nodes of one YAML document."""

    file: str | None
    values: dict[tuple[Key, ...], Location]
    keys: dict[tuple[Key, ...], Location]

    def locate(self, path: tuple[Key, ...], *, at_key: bool = False) -> Location | None:
        """Where `path` was written: its key (`at_key`, when it has one) or its value.

        A path that does not exist in the document (an absent key) is placed at its nearest existing
        ancestor.
        """
        while True:
            if at_key and path in self.keys:
                return self.keys[path]
            if path in self.values:
                return self.values[path]
            if not path:
                return None
            path = path[:-1]
            at_key = True


_SOURCES: dict[int, tuple[weakref.ref[Container], SourceMap]] = {}


def _remember(container: Container, source: SourceMap) -> None:
    key = id(container)
    _SOURCES[key] = (weakref.ref(container, lambda _ref: _SOURCES.pop(key, None)), source)


def path_of(node: Node) -> tuple[tuple[Key, ...], Container]:
    """The path of `node` from its root, and the root."""
    parts: list[Key] = []
    current: Node = node
    parent = current._get_parent()
    while parent is not None:
        key = current._key()
        parts.append(key if isinstance(key, int) else str(key))
        current = parent
        parent = current._get_parent()
    assert isinstance(current, Container)
    return tuple(reversed(parts)), current


def source_map_of(node: Node) -> tuple[SourceMap | None, tuple[Key, ...]]:
    """The source map of the document `node` belongs to (if loaded by us) and `node`'s path in it."""
    path, root = path_of(node)
    entry = _SOURCES.get(id(root))
    if entry is None or entry[0]() is not root:
        return None, path
    return entry[1], path


def load_yaml(path: str | os.PathLike[str], *, max_nodes: int = MAX_NODES) -> DictConfig | ListConfig:
    """Load a YAML config file safely into OmegaConf, keeping node positions for error messages.

    Raises [`LossConfigError`][typed_losses.LossConfigError] for unreadable files, YAML syntax errors, unsafe tags,
    duplicate keys and documents that exceed the size, depth or node bounds (`max_nodes` counts the
    nodes after aliases and merge keys are expanded).

    Examples:
        >>> import pathlib, tempfile
        >>> from typed_losses import LossConfigError, check_losses, load_yaml
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "config.yaml"
        >>> _ = path.write_text("losses:\\n  - type: logit_bce\\n    weight: -1\\n")
        >>> config = load_yaml(path)
        >>> config.losses[0].type
        'logit_bce'
        >>> try:
        ...     check_losses(config.losses)
        ... except LossConfigError as error:
        ...     print(error.issues[0].line, error.issues[0].column, error.issues[0].message)
        3 13 weight must be a finite number >= 0, found -1
    """
    name = os.fspath(path)
    return load_yaml_text(read_config_file(name), file=name, max_nodes=max_nodes)


def read_config_file(path: str | os.PathLike[str]) -> str:
    """The text of a config file: only a regular file is read, and at most `MAX_BYTES` of it.

    A FIFO, a device or a directory is refused before anything is read (reading a FIFO would wait for a
    writer, `/dev/zero` never ends); the size that `stat` reports is not trusted (`/proc` files say
    0), so at most `MAX_BYTES + 1` bytes are read. Problems raise [`LossConfigError`][typed_losses.LossConfigError].
    """
    name = os.fspath(path)
    try:
        info = os.stat(name)
        kind = _file_kind(info.st_mode)
        if kind is not None:
            raise _error(name, f"cannot read file: not a regular file ({kind})")
        if info.st_size > MAX_BYTES:
            raise _error(name, f"file is {info.st_size} bytes; the limit is {MAX_BYTES}")
        # O_NONBLOCK: should a FIFO replace the file after the check, opening it does not wait for a writer.
        fd = os.open(name, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
        with os.fdopen(fd, "rb") as f:
            kind = _file_kind(os.fstat(f.fileno()).st_mode)
            if kind is not None:
                raise _error(name, f"cannot read file: not a regular file ({kind})")
            data = f.read(MAX_BYTES + 1)
    except LossConfigError:
        raise
    except OSError as exc:
        raise _error(name, f"cannot read file: {exc.strerror or exc}") from None
    except ValueError as exc:  # a path with a NUL byte
        raise _error(name, f"cannot read file: {exc}") from None
    if len(data) > MAX_BYTES:
        raise _error(name, f"file has more than {MAX_BYTES} bytes; the limit is {MAX_BYTES}")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _error(name, f"cannot read file: {exc}") from None


def _file_kind(mode: int) -> str | None:
    """`None` for a regular file, else what the file is (`"a FIFO"`, `"a directory"`, ...)."""
    if stat.S_ISREG(mode):
        return None
    for test, kind in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return kind
    return "an unknown kind of file"


def load_yaml_text(text: str, *, file: str | None = None, max_nodes: int = MAX_NODES) -> DictConfig | ListConfig:
    """Like [`load_yaml()`][typed_losses.load_yaml] for YAML given as a string (`file` names it in messages).

    Examples:
        >>> config = load_yaml_text("losses: [logit_bce]\\nlosses: [mse]\\n", file="config.yaml")
        Traceback (most recent call last):
        ...
        typed_losses.errors.LossConfigError: config.yaml:2:1: losses: duplicate key 'losses' (first written on line 1)
    """
    if not isinstance(text, str):
        raise TypeError(f"load_yaml_text takes the YAML text as a str, found {type(text).__name__}")
    if len(text) > MAX_BYTES:
        raise _error(file, f"document is {len(text)} characters; the limit is {MAX_BYTES}")
    loader = _Loader(text)
    try:
        try:
            root = loader.get_single_node()
        except RecursionError:
            raise _error(file, f"document nests too deeply (limit {MAX_DEPTH} levels)") from None
        except yaml.MarkedYAMLError as exc:
            if "maximum nesting depth" in str(exc.problem):
                raise _error(file, f"document nests too deeply (limit {MAX_DEPTH} levels)") from None
            raise _yaml_error(file, exc) from None
        except yaml.reader.ReaderError as exc:  # a character YAML does not allow (a NUL byte, ...)
            raise _reader_error(file, text, exc) from None
        except yaml.YAMLError as exc:
            raise _error(file, f"invalid YAML: {exc}") from None
        if root is not None:
            _check_expansion(root, file, max_nodes)
        builder = _Builder(loader, file, max_nodes)
        data = {} if root is None else builder.build(root, (), 0)
    finally:
        loader.dispose()
    if builder.issues:
        raise LossConfigError(builder.issues)
    if not isinstance(data, (dict, list)):
        raise _error(file, f"expected a mapping or a list at the top of the document, found {type(data).__name__}")
    ensure_headroom(builder.deepest)
    try:
        container = OmegaConf.create(data)
    except Exception:  # OmegaConf rejects some keys or values (keys 1 and '1', a malformed `${`): say where
        from typed_losses.config.source import unrepresentable  # source.py imports this module

        issues = []
        for rel, message in unrepresentable(data):
            line, column = builder.values.get(rel, (None, None))
            issues.append(ConfigIssue(render_path("", rel) or DOCUMENT, message, line, column, None, file))
        raise LossConfigError(issues) from None
    _remember(container, SourceMap(file, builder.values, builder.keys))
    return container


def _error(file: str | None, message: str, line: int | None = None, column: int | None = None) -> LossConfigError:
    return LossConfigError([ConfigIssue(DOCUMENT, message, line, column, None, file)])


def _yaml_error(file: str | None, exc: yaml.MarkedYAMLError) -> LossConfigError:
    mark = exc.problem_mark or exc.context_mark
    problem = exc.problem or str(exc)
    if exc.context:
        problem = f"{exc.context}, {problem}"
    line, column = (mark.line + 1, mark.column + 1) if mark is not None else (None, None)
    return _error(file, f"YAML syntax error: {problem}", line, column)


def _reader_error(file: str | None, text: str, exc: yaml.reader.ReaderError) -> LossConfigError:
    """One positioned line for a character YAML refuses (yaml's own message ends on a second line)."""
    position = exc.position
    line = text.count("\n", 0, position) + 1
    column = position - text.rfind("\n", 0, position)
    code = exc.character if isinstance(exc.character, int) else ord(exc.character)
    return _error(file, f"invalid YAML: unacceptable character #x{code:04x}: {exc.reason}", line, column)


def _check_expansion(root: yaml.Node, file: str | None, max_nodes: int) -> None:
    """Refuse a document whose aliases and merge keys expand past `max_nodes` ("billion laughs").

    Counts the expanded size of every distinct node once (aliases share nodes), before anything is
    expanded, so a bomb costs time and memory proportional to its text, not to its expansion.
    """
    size: dict[int, int] = {}
    pending: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if key in size:
            continue
        children: list[yaml.Node] = []
        if isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [part for pair in node.value for part in pair]
        if not children_done:
            if key in pending:  # an anchor used inside itself
                line, column = _at(node)
                raise _error(file, "document contains a recursive alias; refusing to load it", line, column)
            pending.add(key)
            stack.append((node, True))
            stack.extend((child, False) for child in children if id(child) not in size)
            continue
        pending.discard(key)
        total = 1 + sum(size.get(id(child), 0) for child in children)
        size[key] = total
        if total > max_nodes:
            raise _too_many_nodes(file, node, max_nodes)


def _too_many_nodes(file: str | None, node: yaml.Node, max_nodes: int) -> LossConfigError:
    line, column = _at(node)
    return _error(
        file,
        f"document has more than {max_nodes} nodes once aliases and merge keys are expanded; refusing to load it",
        line,
        column,
    )


def _merge_sources(node: yaml.MappingNode) -> list[yaml.MappingNode]:
    """The mappings that the merge keys of `node` merge, in order (anything else is left out)."""
    sources: list[yaml.MappingNode] = []
    for key_node, value_node in node.value:
        if key_node.tag == _MERGE_TAG:
            items = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
            sources.extend(item for item in items if isinstance(item, yaml.MappingNode))
    return sources


def _merge_problems(value: yaml.Node) -> list[tuple[str, yaml.Node]]:
    """What is wrong with the value of a merge key (it must be a mapping or a list of mappings)."""
    if isinstance(value, yaml.MappingNode):
        return []
    if isinstance(value, yaml.SequenceNode):
        return [
            (f"expected a mapping to merge, found {_kind_of(item)}", item)
            for item in value.value
            if not isinstance(item, yaml.MappingNode)
        ]
    return [(f"expected a mapping or a list of mappings to merge, found {_kind_of(value)}", value)]


def _kind_of(node: yaml.Node) -> str:
    return "a list" if isinstance(node, yaml.SequenceNode) else f"the scalar {node.value!r}"


def _at(node: yaml.Node) -> Location:
    return node.start_mark.line + 1, node.start_mark.column + 1


class _Builder:
    """Turns a composed YAML node tree into plain data while recording positions and problems."""

    def __init__(self, loader: yaml.SafeLoader, file: str | None, max_nodes: int) -> None:
        self.loader = loader
        self.file = file
        self.max_nodes = max_nodes
        self.values: dict[tuple[Key, ...], Location] = {}
        self.keys: dict[tuple[Key, ...], Location] = {}
        self.issues: list[ConfigIssue] = []
        self.count = 0
        self.deepest = 0
        # id of a mapping node -> its pairs once merge keys are applied (see merged)
        self.flat: dict[int, dict[Key, tuple[yaml.Node, yaml.Node]]] = {}

    def fail(self, path: tuple[Key, ...], node: yaml.Node, message: str) -> None:
        line, column = _at(node)
        self.issues.append(ConfigIssue(render_path("", path) or DOCUMENT, message, line, column, None, self.file))

    def build(self, node: yaml.Node, path: tuple[Key, ...], depth: int) -> Any:
        self.count += 1
        if self.count > self.max_nodes:
            raise _too_many_nodes(self.file, node, self.max_nodes)
        self.deepest = max(self.deepest, depth)
        if depth > MAX_DEPTH:
            line, column = _at(node)
            raise _error(self.file, f"document nests deeper than {MAX_DEPTH} levels", line, column)
        self.values.setdefault(path, _at(node))
        if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and node.tag not in _COLLECTION_TAGS:
            self.fail(path, node, f"unsupported YAML tag {node.tag!r}: only plain mappings and lists are allowed")
            return None
        if isinstance(node, yaml.MappingNode):
            return self.build_mapping(node, path, depth)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i), depth + 1) for i, item in enumerate(node.value)]
        return self.scalar(node, path)

    def scalar(self, node: yaml.Node, path: tuple[Key, ...]) -> Any:
        try:
            value = self.loader.construct_object(node, deep=True)
        except yaml.constructor.ConstructorError as exc:
            self.fail(path, node, f"unsupported YAML tag {node.tag!r}: {exc.problem or 'cannot construct it'}")
            return None
        if isinstance(value, (datetime.date, datetime.datetime)):
            return str(node.value)
        if isinstance(value, bytes):
            self.fail(path, node, "binary values are not supported in a config")
            return None
        return value

    def build_mapping(self, node: yaml.MappingNode, path: tuple[Key, ...], depth: int) -> dict[Key, Any]:
        seen: dict[Hashable, yaml.Node] = {}
        merge_seen: yaml.Node | None = None
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                if merge_seen is not None:
                    self.fail(
                        (*path, "<<"),
                        key_node,
                        f"duplicate key '<<' (first written on line {_at(merge_seen)[0]}); "
                        "merge several mappings with `<<: [*a, *b]`",
                    )
                merge_seen = key_node
                for problem, where in _merge_problems(value_node):
                    self.fail(path, where, f"invalid merge key: {problem}")
                continue
            key = self.key(key_node, path)
            if key is None:
                continue
            if str(key) in seen:  # 1 and '1' are one key in a config (omegaconf 2.3 merges them, 2.4 refuses)
                first_line = _at(seen[str(key)])[0]
                self.fail((*path, key), key_node, f"duplicate key {key!r} (first written on line {first_line})")
            else:
                seen[str(key)] = key_node
        result: dict[Key, Any] = {}
        for key, (key_node, value_node) in self.merged(node).items():
            child = (*path, key)
            # A merged value is placed where it is written: in the anchored mapping it came from.
            self.keys[child] = _at(key_node)
            self.values[child] = _at(value_node)
            result[key] = self.build(value_node, child, depth + 1)
        return result

    def merged(self, node: yaml.MappingNode) -> dict[Key, tuple[yaml.Node, yaml.Node]]:
        """The key and value nodes of `node` once its merge keys (`<<`) are applied, by the YAML rule.

        Explicit keys win over merged ones, and in `<<: [*a, *b]` an earlier mapping wins over a later
        one (PyYAML 6.0.4 lets the later one win when keys are not interned strings, so PyYAML's
        `flatten_mapping` is not used). Merged mappings may merge others in turn; the chains are
        followed without recursion (recursive aliases were refused before building).
        """
        stack: list[tuple[yaml.MappingNode, bool]] = [(node, False)]
        while stack:
            current, ready = stack.pop()
            if id(current) in self.flat:
                continue
            sources = _merge_sources(current)
            if not ready:
                stack.append((current, True))
                stack.extend((source, False) for source in sources if id(source) not in self.flat)
                continue
            explicit: dict[Key, tuple[yaml.Node, yaml.Node]] = {}
            for key_node, value_node in current.value:
                if key_node.tag != _MERGE_TAG:
                    key = self.key(key_node, (), report=False)
                    if key is not None:
                        explicit[key] = (key_node, value_node)
            inherited: dict[Key, tuple[yaml.Node, yaml.Node]] = {}
            for source in sources:
                for key, pair in self.flat[id(source)].items():
                    if key not in explicit:
                        inherited.setdefault(key, pair)
            self.flat[id(current)] = {**inherited, **explicit}
        return self.flat[id(node)]

    def key(self, node: yaml.Node, path: tuple[Key, ...], *, report: bool = True) -> Key | None:
        if not isinstance(node, yaml.ScalarNode):
            if report:
                self.fail(path, node, "mapping keys must be strings or integers")
            return None
        if not report:
            try:
                value = self.loader.construct_object(node, deep=True)
            except yaml.constructor.ConstructorError:
                return None
        else:
            value = self.scalar(node, path)
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            return str(node.value)
        return value
