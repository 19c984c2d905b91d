"""`multi`: a weighted sum of child losses, configured as MMF does:

```yaml
losses:
- type: multi
  params:
  - type: logit_bce
    weight: 0.3
  - type: attention_supervision
    weight: 0.7
    params: {}
```

`params` is a list of ordinary loss entries (`type`, optional `weight`, `params` and `name`),
checked recursively: a mistake is reported at its full path (`losses[0].params[1].type`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

import attrs
from torch import Tensor

from typed_losses.collection import LossList, build_term
from typed_losses.constraints import constraint
from typed_losses.loss import Batch, Loss
from typed_losses.output import contribution
from typed_losses.registry import register_loss
from typed_losses.rules import NESTED_WEIGHT_TEXT, describe_value
from typed_losses.term import Term
from typed_losses.weighting import WeightParams

__all__ = ["MultiLoss", "MultiParams"]


def _as_terms(value: Iterable[Term[Any]]) -> tuple[Term[Any], ...]:
    raw: object = value  # checked at run time: a mistake is one clear error, not one from deep inside
    if isinstance(raw, (str, bytes)) or not isinstance(raw, Iterable):
        raise TypeError(f"MultiParams.losses must be a list of Term, found {describe_value(raw)}")
    terms: list[Term[Any]] = []
    for i, item in enumerate(raw):
        if not isinstance(item, Term):
            if attrs.has(type(item)):
                name = type(item).__name__
                raise TypeError(f"MultiParams.losses[{i}] must be a Term, found {name}(...): write Term({name}(...))")
            raise TypeError(f"MultiParams.losses[{i}] must be a Term, found {describe_value(item)}")
        if isinstance(item.weight, WeightParams):
            raise ValueError(f"MultiParams.losses[{i}].weight: {NESTED_WEIGHT_TEXT}")
        terms.append(item)
    return tuple(terms)


@attrs.frozen(kw_only=True)
class MultiParams:
    """Params of `multi`: the child loss entries. In a config, `params` is the list itself."""

    losses: tuple[Term[Any], ...] = attrs.field(
        converter=_as_terms,
        **constraint(
            min_len=1,
            doc="child loss entries {type, weight (default 1.0), params}, summed with their weights",
            example=[{"type": "logit_bce", "weight": 0.3}, {"type": "softmax_kldiv", "weight": 0.7}],
        ),
    )


@register_loss("multi")
class MultiLoss(Loss[MultiParams]):
    r"""Weighted sum of child losses: `sum(weight_i * child_i)`, one 0-dim term.

    A child returning a non-scalar tensor contributes its mean; a child returning several terms
    (e.g. `bce_kl`) contributes the sum of every term's mean. Over each child $k$ (weight $w_k$) and each
    term $j$ it returns:

    $$
    \ell = \sum_k w_k \sum_{j} \operatorname{mean}\big(\ell_{kj}\big)
    $$

    Differs from MMF:

    - A child's `weight` defaults to 1.0. MMF has no working default (a missing weight fails at the
      first forward with `TypeError: unsupported operand type(s) for *: 'dict' and 'Tensor'`).
    - A child returning several terms contributes all of them. MMF silently used only the first
      (for `bce_kl`: only `kl`, dropping `bce`).
    - Children are registered submodules (`nn.ModuleList`): they move with `.to(device)` and their
      buffers appear in `state_dict`. MMF kept them in a plain list.
    - Always a 0-dim tensor (MMF: shape `(1,)`, from the wrapper-reshaped child values).
    """

    losses: LossList

    def __init__(self, params: MultiParams, *, name: str | None = None) -> None:
        super().__init__(params, name=name)
        self.losses = LossList([build_term(term)[1] for term in params.losses])
        # numbers: MultiParams refuses a weight kind in a child
        self.weights: tuple[float, ...] = tuple(cast(float, term.weight) for term in params.losses)

    def forward(self, sample_list: Batch, model_output: Batch) -> Tensor:
        total: Tensor | None = None
        for weight, loss in zip(self.weights, self.losses, strict=True):
            part = contribution(loss(sample_list, model_output), loss=loss)
            if part is None:
                continue
            if weight != 1.0:
                part = part * weight
            total = part if total is None else total + part
        if total is None:
            raise ValueError(f"loss {self.term_name!r}: no child loss returned a value")
        return total
