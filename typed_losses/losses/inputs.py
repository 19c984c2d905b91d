"""Input declarations shared by the catalog losses (MMF's key names), a reader for paired inputs, and the checks
of class-index targets and class weights (all without a host sync: they read dtypes, shapes and devices)."""

from __future__ import annotations

import operator
from typing import Any

import torch
from torch import Tensor

from typed_losses.loss import Batch, Input, Loss, model_input, sample_input, shape_of

__all__ = [
    "CLASS_TARGETS",
    "SCORES",
    "SOFT_TARGETS",
    "check_class_indices",
    "check_class_weights",
    "check_index_dtype",
    "read_same_shape",
]

SCORES = model_input("scores", ranks=(2,), dtype="float", doc="logits, B x C")
SOFT_TARGETS = sample_input("targets", ranks=(2,), dtype="float", doc="soft or multi-hot targets, B x C")
CLASS_TARGETS = sample_input(
    "targets", dtype="any", doc="class indices (B, long) or class probabilities (same shape as scores)"
)


def read_same_shape(
    loss: Loss[Any], first: Input, second: Input, sample_list: Batch, model_output: Batch
) -> tuple[Tensor, Tensor]:
    """Read two tensor inputs of `loss` and raise [`LossShapeError`][typed_losses.LossShapeError] unless their shapes agree.

    For losses that would otherwise broadcast mismatched inputs silently (`scores` against `targets`).
    """
    a = loss.read(first, sample_list, model_output)
    b = loss.read(second, sample_list, model_output)
    if a.shape != b.shape:
        raise loss.shape_mismatch(first, a, second, b, "must have the same shape")
    return a, b


def check_index_dtype(loss: Loss[Any], spec: Input, targets: Tensor) -> None:
    """Raise [`LossShapeError`][typed_losses.LossShapeError] unless `targets` are int64 class indices (torch's requirement).

    Out-of-range classes are left to torch: finding them needs the values (a host sync).
    """
    if targets.dtype != torch.int64:
        hint = (
            " (convert them with .long())" if not (targets.is_floating_point() or targets.dtype == torch.bool) else ""
        )
        spec = loss.route(spec)
        raise loss.input_error(spec, f"class indices {_name(spec)} must be int64, found {targets.dtype}{hint}")


def check_class_indices(
    loss: Loss[Any], scores_spec: Input, scores: Tensor, spec: Input, targets: Tensor, *, probabilities: bool = False
) -> None:
    """Raise [`LossShapeError`][typed_losses.LossShapeError] unless `targets` are int64 class indices for `scores`.

    `scores` are `B x C` (or `B x C x d...`): the indices are `B` (or `B x d...`), the scores' shape
    without the class dimension. `probabilities`: the loss also takes float class probabilities of the
    scores' shape (the message says so when the targets are float).
    """
    scores_spec, spec = loss.route(scores_spec), loss.route(spec)
    if probabilities and targets.is_floating_point():
        raise loss.input_error(
            spec,
            f"class indices {_name(spec)} must be int64, found {targets.dtype} of shape {shape_of(targets)} "
            f"(class probabilities must have the shape of {_name(scores_spec)}, {shape_of(scores)})",
        )
    check_index_dtype(loss, spec, targets)
    expected = scores.shape[:1] + scores.shape[2:]
    if targets.shape != expected:
        raise loss.shape_mismatch(
            scores_spec,
            scores,
            spec,
            targets,
            f"do not match: class indices for these scores have shape {_sizes(expected)}",
        )


def check_class_weights(loss: Loss[Any], weight: Tensor, scores_spec: Input, scores: Tensor, classes: int) -> None:
    """Raise [`LossShapeError`][typed_losses.LossShapeError] unless the class weights fit `scores` (`classes` of them).

    They must be on the scores' device: a collection moves its buffers with `.to(device)`.
    """
    scores_spec = loss.route(scores_spec)
    if weight.size(0) != classes:
        raise loss.input_error(
            scores_spec,
            f"params.weight has {weight.size(0)} class weights, but {_name(scores_spec)} {shape_of(scores)} "
            f"has {classes} classes",
        )
    if weight.device != scores.device:
        raise loss.input_error(
            scores_spec,
            f"the class weights (params.weight) are on {weight.device}, {_name(scores_spec)} on {scores.device}: "
            f"move the collection to the inputs' device (collection.to({str(scores.device)!r}))",
        )


def _name(spec: Input) -> str:
    return f"{spec.source}[{spec.key!r}]"


def _sizes(size: torch.Size) -> tuple[int, ...]:
    return tuple(operator.index(d) for d in size)  # concrete ints, as shape_of (also under torch.compile)
