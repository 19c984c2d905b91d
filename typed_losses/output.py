"""``LossOutput``: the per-term losses of a step and their weighted total.

A frozen dataclass registered as a pytree node, so it can be built and returned inside
``torch.compile(..., fullgraph=True)`` (a frozen attrs class cannot be constructed there).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping

from torch import Tensor
from torch.utils import _pytree as pytree

__all__ = ["LossOutput"]


@dataclasses.dataclass(frozen=True)
class LossOutput:
    """What a :class:`~typed_losses.LossCollection` returns.

    Attributes:
        terms: every loss term by name, in config order. A loss returning several terms contributes one
            ``"{term}/{child}"`` entry per child (e.g. ``bce_kl/kl`` and ``bce_kl/bce``). Values are the
            tensors the losses returned (usually 0-dim).
        total: a 0-dim tensor, ``sum(weight * term.mean())`` over all terms: the value to optimise.
    """

    terms: Mapping[str, Tensor]
    total: Tensor

    def __getitem__(self, name: str) -> Tensor:
        return self.terms[name]

    def detached(self) -> dict[str, float]:
        """Every term's mean and the total as Python floats, for logging (synchronises with the device)."""
        values = {name: float(value.detach().float().mean()) for name, value in self.terms.items()}
        values["total"] = float(self.total.detach())
        return values


def _flatten(output: LossOutput) -> tuple[list[Tensor], tuple[str, ...]]:
    names = tuple(output.terms)
    return [*output.terms.values(), output.total], names


def _unflatten(values: Iterable[Tensor], names: tuple[str, ...]) -> LossOutput:
    *terms, total = values
    return LossOutput(dict(zip(names, terms, strict=True)), total)


def _flatten_with_keys(output: LossOutput) -> tuple[list[tuple[pytree.KeyEntry, Tensor]], tuple[str, ...]]:
    names = tuple(output.terms)
    keyed: list[tuple[pytree.KeyEntry, Tensor]] = [
        (pytree.MappingKey(name), value) for name, value in output.terms.items()
    ]
    keyed.append((pytree.GetAttrKey("total"), output.total))
    return keyed, names


pytree.register_pytree_node(
    LossOutput,
    _flatten,
    _unflatten,
    serialized_type_name="typed_losses.LossOutput",
    flatten_with_keys_fn=_flatten_with_keys,
)
