"""Finding the ``losses`` values of a config document (shared by the CLI commands and the demo)."""

from __future__ import annotations

from omegaconf import DictConfig, ListConfig
from omegaconf.base import Container, Node

from typed_losses.config.paths import node_at
from typed_losses.errors import ConfigIssue, LossConfigError

__all__ = ["LOSSES_KEY", "find_losses", "losses_node", "select"]

LOSSES_KEY = "losses"


def find_losses(node: Node, key: str = LOSSES_KEY) -> list[Node]:
    """Every value of a key named ``key`` anywhere in the document, outermost first, unresolved."""
    found: list[Node] = []
    if isinstance(node, DictConfig):
        for name in node:
            child = node._get_node(name)
            assert isinstance(child, Node)
            if name == key:
                found.append(child)
            elif isinstance(child, Container):
                found.extend(find_losses(child, key))
    elif isinstance(node, ListConfig):
        for i in range(len(node)):
            item = node._get_node(i)
            if isinstance(item, Container):
                found.extend(find_losses(item, key))
    return found


def select(root: Container, dotted: str) -> Node | None:
    """The node at ``dotted`` (``model_config.vqa.losses``; list indices as numbers), unresolved."""
    return node_at(root, dotted.split("."))


def losses_node(root: Container, file: str | None) -> Node:
    """The single ``losses`` value of a document; a LossConfigError when there is none or several."""
    nodes = find_losses(root)
    if len(nodes) != 1:
        found = "none" if not nodes else f"{len(nodes)}"
        raise LossConfigError(
            [ConfigIssue("<document>", f"expected exactly one `{LOSSES_KEY}` key, found {found}", file=file)]
        )
    return nodes[0]
