"""The demo's training loop: a seeded run that records every term's loss at every step."""

from __future__ import annotations

import math
from collections.abc import Callable

import attrs
import torch

from typed_losses.collection import LossCollection
from typed_losses.demo.task import synthetic_task, tiny_model
from typed_losses.rules import WEIGHT_LOG_PREFIX

__all__ = ["BATCH", "History", "train"]

BATCH = 64
LR = 0.01


@attrs.define
class History:
    """Per-step values: `columns` and one row of floats per step.

    The columns are the losses as `LossOutput.to_log()` names them (every term, then `total`), then
    `weight/<term>` for every term: its weight at that step (constant weights too). `varying` lists the
    weight columns that change during training (schedules, learned weights: those `to_log()` logs).
    """

    columns: tuple[str, ...] = ()
    rows: list[tuple[float, ...]] = attrs.field(factory=list)
    varying: tuple[str, ...] = ()

    def series(self, column: str) -> list[float]:
        index = self.columns.index(column)
        return [row[index] for row in self.rows]

    @property
    def loss_columns(self) -> tuple[str, ...]:
        """The terms, then `total`."""
        return tuple(c for c in self.columns if not c.startswith(WEIGHT_LOG_PREFIX))

    @property
    def weight_columns(self) -> tuple[str, ...]:
        """`weight/<term>` for every term, in config order."""
        return tuple(c for c in self.columns if c.startswith(WEIGHT_LOG_PREFIX))


#: Called after each step with (step, steps, the step's `LossOutput.to_log()` as floats): every term, the
#: total, and `weight/<term>` for each weight that changes during training.
OnStep = Callable[[int, int, dict[str, float]], None]


def train(collection: LossCollection, *, steps: int, seed: int, on_step: OnStep | None = None) -> History:
    """Train a small MLP on the synthetic task with `collection`'s total loss; the same seed, the same history.

    Adam (on the model's parameters and the collection's: a learned weight trains with the model) with a
    cosine learning-rate decay; `collection.step()` after every optimizer step advances the weight
    schedules. Torch's global RNG state is restored afterwards. Raises what
    the losses raise ([`LossInputError`][typed_losses.LossInputError] for inputs they cannot use). Runs on one
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
        # the collection's parameters too: learned weights (`weight: {type: uncertainty}`) train with the model
        optimizer = torch.optim.Adam([*model.parameters(), *collection.parameters()], lr=LR)
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
            collection.step()  # once per optimizer step: the weight schedules' step counter
            logged = {name: float(value) for name, value in output.to_log().items()}
            weights = {WEIGHT_LOG_PREFIX + name: float(value.detach()) for name, value in output.weights.items()}
            row = {name: value for name, value in logged.items() if name not in weights} | weights
            if not history.columns:
                history.columns = tuple(row)
                history.varying = tuple(name for name in logged if name in weights)
            history.rows.append(tuple(row[c] for c in history.columns))
            if on_step is not None:
                on_step(step, steps, logged)
    return history
