"""``typed-losses demo``: validate a losses config, then train a small model on synthetic data with it."""

from __future__ import annotations

import time
from importlib import resources
from typing import TextIO

import torch
from torch import nn

from typed_losses.cli_support import losses_node
from typed_losses.collection import LossCollection
from typed_losses.config.yaml import load_yaml
from typed_losses.errors import LossConfigError, LossInputError

__all__ = ["DEFAULT_CONFIG", "run_demo", "synthetic_task"]

DEFAULT_CONFIG = "demo.yaml"


def synthetic_task(
    n: int = 2048, features: int = 32, classes: int = 10, *, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Features and soft answer scores (rows sum to 1) from a hidden linear teacher."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(n, features, generator=generator)
    teacher = torch.randn(features, classes, generator=generator)
    targets = torch.softmax(2.0 * x @ teacher / features**0.5, dim=1)
    return x, targets


def run_demo(*, config: str | None, steps: int, seed: int, out: TextIO) -> int:
    """Validate ``config`` (or the bundled demo config), train, print per-term losses; 0 on success."""
    try:
        if config is None:
            with resources.as_file(resources.files(__package__) / DEFAULT_CONFIG) as path:
                root = load_yaml(path)
            config = str(resources.files(__package__) / DEFAULT_CONFIG)
        else:
            root = load_yaml(config)
        collection = LossCollection.from_config(losses_node(root, config))
    except LossConfigError as exc:
        for issue in exc.issues:
            print(issue.format(severity="error"), file=out)
        return 1
    print(f"{config}: ok: {len(collection)} loss terms: {', '.join(collection.names)}", file=out)

    torch.manual_seed(seed)
    x, targets = synthetic_task(seed=seed)
    model = nn.Linear(x.size(1), targets.size(1))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    batch = 64
    start = time.perf_counter()
    first = last = None
    for step in range(1, steps + 1):
        index = torch.randint(0, x.size(0), (batch,))
        sample_list = {"targets": targets[index]}
        try:
            output = collection(sample_list, {"scores": model(x[index])})
        except LossInputError as exc:
            print(f"error: {exc}", file=out)
            return 1
        optimizer.zero_grad(set_to_none=True)
        output.total.backward()
        optimizer.step()
        if step == 1 or step % max(1, steps // 5) == 0 or step == steps:
            values = output.detached()
            first = first if first is not None else values["total"]
            last = values["total"]
            terms = "  ".join(f"{k}={v:.4f}" for k, v in values.items())
            print(f"step {step:4d}  {terms}", file=out)
    elapsed = time.perf_counter() - start
    print(f"trained {steps} steps in {elapsed:.1f}s: total loss {first:.4f} -> {last:.4f}", file=out)
    return 0
