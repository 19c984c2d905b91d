"""`LossOutput`: the per-term losses of a step and their weighted total.

A frozen dataclass registered as a pytree node, so it can be built and returned inside
`torch.compile(..., fullgraph=True)` (a frozen attrs class cannot be constructed there).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any, cast

from torch import Tensor
from torch.utils import _pytree as pytree

from typed_losses.errors import LossOutputError
from typed_losses.loss import Loss, LossValue, output_error, shape_of
from typed_losses.rules import RESERVED_NAMES, WEIGHT_LOG_PREFIX

__all__ = ["LossOutput", "complex_error", "contribution", "declared_but_tensor", "describe", "mean_of"]

_EXPECTED = "a loss returns a tensor or a mapping of term names to tensors"


def contribution(
    value: LossValue, name: str = "", terms: dict[str, Tensor] | None = None, *, loss: Loss[Any] | None = None
) -> Tensor | None:
    """What a loss value adds to a total: its mean, or the sum of its terms' means (`None`: no terms).

    With `terms`, also records the value there: as `name`, or one `"{name}/{child}"` entry per child.
    `value` is checked (a [`LossOutputError`][typed_losses.LossOutputError] naming `loss` and what it returned): a
    real tensor (floating-point unless 0-dim; never complex), or, from a loss declaring `output_terms`, a
    mapping of exactly those names to such tensors (a loss declaring none may return any such mapping).
    """
    if isinstance(value, Tensor):
        if loss is not None and loss.output_terms:
            raise declared_but_tensor(loss, value)
        if terms is not None:
            terms[name] = value
        if value.dim() != 0:
            return mean_of(value, loss)
        if value.is_complex():
            raise complex_error(loss, value)
        return value
    if not isinstance(value, Mapping):
        raise output_error(loss, f"returned {describe(value)}; {_EXPECTED}")
    if loss is not None and loss.output_terms and value.keys() != loss._output_set:
        returned = tuple(value)
        raise output_error(loss, f"declares output_terms {loss.output_terms!r} but returned the terms {returned!r}")
    total: Tensor | None = None
    for child, child_value in value.items():
        if not isinstance(child, str) or not isinstance(child_value, Tensor):
            raise output_error(loss, f"returned a mapping whose item {child!r} is {describe(child_value)}; {_EXPECTED}")
        if terms is not None:
            terms[f"{name}/{child}"] = child_value
        if child_value.dim() != 0:
            part = mean_of(child_value, loss, child)
        elif child_value.is_complex():
            raise complex_error(loss, child_value, child)
        else:
            part = child_value
        total = part if total is None else total + part
    return total


def mean_of(value: Tensor, loss: Loss[Any] | None = None, child: str | None = None) -> Tensor:
    """`value.mean()`, or a [`LossOutputError`][typed_losses.LossOutputError] when `value` is not floating-point."""
    if value.is_floating_point():
        return value.mean()
    raise output_error(
        loss, f"returned {_what(value, child)}; the total takes its mean, which needs a floating-point tensor"
    )


def complex_error(loss: Loss[Any] | None, value: Tensor, child: str | None = None) -> LossOutputError:
    """The [`LossOutputError`][typed_losses.LossOutputError] for a complex 0-dim loss value (`raise` it)."""
    return output_error(loss, f"returned {_what(value, child)}; a loss value is real (floating-point, integer or bool)")


def declared_but_tensor(loss: Loss[Any], value: Tensor) -> LossOutputError:
    """The [`LossOutputError`][typed_losses.LossOutputError] for a tensor from a loss declaring `output_terms`."""
    return output_error(
        loss,
        f"declares output_terms {loss.output_terms!r} but returned {describe(value)}, "
        "not a mapping of those terms to tensors",
    )


def _what(value: Tensor, child: str | None) -> str:
    return describe(value) if child is None else f"a mapping whose item {child!r} is {describe(value)}"


def describe(value: object) -> str:
    """What came back, for messages: `None`, `float 0.5`, `a list of 2 items`, `an int64 tensor of shape (4,)`."""
    if value is None:
        return "None"
    if isinstance(value, Tensor):
        dtype = str(value.dtype).removeprefix("torch.")
        return f"{'an' if dtype[0] in 'aeiou' else 'a'} {dtype} tensor of shape {shape_of(value)}"
    if isinstance(value, (bool, int, float, complex)):
        return f"{type(value).__name__} {value!r}"
    if isinstance(value, Mapping):
        return f"a mapping ({type(value).__name__})"
    if isinstance(value, (list, tuple)):
        return f"a {type(value).__name__} of {len(value)} item{'' if len(value) == 1 else 's'}"
    return f"a {type(value).__name__}"


@dataclasses.dataclass(frozen=True)
class LossOutput:
    """What a [`LossCollection`][typed_losses.LossCollection] returns.

    Attributes:
        terms: every loss term by name, in config order. A loss returning several terms contributes one
            `"{term}/{child}"` entry per child (e.g. `bce_kl/kl` and `bce_kl/bce`). Values are the
            tensors the losses returned (usually 0-dim).
        total: a 0-dim tensor, the value to optimise: the sum over the terms of `weight * term.mean()`
            (a term returning several terms: the sum of their means), plus the regulariser of a learned
            weight (`uncertainty`: `exp(-s) * term + s`). Zero (without gradient) when no term was
            computed.
        skipped: the terms not computed because their targets were absent from `sample_list`, in config
            order; only a collection in `missing_targets="skip"` mode skips terms (see
            [`LossCollection`][typed_losses.LossCollection]). Skipped terms are absent from `terms` and `total`.
        weights: every configured term name (skipped ones too) -> its weight at this call, a 0-dim tensor:
            the number, the schedule's value at the collection's step, or a learned weight (`exp(-s)`).
        varying_weights: the names of the terms whose weight is not a constant (schedules, learned
            weights): [`to_log()`][typed_losses.LossOutput.to_log] logs their weights.

    Examples:
        >>> import torch
        >>> output = LossOutput({"ce": torch.tensor(0.5), "bce_kl/kl": torch.tensor(0.25)}, torch.tensor(0.75))
        >>> list(output.terms)
        ['ce', 'bce_kl/kl']
        >>> float(output["ce"])
        0.5
        >>> output.detached()
        {'ce': 0.5, 'bce_kl/kl': 0.25, 'total': 0.75}
    """

    terms: Mapping[str, Tensor]
    total: Tensor
    skipped: tuple[str, ...] = ()
    weights: Mapping[str, Tensor] = dataclasses.field(default_factory=dict)
    varying_weights: tuple[str, ...] = ()

    def __getitem__(self, name: str) -> Tensor:
        return self.terms[name]

    def detached(self) -> dict[str, float]:
        """Every term's mean and the total as Python floats, for logging (synchronises with the device)."""
        values = {name: float(value.detach().float().mean()) for name, value in self.terms.items()}
        values["total"] = float(self.total.detach())
        return values

    def to_log(self, prefix: str = "") -> dict[str, Tensor]:
        """A flat `{name: 0-dim tensor}` to log, detached and without a host sync.

        `prefix + key` for every key of `terms` (its mean), `prefix + "total"`, and
        `prefix + "weight/" + name` for every term whose weight is not a constant. Made for Lightning's
        `self.log_dict(output.to_log("train/"))`, TensorBoard's `add_scalars` and `wandb.log` (those
        two read each value once: it is then that the device synchronises).

        Examples:
            >>> import torch
            >>> output = LossOutput(
            ...     {"ce": torch.tensor([0.5, 1.5])}, torch.tensor(0.5), weights={"ce": torch.tensor(0.5)},
            ...     varying_weights=("ce",),
            ... )
            >>> output.to_log("train/")
            {'train/ce': tensor(1.), 'train/total': tensor(0.5000), 'train/weight/ce': tensor(0.5000)}
        """
        if not isinstance(prefix, str):
            raise TypeError(f"to_log: prefix must be a str, found {describe(prefix)}")
        log = {prefix + name: _mean_for_log(value) for name, value in self.terms.items()}
        log[prefix + RESERVED_NAMES[0]] = self.total.detach()
        for name in self.varying_weights:
            log[prefix + WEIGHT_LOG_PREFIX + name] = self.weights[name].detach()
        return log


