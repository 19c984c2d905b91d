"""MMF interop: MMF's flat loss keys, and [`MMFLosses`][typed_losses.mmf.MMFLosses], a drop-in for MMF's `Losses` module.

MMF's models put `{"{dataset_type}/{dataset_name}/{loss}": tensor}` in `model_output["losses"]` (a loss
returning several terms adds `/{child}`: `train/vqa2/bce_kl/kl`); the trainer optimises
`sum(value.mean() for value in losses.values())` and the meter logs that sum as
`{dataset_type}/total_loss`. This module maps a [`LossOutput`][typed_losses.LossOutput] to those keys. It does
not import MMF (nor the loss catalog).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING

from torch import Tensor, nn

from typed_losses.collection import LossCollection
from typed_losses.errors import LossInputError
from typed_losses.loss import Batch
from typed_losses.output import LossOutput
from typed_losses.registry import REGISTRY, Registry
from typed_losses.rules import LOSSES_KEY, WEIGHT_LOG_PREFIX

REGULARIZER_KEY = "weight_regularizer"
"""The key (after `{term}/`) of the value holding a learned weight's regulariser (`uncertainty`: `s`)."""

__all__ = ["MISSING_TARGETS_WARNING", "REGULARIZER_KEY", "MMFLosses", "mmf_log_keys"]

MISSING_TARGETS_WARNING = (
    "Sample list has not field 'targets', are you sure that your ImDB has labels? "
    "you may have wanted to run with evaluation.predict=true"
)
"""MMF's warning (verbatim) when a batch has no `targets` and `evaluation.predict` is off."""


def mmf_log_keys(output: LossOutput, dataset_type: str, dataset_name: str) -> dict[str, Tensor]:
    """`output` under MMF's logging keys, detached (for a logger; nothing here keeps the graph alive).

    Every term becomes `{dataset_type}/{dataset_name}/{term}` (a child of a multi-term loss:
    `{dataset_type}/{dataset_name}/{term}/{child}`, as MMF names them) with its unweighted value, and
    `output.total` becomes `{dataset_type}/total_loss`. The total is weighted, so it is the sum of the
    terms' means only when every weight is 1 (as in MMF, which has no weights). The weight of a term whose
    weight changes during training (a schedule, a learned weight) is `{dataset_type}/{dataset_name}/weight/{term}`.

    Examples:
        >>> import torch
        >>> out = LossOutput({"logit_bce": torch.tensor(0.5), "bce_kl/kl": torch.tensor(0.25)}, torch.tensor(0.75))
        >>> {k: float(v) for k, v in mmf_log_keys(out, "train", "vqa2").items()}
        {'train/vqa2/logit_bce': 0.5, 'train/vqa2/bce_kl/kl': 0.25, 'train/total_loss': 0.75}
    """
    prefix = f"{dataset_type}/{dataset_name}/"
    keys = {prefix + name: value.detach() for name, value in output.terms.items()}
    keys[f"{dataset_type}/total_loss"] = output.total.detach()
    keys.update(
        {f"{prefix}{WEIGHT_LOG_PREFIX}{name}": output.weights[name].detach() for name in output.varying_weights}
    )
    return keys


def _dataset_field(sample_list: Batch, key: str) -> str:
    """`sample_list.<key>` (MMF's `SampleList` attribute) or `sample_list[key]` (any mapping)."""
    value = getattr(sample_list, key, None)
    if value is None and isinstance(sample_list, Mapping):
        value = sample_list.get(key)
    if value is None:
        available = [str(k) for k in sample_list] if isinstance(sample_list, Mapping) else []
        listed = ", ".join(repr(k) for k in available) if available else "it is empty"
        raise LossInputError(
            f"MMFLosses needs sample_list.{key} for MMF's loss keys "
            f"'{{dataset_type}}/{{dataset_name}}/{{term}}', which is missing (available: {listed})",
            term="MMFLosses",
            key=key,
            source="sample_list",
            available=available,
        )
    if not isinstance(value, str):
        raise LossInputError(
            f"MMFLosses needs sample_list.{key} to be a string, found {type(value).__name__}",
            term="MMFLosses",
            key=key,
            source="sample_list",
        )
    return value


