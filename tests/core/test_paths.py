"""``node_at``: the one walk of a dotted path into a config, shared by the CLI and the Hydra adapter."""

from __future__ import annotations

from omegaconf import OmegaConf
from omegaconf.base import Node

from typed_losses.config.paths import node_at, render_path


def test_node_at_walks_keys_and_indices_without_resolving() -> None:
    root = OmegaConf.create({"m": {"losses": [{"type": "mse", "weight": "${m.w}"}], "w": 0.5, "todo": "???"}})
    weight = node_at(root, ["m", "losses", "0", "weight"])
    assert isinstance(weight, Node) and weight._value() == "${m.w}"
    assert node_at(root, ("m", "losses", 0, "type")) is root.m.losses._get_node(0)._get_node("type")
    todo = node_at(root, ["m", "todo"])  # a missing value (???) is still a node
    assert isinstance(todo, Node) and todo._is_missing()
    assert node_at(root, ["m", "losses", "1"]) is None
    assert node_at(root, ["m", "losses", "x"]) is None
    assert node_at(root, ["m", "w", "deeper"]) is None
    assert node_at(root, ["nope"]) is None


def test_render_path_dots_keys_and_brackets_indices() -> None:
    assert render_path("losses", (1, "params", "margin")) == "losses[1].params.margin"
    assert render_path("", ("model", "losses", 0)) == "model.losses[0]"