def _mean_for_log(value: Tensor) -> Tensor:
    """A term's value as a detached 0-dim tensor: itself, or its mean (as float for an integer tensor)."""
    value = value.detach()
    if value.dim() == 0:
        return value
    return value.mean() if value.is_floating_point() or value.is_complex() else value.float().mean()


_Context = tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...], tuple[str, ...]]


def _flatten(output: LossOutput) -> tuple[list[Tensor], _Context]:
    context = (tuple(output.terms), output.skipped, tuple(output.weights), output.varying_weights)
    return [*output.terms.values(), output.total, *output.weights.values()], context


def _unflatten(values: Iterable[Tensor], context: _Context) -> LossOutput:
    names, skipped, weight_names, varying = context
    items = list(values)
    terms = dict(zip(names, items[: len(names)], strict=True))
    weights = dict(zip(weight_names, items[len(names) + 1 :], strict=True))
    return LossOutput(terms, items[len(names)], skipped, weights, varying)


def _flatten_with_keys(output: LossOutput) -> tuple[list[tuple[pytree.KeyEntry, Tensor]], _Context]:
    # torch's key classes are its KeyEntry protocol at run time; their stubs' parameter names differ from it
    # (pyright compares them), hence the casts.
    keyed: list[tuple[pytree.KeyEntry, Tensor]] = [
        (cast("pytree.KeyEntry", pytree.MappingKey(name)), value) for name, value in output.terms.items()
    ]
    keyed.append((cast("pytree.KeyEntry", pytree.GetAttrKey("total")), output.total))
    keyed.extend(
        (cast("pytree.KeyEntry", pytree.GetAttrKey(f"weights[{name!r}]")), value)
        for name, value in output.weights.items()
    )
    return keyed, _flatten(output)[1]


pytree.register_pytree_node(
    LossOutput,
    _flatten,
    _unflatten,
    serialized_type_name="typed_losses.LossOutput",
    flatten_with_keys_fn=_flatten_with_keys,
)
