"""The demo's training loop: a seeded run that records every term's loss at every step."""

from __future__ import annotations

import math
from collections.abc import Callable

import attrs
import torch

from typed_losses.collection import LossCollection
from typed_losses.demo.task import synthetic_task, tiny_model

__all__ = ["BATCH", "History", "train"]

BATCH = 64
LR = 0.01


@attrs.define
class History:
    """Per-step values: ``columns`` (the terms, then ``total``) and one row of floats per step."""

    columns: tuple[str, ...] = ()
    rows: list[tuple[float, ...]] = attrs.field(factory=list)

    def series(self, column: str) -> list[float]:
        index = self.columns.index(column)
        return [row[index] for row in self.rows]


#: Called after each step with (step, steps, the step's values by column).
OnStep = Callable[[int, int, dict[str, float]], None]


def train(collection: LossCollection, *, steps: int, seed: int, on_step: OnStep | None = None) -> History:
    """Train a small MLP on the synthetic task with ``collection``'s total loss; the same seed, the same history.

    Adam with a cosine learning-rate decay. Torch's global RNG state is restored afterwards. Raises what
    the losses raise (:class:`~typed_losses.LossInputError` for inputs they cannot use). Runs on one
    intra-op thread (restored afterwards).
    """
    history = History()
    threads = torch.get_num_threads()
    # Tensors of 64 x 32: intra-op threads only add contention (5-10x slower on a busy 2-core machine).
    torch.set_num_threads(1)
    try:
        return _train(collection, history, steps=steps, seed=seed, on_step=on_step)
    finally:
        torch.set_num_threads(threads)


def _train(collection: LossCollection, history: History, *, steps: int, seed: int, on_step: OnStep | None) -> History:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        x, targets = synthetic_task(seed=seed)
        model = tiny_model(x.size(1), targets.size(1))
        optimizer = torch.optim.Adam(model.parameters(), lr=LR)
        schedule = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda step: 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * step / max(1, steps)))
        )
        for step in range(1, steps + 1):
            index = torch.randint(0, x.size(0), (BATCH,))
            output = collection({"targets": targets[index]}, {"scores": model(x[index])})
            optimizer.zero_grad(set_to_none=True)
            output.total.backward()
            optimizer.step()
            schedule.step()
            values = output.detached()
            if not history.columns:
                history.columns = tuple(values)
            history.rows.append(tuple(values[c] for c in history.columns))
            if on_step is not None:
                on_step(step, steps, values)
    return history
