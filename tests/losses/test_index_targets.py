"""Class-index targets: dtype, rank, batch size, class-weight length and device are checked without a host
sync and the errors name the term and both inputs; out-of-range classes stay torch's (they need the values),
with the term named by a note."""

from __future__ import annotations

import pickle
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from helpers.sync import no_host_sync
from torch import Tensor

from typed_losses import LossCollection, LossShapeError

SCORES = torch.tensor([[1.0, -1.0, 0.5], [0.0, 2.0, -0.5], [0.3, 0.2, 0.1], [-1.0, 0.0, 1.0]])
INDICES = torch.tensor([0, 2, 1, 0])
CAPTION_SCORES = torch.arange(24, dtype=torch.float32).reshape(2, 3, 4) / 10
CE = "loss 'cross_entropy': "


def call(config: list[Any], targets: Tensor, scores: Tensor = SCORES) -> Tensor:
    return LossCollection.from_config(config)({"targets": targets}, {"scores": scores}).total


@pytest.mark.parametrize(
    ("config", "targets", "message"),
    [
        (
            ["cross_entropy"],
            INDICES.float(),
            CE + "class indices sample_list['targets'] must be int64, found torch.float32 of shape (4,) "
            "(class probabilities must have the shape of model_output['scores'], (4, 3))",
        ),
        (
            ["cross_entropy"],
            INDICES.int(),
            CE + "class indices sample_list['targets'] must be int64, found torch.int32 (convert them with .long())",
        ),
        (
            ["cross_entropy"],
            INDICES.bool(),
            CE + "class indices sample_list['targets'] must be int64, found torch.bool",
        ),
        (
            ["cross_entropy"],
            INDICES.reshape(4, 1),
            CE + "model_output['scores'] (4, 3) and sample_list['targets'] (4, 1) do not match: "
            "class indices for these scores have shape (4,)",
        ),
        (
            ["cross_entropy"],
            torch.tensor([0, 2, 1, 0, 1]),
            CE + "model_output['scores'] (4, 3) and sample_list['targets'] (5,) do not match: "
            "class indices for these scores have shape (4,)",
        ),
        (
            ["cross_entropy"],
            torch.rand(5, 3),
            CE + "class indices sample_list['targets'] must be int64, found torch.float32 of shape (5, 3) "
            "(class probabilities must have the shape of model_output['scores'], (4, 3))",
        ),
        (
            [{"type": "cross_entropy", "params": {"weight": [1.0, 2.0, 1.0, 1.0, 0.5]}}],
            INDICES,
            CE + "params.weight has 5 class weights, but model_output['scores'] (4, 3) has 3 classes",
        ),
        (
            ["label_smoothing_cross_entropy"],
            INDICES.float(),
            "loss 'label_smoothing_cross_entropy': expected sample_list['targets']: integer tensor of rank 1 or 2, "
            "found dtype torch.float32",
        ),
        (
            ["label_smoothing_cross_entropy"],
            INDICES.bool(),
            "loss 'label_smoothing_cross_entropy': expected sample_list['targets']: integer tensor of rank 1 or 2, "
            "found dtype torch.bool",
        ),
        (
            ["label_smoothing_cross_entropy"],
            INDICES.reshape(2, 2),
            "loss 'label_smoothing_cross_entropy': 2-D class indices must be B x 1, found shape (2, 2)",
        ),
        (
            ["label_smoothing_cross_entropy"],
            torch.tensor([0, 2, 1, 0, 1]),
            "loss 'label_smoothing_cross_entropy': model_output['scores'] (4, 3) and sample_list['targets'] (5,) "
            "must agree in dimension 0",
        ),
        (
            ["soft_label_cross_entropy"],
            INDICES.float(),
            "loss 'soft_label_cross_entropy': 1-D targets are class indices and must be integers, found torch.float32",
        ),
        (
            ["nll_loss"],
            INDICES,
            "loss 'nll_loss': expected sample_list['targets']: tensor of rank 2, found shape (4,) (rank 1)",
        ),
    ],
    ids=[
        "ce-float",
        "ce-int32",
        "ce-bool",
        "ce-2d",
        "ce-batch",
        "ce-probabilities-batch",
        "ce-weight-length",
        "ls-float",
        "ls-bool",
        "ls-2d",
        "ls-batch",
        "slce-float",
        "nll-1d",
    ],
)
def test_index_target_mistakes_are_named_without_a_host_sync(config: list[Any], targets: Tensor, message: str) -> None:
    with no_host_sync(), pytest.raises(LossShapeError) as info:
        call(config, targets)
    assert str(info.value) == message
    assert info.value.term == (config[0] if isinstance(config[0], str) else config[0]["type"])
    assert type(pickle.loads(pickle.dumps(info.value))) is LossShapeError


