"""The demo's synthetic task: what it provides to the losses, and a check that a collection needs no more.

Features `x` (B x 32) and soft answer scores (B x 10, rows sum to 1) made by a hidden linear teacher,
all from a seeded generator: nothing is downloaded. The model's `scores` are logits (B x 10).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch
from torch import Tensor, nn

from typed_losses.collection import LossCollection
from typed_losses.loss import Loss

__all__ = ["CLASSES", "FEATURES", "PROVIDED", "describe_provided", "missing_inputs", "synthetic_task", "tiny_model"]

FEATURES = 32
CLASSES = 10

#: What the demo passes to the losses: (source, key) -> description.
PROVIDED: dict[tuple[str, str], str] = {
    ("sample_list", "targets"): f"float B x {CLASSES}, soft answer scores (rows sum to 1)",
    ("model_output", "scores"): f"float B x {CLASSES}, logits",
}


def synthetic_task(
    n: int = 2048, features: int = FEATURES, classes: int = CLASSES, *, seed: int = 0
) -> tuple[Tensor, Tensor]:
    """Features and soft answer scores (rows sum to 1) from a hidden linear teacher."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(n, features, generator=generator)
    teacher = torch.randn(features, classes, generator=generator)
    targets = torch.softmax(2.0 * x @ teacher / features**0.5, dim=1)
    return x, targets


def tiny_model(features: int = FEATURES, classes: int = CLASSES, hidden: int = 64) -> nn.Module:
    """A small MLP from features to answer logits (initialised from torch's global RNG)."""
    return nn.Sequential(nn.Linear(features, hidden), nn.ReLU(), nn.Linear(hidden, classes))


def _losses(module: nn.Module) -> Iterator[Loss[Any]]:
    for sub in module.modules():
        if isinstance(sub, Loss):
            yield sub


def missing_inputs(collection: LossCollection) -> list[str]:
    """One message per required input that a loss of `collection` (nested ones included) declares and
    the demo does not provide; empty when the demo can train with it."""
    provided = {(source, key) for source, key in PROVIDED}
    messages = []
    for loss in _losses(collection):
        for spec in type(loss).inputs:
            top = spec.key.split(".")[0]
            if spec.optional or (spec.source, top) in provided:
                continue
            loss_name = type(loss).type_name()
            kind = "" if loss_name == loss.term_name else f" ({loss_name})"
            messages.append(
                f"loss {loss.term_name!r}{kind} reads {spec.source}[{spec.key!r}], which the demo does not provide"
            )
    return messages


def describe_provided() -> str:
    """`the demo provides sample_list['targets'] (...) and model_output['scores'] (...)`."""
    parts = [f"{source}[{key!r}] ({text})" for (source, key), text in PROVIDED.items()]
    return "the demo provides " + " and ".join(parts)
