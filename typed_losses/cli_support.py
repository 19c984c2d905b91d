"""Finding the `losses` values of a config document, and showing text safely on a terminal (shared by the
CLI commands and the demo)."""

from __future__ import annotations

import unicodedata

from omegaconf.base import Container, Node

from typed_losses.config.paths import find_key, node_at
from typed_losses.errors import ConfigIssue, LossConfigError
from typed_losses.rules import LOSSES_KEY

__all__ = ["LOSSES_KEY", "count", "find_losses", "losses_node", "printable", "select"]

#: Unicode categories never written to a terminal as they are: control (ESC, BEL, newlines), format
#: (bidirectional overrides, zero-width characters), surrogates, private use, unassigned, line/paragraph
#: separators.
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
_NAMED_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def printable(text: str) -> str:
    """`text` with every control or invisible character written as a visible escape (`\\x1b`,
    `\\n`, `\\u202e`), so that names from a config reach a terminal literally and as one line."""
    if text.isascii() and text.isprintable():  # the common case, at C speed
        return text
    out = []
    for char in text:
        if unicodedata.category(char) not in _HIDDEN_CATEGORIES:
            out.append(char)
        elif char in _NAMED_ESCAPES:
            out.append(_NAMED_ESCAPES[char])
        else:
            code = ord(char)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
    return "".join(out)


def count(number: int, noun: str, plural: str | None = None) -> str:
    """`1 loss term`, `2 loss terms`: a count with its noun in the right number."""
    return f"{number} {noun if number == 1 else plural or noun + 's'}"


def find_losses(node: Node, key: str = LOSSES_KEY) -> list[Node]:
    """Every value of a key named `key` anywhere in the document, in document order, unresolved."""
    return [found for _, found in find_key(node, key)]


def select(root: Container, dotted: str) -> Node | None:
    """The node at `dotted` (`model_config.vqa.losses`; list indices as numbers), unresolved."""
    return node_at(root, dotted.split("."))


def losses_node(root: Container, file: str | None) -> Node:
    """The single `losses` value of a document; a LossConfigError when there is none or several."""
    nodes = find_losses(root)
    if len(nodes) != 1:
        found = "none" if not nodes else f"{len(nodes)}"
        raise LossConfigError(
            [ConfigIssue("<document>", f"expected exactly one `{LOSSES_KEY}` key, found {found}", file=file)]
        )
    return nodes[0]