def test_caption_targets_must_be_int64() -> None:
    with no_host_sync(), pytest.raises(LossShapeError) as info:
        call(["caption_cross_entropy"], torch.zeros(2, 3, dtype=torch.int32), CAPTION_SCORES)
    assert str(info.value) == (
        "loss 'caption_cross_entropy': class indices sample_list['targets'] must be int64, found torch.int32 "
        "(convert them with .long())"
    )


def test_what_is_accepted_still_works() -> None:
    torch.testing.assert_close(call(["cross_entropy"], INDICES), F.cross_entropy(SCORES, INDICES))
    probabilities = F.softmax(torch.ones(4, 3), dim=1)
    torch.testing.assert_close(call(["cross_entropy"], probabilities), F.cross_entropy(SCORES, probabilities))
    weighted = [{"type": "cross_entropy", "params": {"weight": [1.0, 2.0, 0.5]}}]
    weight = torch.tensor([1.0, 2.0, 0.5])
    torch.testing.assert_close(call(weighted, INDICES), F.cross_entropy(SCORES, INDICES, weight=weight))
    # label smoothing and soft-label cross-entropy convert integer indices of any width themselves
    torch.testing.assert_close(
        call(["label_smoothing_cross_entropy"], INDICES.int()), call(["label_smoothing_cross_entropy"], INDICES)
    )
    assert float(call(["cross_entropy"], INDICES)) == pytest.approx(1.6903098821640015)


def test_class_weights_on_another_device_say_to_move_the_collection() -> None:
    collection = LossCollection.from_config([{"type": "cross_entropy", "params": {"weight": [1.0, 2.0, 0.5]}}])
    collection.to("meta")  # stands in for a GPU: the buffers move, the batch stays on the CPU
    with pytest.raises(LossShapeError) as info:
        collection({"targets": INDICES}, {"scores": SCORES})
    assert str(info.value) == (
        "loss 'cross_entropy': the class weights (params.weight) are on meta, model_output['scores'] on cpu: "
        "move the collection to the inputs' device (collection.to('cpu'))"
    )
    scores = SCORES.to("meta")  # with the inputs on the same device it computes
    assert collection({"targets": INDICES.to("meta")}, {"scores": scores}).total.device == torch.device("meta")


@pytest.mark.parametrize("dynamic", [False, True])
def test_compiled_index_checks_raise_the_eager_errors(dynamic: bool, fresh_dynamo: None) -> None:
    collection = LossCollection.from_config(["cross_entropy"])
    compiled = torch.compile(collection, fullgraph=True, backend="eager", dynamic=dynamic)
    for batch in (3, 4):
        torch.testing.assert_close(
            compiled({"targets": INDICES[:batch]}, {"scores": SCORES[:batch]}).total,
            F.cross_entropy(SCORES[:batch], INDICES[:batch]),
        )
    with pytest.raises(LossShapeError) as dtype:
        compiled({"targets": INDICES.int()}, {"scores": SCORES})
    assert str(dtype.value) == (
        CE + "class indices sample_list['targets'] must be int64, found torch.int32 (convert them with .long())"
    )
    with pytest.raises(LossShapeError) as rows:
        compiled({"targets": torch.tensor([0, 2, 1, 0, 1])}, {"scores": SCORES})
    assert str(rows.value) == (
        CE + "model_output['scores'] (4, 3) and sample_list['targets'] (5,) do not match: "
        "class indices for these scores have shape (4,)"
    )