class MMFLosses(nn.Module):
    """A drop-in for MMF's `Losses`: `forward(sample_list, model_output)` returns MMF's loss dict.

    Built from the `losses` value MMF passes to `Losses` (a list of names and `{type, params}`
    mappings, OmegaConf or plain; typed_losses' `weight`/`name` keys and mapping form also work), or
    from a [`LossCollection`][typed_losses.LossCollection]. The config is checked when it is built: a mistake raises
    [`LossConfigError`][typed_losses.LossConfigError] listing every problem (MMF failed at the first one, or never).

    `forward` runs the collection and returns `{"{dataset_type}/{dataset_name}/{term}": value}` in
    config order (`.../{term}/{child}` for each child of a multi-term loss), reading `dataset_type` and
    `dataset_name` as attributes of MMF's `SampleList` or as keys of any mapping. As in MMF:

    - 0-dim values are reshaped to `(1,)` (other shapes are kept). MMF's distributed reduction stacks
      the raw values of all keys during evaluation, so they must agree in shape with other MMF losses.
    - A batch without `targets` gives `{}` and MMF's `UserWarning` (on every call, shown per the
      warning filters), or no warning with `predict=True` (MMF's `evaluation.predict`).

    Weights, which MMF does not have: each value is `weight * term` (the weight at this step for a
    schedule or a learned weight), and a learned weight's regulariser is one more value,
    `{dataset_type}/{dataset_name}/{term}/weight_regularizer`; so MMF's trainer total (the sum of the
    values' means) is exactly `LossOutput.total`; with all weights 1 the values are
    the unweighted terms. Term names replace MMF's loss type in the keys: they are the type unless an
    entry sets `name:` or the mapping form is used (its keys are the names).

    Schedules read the collection's step counter, which MMF's trainer does not advance: call
    `step()` after each update, as MMF's own LR-scheduler callback does in `on_update_end`
    (`self.trainer.model.losses.step()`). The counter and the learned weights are in the model's
    `state_dict`, so MMF's checkpoints resume them; `set_step()` sets the counter to
    `trainer.num_updates` when resuming from a checkpoint saved without it.
    """

    def step(self) -> None:
        """Advance the collection's step counter ([`LossCollection.step()`][typed_losses.LossCollection.step]): once per update."""
        self.collection.step()

    def set_step(self, step: int) -> None:
        """Set the collection's step counter ([`LossCollection.set_step()`][typed_losses.LossCollection.set_step])."""
        self.collection.set_step(step)

    def __init__(
        self,
        losses: object,
        *,
        predict: bool = False,
        registry: Registry = REGISTRY,
        label: str = LOSSES_KEY,
    ) -> None:
        super().__init__()
        if isinstance(losses, LossCollection):
            self.collection = losses
        else:
            self.collection = LossCollection.from_config(losses, registry=registry, label=label)
        self.predict = predict
        collection = self.collection
        # the terms whose values are weighted (a weight other than 1), and the regularisers of learned weights
        self._weighted = {n for n, w in zip(collection.names, collection.weights, strict=True) if w != 1.0}
        self._regularized = tuple(
            (n, m) for n in collection.varying_weights if (m := collection.weighting_of(n)) is not None
        )

    def _term_of(self, key: str) -> str | None:
        """The weighted term that produced `key` (`term` or `term/child`); `None` for weight 1."""
        if not self._weighted:
            return None
        name = key
        while True:
            if name in self._weighted:
                return name
            if name in self.collection.names or "/" not in name:
                return None
            name = name.rsplit("/", 1)[0]

    def forward(self, sample_list: Batch, model_output: Batch) -> dict[str, Tensor]:
        if "targets" not in sample_list:
            if not self.predict:
                warnings.warn(MISSING_TARGETS_WARNING, UserWarning, stacklevel=2)
            return {}
        prefix = f"{_dataset_field(sample_list, 'dataset_type')}/{_dataset_field(sample_list, 'dataset_name')}/"
        output = self.collection(sample_list, model_output)
        losses: dict[str, Tensor] = {}
        for name, value in output.terms.items():
            term = self._term_of(name)
            weighted = value if term is None else value * output.weights[term]
            losses[prefix + name] = weighted.view(1) if weighted.dim() == 0 else weighted
        for name, module in self._regularized:
            extra = module.regularizer()
            if extra is not None and name not in output.skipped:
                losses[f"{prefix}{name}/{REGULARIZER_KEY}"] = extra.view(1)
        return losses

    if TYPE_CHECKING:

        def __call__(self, sample_list: Batch, model_output: Batch) -> dict[str, Tensor]: ...
