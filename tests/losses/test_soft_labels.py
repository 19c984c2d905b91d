"""The soft-label family: ``softmax_kldiv``, ``weighted_softmax``, ``wrong``, ``bce_kl``, ``bce_kl_combined``,
``soft_label_cross_entropy``, ``label_smoothing_cross_entropy``.

Expected numbers here are hand-computed (closed forms); MMF's own outputs (on the literal inputs of the MMF
reference and MMF's ``test_bce_kl_loss`` fixture) live in the cases (``tests/helpers/cases.py``), with the
compile and no-sync runs. The ``mmf_*`` functions re-implement MMF's algorithms row by row in float64.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from helpers.cases import CASES
from helpers.checks import (
    PROPERTY,
    RTOL,
    assert_each_key_required,
    assert_value,
    build,
    scalar,
    terms_of,
)
from helpers.mmf_inputs import Y_IGNORED, S, T, Y, randn
from hypothesis import given
from hypothesis import strategies as st
from omegaconf import DictConfig
from torch import Tensor
from torch.utils._python_dispatch import TorchDispatchMode

import typed_losses.functional.soft_labels as functional
from typed_losses import REGISTRY, LossCollection, LossConfigError, LossShapeError, load_yaml_text
from typed_losses.losses import (
    BinaryCrossEntropyKlCombinedParams,
    BinaryCrossEntropyKlParams,
    LabelSmoothingCrossEntropyParams,
    SoftLabelCrossEntropyParams,
)

LN2 = math.log(2.0)
EPS32 = float(torch.finfo(torch.float32).eps)


# -- independent references (MMF's algorithms, float64, row by row) ----------------------------------------


def _log_softmax(row: list[float]) -> list[float]:
    top = max(row)
    log_z = top + math.log(sum(math.exp(x - top) for x in row))
    return [x - log_z for x in row]


def _normalized(row: list[float]) -> tuple[list[float], float]:
    total = sum(row)
    total = 1e-6 if total == 0 else total
    return [t / total for t in row], total


def _kl(target: list[float], log_p: list[float]) -> float:
    return sum(t * (math.log(t) - lp) for t, lp in zip(target, log_p, strict=True) if t != 0)


def mmf_kl_terms(scores: Tensor, targets: Tensor) -> list[tuple[float, float]]:
    """Per row: (KL of the normalised targets from softmax(scores), the row's 1e-6-patched target sum)."""
    out = []
    for s_row, t_row in zip(scores.double().tolist(), targets.double().tolist(), strict=True):
        normalized, total = _normalized(t_row)
        out.append((_kl(normalized, _log_softmax(s_row)), total))
    return out


def mmf_softmax_kldiv(scores: Tensor, targets: Tensor) -> float:
    return sum(kl for kl, _ in mmf_kl_terms(scores, targets)) / scores.size(0)


def mmf_weighted_softmax(scores: Tensor, targets: Tensor) -> float:
    return sum(kl * total for kl, total in mmf_kl_terms(scores, targets)) / scores.size(0)


def mmf_soft_label_ce(
    scores: Tensor, targets: Tensor, *, ignore_index: int = -100, reduction: str = "mean", normalize: bool = True
) -> float:
    n_classes = scores.size(1)
    total, rows = 0.0, 0
    for i, s_row in enumerate(scores.double().tolist()):
        if targets.dim() == 1:
            index = int(targets[i])
            kept = index != ignore_index
            row = [1.0 if (kept and j == index) else 0.0 for j in range(n_classes)]
        else:
            row = [float(v) for v in targets[i].double()]
            kept = sum(row) != 0
        if not kept:
            continue
        rows += 1
        if normalize:
            row = [v / (EPS32 + sum(row)) for v in row]
        total += -sum(v * lp for v, lp in zip(row, _log_softmax(s_row), strict=True))
    return total / max(rows, 1) if reduction == "mean" else total


def mmf_label_smoothing_ce(
    scores: Tensor, targets: Tensor, *, label_smoothing: float, ignore_index: int = -100, reduction: str = "mean"
) -> float:
    n_classes = scores.size(1)
    smoothed = []
    for index in targets.tolist():
        if index == ignore_index:
            smoothed.append([0.0] * n_classes)
        else:
            other = label_smoothing / (n_classes - 1)
            smoothed.append([1 - label_smoothing if j == index else other for j in range(n_classes)])
    return mmf_soft_label_ce(scores, torch.tensor(smoothed, dtype=torch.float64), reduction=reduction, normalize=False)


def _soft_targets(seed: int, b: int, c: int) -> Tensor:
    """Sparse non-negative targets with some all-zero rows (VQA-like)."""
    g = torch.Generator().manual_seed(seed)
    values = torch.rand(b, c, generator=g) * (torch.rand(b, c, generator=g) < 0.5)
    return values * (torch.rand(b, 1, generator=g) < 0.8)


def _indices(seed: int, b: int, c: int, ignore_index: int = -100) -> Tensor:
    g = torch.Generator().manual_seed(seed)
    index = torch.randint(0, c, (b,), generator=g)
    return torch.where(torch.rand(b, generator=g) < 0.25, torch.full_like(index, ignore_index), index)


def _cross_entropy_or_zero(scores: Tensor, targets: Tensor, *, ignore_index: int) -> Tensor:
    """torch's cross-entropy, with 0 where every row is ignored (torch gives NaN, MMF's losses 0)."""
    value = F.cross_entropy(scores, targets, ignore_index=ignore_index)
    return torch.where(torch.isnan(value), torch.zeros_like(value), value)


SHAPES = {"b": st.integers(1, 5), "c": st.integers(2, 6), "seed": st.integers(0, 2**16)}


# -- softmax_kldiv, weighted_softmax, wrong --------------------------------------------------------------


def test_kl_losses_hand_computed() -> None:
    # Uniform softmax over 2 classes against a one-hot target: KL = ln 2.
    scores, one_hot = torch.zeros(1, 2), torch.tensor([[1.0, 0.0]])
    for name in ("softmax_kldiv", "wrong", "weighted_softmax"):
        assert_value(build(name)({"targets": one_hot}, {"scores": scores}), LN2)
    # weighted_softmax scales each row's KL by its target mass; an all-zero row counts 0 but is in B.
    targets = torch.tensor([[3.0, 0.0], [0.0, 0.0]])
    assert_value(build("weighted_softmax")({"targets": targets}, {"scores": torch.zeros(2, 2)}), 3 * LN2 / 2)
    assert_value(build("softmax_kldiv")({"targets": targets}, {"scores": torch.zeros(2, 2)}), LN2 / 2)


def test_wrong_emits_no_warning() -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        build("wrong")({"targets": T}, {"scores": S})  # MMF warns about reduction='mean' on every call


@PROPERTY
@given(**SHAPES)
def test_kl_losses_match_mmf_reference(b: int, c: int, seed: int) -> None:
    scores, targets = 2 * randn(seed, b, c), _soft_targets(seed + 1, b, c)
    batch = ({"targets": targets}, {"scores": scores})
    assert_value(build("softmax_kldiv")(*batch), mmf_softmax_kldiv(scores, targets), atol=1e-6)
    assert_value(build("wrong")(*batch), mmf_softmax_kldiv(scores, targets), atol=1e-6)
    assert_value(build("weighted_softmax")(*batch), mmf_weighted_softmax(scores, targets), atol=1e-6)


@PROPERTY
@given(**SHAPES, scale=st.floats(0.25, 8.0))
def test_weighted_softmax_is_mass_weighted_softmax_kldiv(b: int, c: int, seed: int, scale: float) -> None:
    scores = randn(seed, b, c)
    distributions = torch.softmax(randn(seed + 1, b, c), dim=1)
    kldiv = build("softmax_kldiv")({"targets": distributions}, {"scores": scores})
    weighted = build("weighted_softmax")({"targets": scale * distributions}, {"scores": scores})
    torch.testing.assert_close(scalar(weighted), scale * scalar(kldiv), rtol=1e-5, atol=1e-6)


def test_kl_losses_errors() -> None:
    for name in ("softmax_kldiv", "wrong", "weighted_softmax"):
        loss = build(name)
        assert_each_key_required(loss, {"targets": T}, {"scores": S})
        with pytest.raises(LossShapeError, match="same shape"):
            loss({"targets": T[:, :3]}, {"scores": S})
        with pytest.raises(LossShapeError, match="rank 2"):
            loss({"targets": T[0]}, {"scores": S[0]})


# -- bce_kl and bce_kl_combined --------------------------------------------------------------------------


def test_bce_kl_hand_computed() -> None:
    # KL ln 2 (uniform vs one-hot) and BCE 2 ln 2 (logits 0, C = 2).
    batch = ({"targets": torch.tensor([[1.0, 0.0]])}, {"scores": torch.zeros(1, 2)})
    terms = terms_of(build("bce_kl", weight_softmax=3.0)(*batch))
    assert_value(terms["kl"], 3 * LN2)
    assert_value(terms["bce"], 2 * LN2)
    assert_value(build("bce_kl_combined", weight_softmax=3.0)(*batch), 5 * LN2)


@PROPERTY
@given(**SHAPES, weight=st.floats(0.0, 4.0))
def test_bce_kl_combined_is_the_sum_of_bce_kl_terms(b: int, c: int, seed: int, weight: float) -> None:
    batch = ({"targets": _soft_targets(seed + 1, b, c)}, {"scores": randn(seed, b, c)})
    terms = terms_of(build("bce_kl", weight_softmax=weight)(*batch))
    combined = build("bce_kl_combined", weight_softmax=weight)(*batch)
    torch.testing.assert_close(combined, terms["kl"] + terms["bce"], rtol=RTOL, atol=1e-7)


def test_bce_kl_params_and_errors() -> None:
    for params_class in (BinaryCrossEntropyKlParams, BinaryCrossEntropyKlCombinedParams):
        with pytest.raises(TypeError, match="weight_softmax"):
            params_class()  # type: ignore[call-arg]
        for bad in (-1.0, float("inf"), float("nan")):
            with pytest.raises(
                ValueError,
                match=rf"^{params_class.__name__}\.weight_softmax: expected a finite number >= 0, found {bad}$",
            ):
                params_class(weight_softmax=bad)
    for name in ("bce_kl", "bce_kl_combined"):
        with pytest.raises(LossConfigError, match="missing required param 'weight_softmax'"):
            LossCollection.from_config([name])
        loss = build(name, weight_softmax=0.5)
        assert_each_key_required(loss, {"targets": T}, {"scores": S})
        with pytest.raises(LossShapeError, match="same shape"):
            loss({"targets": T[:2]}, {"scores": S})


# -- soft_label_cross_entropy ----------------------------------------------------------------------------


def test_soft_label_cross_entropy_hand_computed() -> None:
    loss = build("soft_label_cross_entropy", normalize_targets=False)
    scores = torch.tensor([[0.0, 0.0], [1.0, 0.0], [5.0, -5.0]])
    # Row 0: uniform over 2 classes, -ln(1/2); rows 1, 2 masked (ignore_index / all-zero row).
    assert_value(loss({"targets": torch.tensor([1, -100, -100])}, {"scores": scores}), LN2)
    soft = torch.tensor([[0.5, 0.5], [0.0, 0.0], [0.0, 0.0]])
    assert_value(loss({"targets": soft}, {"scores": scores}), LN2)
    # Normalising divides each row by (eps + its sum): a one-hot row becomes 1 / (1 + eps).
    normalized = build("soft_label_cross_entropy")({"targets": torch.tensor([1, -100, -100])}, {"scores": scores})
    assert_value(normalized, LN2 / (1 + EPS32))
    # Everything masked: 0 (the mean divides by max(rows, 1)).
    assert_value(loss({"targets": torch.zeros(3, 2)}, {"scores": scores}), 0.0)


def test_soft_label_cross_entropy_masks_ignored_indices() -> None:
    # MMF crashes here (scatter of index -100); the fix masks the row. The value is the mean over the two
    # other rows, i.e. MMF's cross_entropy with ignore_index=1 on Y (0.21771204471588135) over (1 + eps).
    value = build("soft_label_cross_entropy")({"targets": Y_IGNORED}, {"scores": S})
    assert_value(value, 0.21771204471588135 / (1 + EPS32))


@PROPERTY
@given(**SHAPES, reduction=st.sampled_from(["mean", "sum"]), normalize=st.booleans(), indices=st.booleans())
def test_soft_label_cross_entropy_matches_mmf_reference(
    b: int, c: int, seed: int, reduction: str, normalize: bool, indices: bool
) -> None:
    scores = 2 * randn(seed, b, c)
    targets = _indices(seed + 1, b, c) if indices else _soft_targets(seed + 1, b, c)
    loss = build("soft_label_cross_entropy", reduction=reduction, normalize_targets=normalize)
    expected = mmf_soft_label_ce(scores, targets, reduction=reduction, normalize=normalize)
    assert_value(loss({"targets": targets}, {"scores": scores}), expected, atol=1e-6)


@PROPERTY
@given(**SHAPES)
def test_soft_label_cross_entropy_of_indices_is_cross_entropy(b: int, c: int, seed: int) -> None:
    scores, targets = randn(seed, b, c), _indices(seed + 1, b, c)
    value = build("soft_label_cross_entropy", normalize_targets=False)({"targets": targets}, {"scores": scores})
    expected = _cross_entropy_or_zero(scores, targets, ignore_index=-100)
    torch.testing.assert_close(value, expected, rtol=RTOL, atol=1e-7)


@PROPERTY
@given(**SHAPES, scale=st.floats(0.25, 8.0))
def test_soft_label_cross_entropy_normalizing_ignores_target_scale(b: int, c: int, seed: int, scale: float) -> None:
    # Rows of mass 1 (or 0): the eps in (eps + row sum) stays ~1e-7 relative whatever the scale.
    keep = (_soft_targets(seed + 2, b, c).sum(dim=1, keepdim=True) > 0).float()
    scores, targets = randn(seed, b, c), keep * torch.softmax(randn(seed + 1, b, c), dim=1)
    loss = build("soft_label_cross_entropy")
    value = loss({"targets": targets}, {"scores": scores})
    torch.testing.assert_close(loss({"targets": scale * targets}, {"scores": scores}), value, rtol=1e-5, atol=1e-6)


def test_soft_label_cross_entropy_params_and_errors() -> None:
    assert SoftLabelCrossEntropyParams() == SoftLabelCrossEntropyParams(
        ignore_index=-100, reduction="mean", normalize_targets=True
    )
    with pytest.raises(
        ValueError,
        match=r"^SoftLabelCrossEntropyParams\.reduction: 'none' \(str\) is not an allowed value "
        r"\(allowed: 'mean', 'sum'\)$",
    ):
        SoftLabelCrossEntropyParams(reduction="none")  # type: ignore[arg-type]
    with pytest.raises(LossConfigError, match="'none' .* is not an allowed value") as info:
        LossCollection.from_config([{"type": "soft_label_cross_entropy", "params": {"reduction": "none"}}])
    assert info.value.issues[0].path == "losses[0].params.reduction"
    assert info.value.issues[0].hint == "allowed: 'mean', 'sum'"
    loss = build("soft_label_cross_entropy")
    assert_each_key_required(loss, {"targets": Y}, {"scores": S})
    with pytest.raises(LossShapeError, match="must agree in dimension 0"):
        loss({"targets": Y[:2]}, {"scores": S})
    with pytest.raises(LossShapeError, match=r"\(3, 4\) and .*\(3, 1\) must have the same shape"):
        loss({"targets": Y[:, None]}, {"scores": S})  # MMF reads B x 1 as indices and drops index 0
    with pytest.raises(LossShapeError, match="rank 1 or 2"):
        loss({"targets": T[None]}, {"scores": S})


# -- label_smoothing_cross_entropy -----------------------------------------------------------------------


def test_label_smoothing_hand_computed() -> None:
    # Uniform logits over 3 classes: -sum(target * ln(1/3)) = ln 3 whatever the smoothing.
    loss = build("label_smoothing_cross_entropy", label_smoothing=0.2)
    scores = torch.tensor([[0.0, 0.0, 0.0], [5.0, 0.0, 0.0]])
    assert_value(loss({"targets": torch.tensor([2, -100])}, {"scores": scores}), math.log(3))
    # Smoothed target of class 0 with ls 0.2 over C = 2: [0.8, 0.2].
    two = torch.tensor([[1.0, 0.0]])
    expected = -(0.8 * math.log(1 / (1 + math.exp(-1))) + 0.2 * math.log(1 / (1 + math.exp(1))))
    assert_value(loss({"targets": torch.tensor([0])}, {"scores": two}), expected)
    assert torch.allclose(
        functional.smooth_targets(Y_IGNORED, 4, label_smoothing=0.1),
        torch.tensor([[0.1 / 3, 0.1 / 3, 0.1 / 3, 0.9], [0.0] * 4, [0.1 / 3, 0.1 / 3, 0.9, 0.1 / 3]]),
    )


@PROPERTY
@given(**SHAPES, ls=st.floats(0.0, 0.9), reduction=st.sampled_from(["mean", "sum"]))
def test_label_smoothing_matches_mmf_reference(b: int, c: int, seed: int, ls: float, reduction: str) -> None:
    scores, targets = 2 * randn(seed, b, c), _indices(seed + 1, b, c)
    loss = build("label_smoothing_cross_entropy", label_smoothing=ls, reduction=reduction)
    expected = mmf_label_smoothing_ce(scores, targets, label_smoothing=ls, reduction=reduction)
    assert_value(loss({"targets": targets}, {"scores": scores}), expected, atol=1e-6)


@PROPERTY
@given(**SHAPES)
def test_label_smoothing_zero_is_cross_entropy(b: int, c: int, seed: int) -> None:
    scores, targets = randn(seed, b, c), _indices(seed + 1, b, c, ignore_index=7)
    loss = build("label_smoothing_cross_entropy", label_smoothing=0.0, ignore_index=7)
    expected = _cross_entropy_or_zero(scores, targets, ignore_index=7)
    torch.testing.assert_close(loss({"targets": targets}, {"scores": scores}), expected, rtol=RTOL, atol=1e-7)


def test_label_smoothing_params_and_errors() -> None:
    assert LabelSmoothingCrossEntropyParams() == LabelSmoothingCrossEntropyParams(
        label_smoothing=0.1, reduction="mean", ignore_index=-100
    )
    for bad in (1.0, -0.1):
        with pytest.raises(
            ValueError,
            match=rf"^LabelSmoothingCrossEntropyParams\.label_smoothing: expected a number >= 0 and < 1, found {bad}$",
        ):
            LabelSmoothingCrossEntropyParams(label_smoothing=bad)
    with pytest.raises(LossConfigError, match=r"label_smoothing: expected a number >= 0 and < 1, found 1.0$"):
        LossCollection.from_config([{"type": "label_smoothing_cross_entropy", "params": {"label_smoothing": 1.0}}])
    loss = build("label_smoothing_cross_entropy")
    assert_each_key_required(loss, {"targets": Y}, {"scores": S})
    with pytest.raises(LossShapeError, match="integer tensor"):
        loss({"targets": Y.float()}, {"scores": S})
    with pytest.raises(LossShapeError, match=r"2-D class indices must be B x 1"):
        loss({"targets": torch.zeros(3, 4, dtype=torch.long)}, {"scores": S})
    with pytest.raises(LossShapeError, match="must agree in dimension 0"):
        loss({"targets": Y[:2]}, {"scores": S})
    with pytest.raises(LossShapeError, match="at least 2 classes"):
        loss({"targets": torch.zeros(3, dtype=torch.long)}, {"scores": S[:, :1]})  # MMF: ZeroDivisionError


# -- config ------------------------------------------------------------------------------------------------


def test_config_mmf_wrapper_fixtures() -> None:
    # MMF's Losses(["logit_bce", {type: bce_kl, params: {weight_softmax: 0.5}}, {type: softmax_kldiv}]) on S, T.
    collection = LossCollection.from_config(
        ["logit_bce", {"type": "bce_kl", "params": {"weight_softmax": 0.5}}, {"type": "softmax_kldiv"}]
    )
    out = collection({"targets": T}, {"scores": S})
    expected = {
        "logit_bce": 3.5410454273223877,
        "bce_kl/kl": 0.31267571449279785,
        "bce_kl/bce": 3.5410454273223877,
        "softmax_kldiv": 0.6253514289855957,
    }
    assert list(out.terms) == list(expected)
    for key, value in expected.items():
        assert_value(out.terms[key], value)
    # The OmegaConf list [{type: logit_bce}, wrong, {type: bce_kl_combined, params: {weight_softmax: 0.5}}].
    cfg = load_yaml_text(
        """
losses:
- type: logit_bce
- wrong
- type: bce_kl_combined
  params:
    weight_softmax: 0.5
indices:
- type: label_smoothing_cross_entropy
  params: {label_smoothing: 0.0, reduction: sum, ignore_index: 1}
- type: soft_label_cross_entropy
  params: {normalize_targets: false}
"""
    )
    assert isinstance(cfg, DictConfig)
    out = LossCollection.from_config(cfg["losses"])({"targets": T}, {"scores": S})
    assert list(out.terms) == ["logit_bce", "wrong", "bce_kl_combined"]
    assert_value(out.terms["logit_bce"], 3.5410454273223877)
    assert_value(out.terms["wrong"], 0.6253514289855957)
    assert_value(out.terms["bce_kl_combined"], 3.8537211418151855)
    out = LossCollection.from_config(cfg["indices"])({"targets": Y}, {"scores": S})
    # Rows 0 and 2 of MMF's cross_entropy(ignore_index=1) value 0.21771204471588135, summed.
    assert_value(out.terms["label_smoothing_cross_entropy"], 2 * 0.21771204471588135)
    assert_value(out.terms["soft_label_cross_entropy"], 0.5061875581741333)  # plain CE without normalising


FUNCTIONS: dict[str, Callable[..., Tensor]] = {
    "softmax_kldiv": functional.softmax_kldiv,
    "weighted_softmax": functional.weighted_softmax,
    "wrong": functional.wrong,
    "soft_label_cross_entropy": functional.soft_label_cross_entropy,
    "label_smoothing_cross_entropy": functional.label_smoothing_cross_entropy,
}
FAMILY = [spec.name for spec in REGISTRY if spec.loss_class.__module__ == "typed_losses.losses.soft_labels"]


@pytest.mark.parametrize("name", FAMILY)
def test_config_each_loss(name: str) -> None:
    params = dict(CASES[name].params)
    sample_list, model_output = CASES[name].small()
    out = LossCollection.from_config([{"type": name, "params": params}])(sample_list, model_output)
    scores, targets = model_output["scores"], sample_list["targets"]
    assert isinstance(scores, Tensor) and isinstance(targets, Tensor)
    if name in FUNCTIONS:  # the term is the functional's value, with the same params
        assert list(out.terms) == [name]
        expected = FUNCTIONS[name](scores, targets, **params)
        torch.testing.assert_close(out.terms[name], expected, rtol=0.0, atol=0.0)
    params_class = type(build(name, **params).params).__name__
    with pytest.raises(LossConfigError, match=f"unknown param 'gamma' for {params_class}"):
        LossCollection.from_config([{"type": name, "params": {**params, "gamma": 2.0}}])


class RecordOps(TorchDispatchMode):  # type: ignore[no-untyped-call]  # torch leaves it untyped
    """Records the name of every aten op called inside the block."""

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.ops: list[str] = []

    def __torch_dispatch__(
        self, func: Any, types: Any, args: tuple[Any, ...] = (), kwargs: dict[str, Any] | None = None
    ) -> Any:
        self.ops.append(str(func))
        return func(*args, **(kwargs or {}))


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("softmax_kldiv", {}),
        ("wrong", {}),
        ("bce_kl", {"weight_softmax": 0.5}),
        ("bce_kl_combined", {"weight_softmax": 0.5}),
    ],
)
def test_kl_family_computes_its_kl_in_one_fused_xlogy_pass(name: str, params: dict[str, float]) -> None:
    """``0 log 0 = 0`` by ``xlogy``: no ``log`` of the targets and no mask of their zeros (only the row sums')."""
    loss = build(name, **params)
    with RecordOps() as recorded:
        loss({"targets": T}, {"scores": S})
    assert recorded.ops.count("aten.xlogy.Tensor") == 1
    assert "aten.log.default" not in recorded.ops
    assert recorded.ops.count("aten.where.self") == 1  # the all-zero row's sum, as MMF's 1e-6
