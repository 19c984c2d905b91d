"""Whole collections under ``torch.compile`` and the host-sync detectors.

The per-loss checks (each catalog loss alone: ``fullgraph=True``, no host sync) live in
``tests/losses/test_cases.py``. Here: collections holding **every** catalog loss (its case from
``tests/helpers/cases.py``, grouped by the small inputs the cases share) are captured as one graph each,
match eager in values and gradients, and neither their forward nor their backward synchronises; one small collection runs through inductor; on a GPU, the same collections run under
``torch.cuda.set_sync_debug_mode("error")``; and a compiled loss given a bad batch raises the same
``LossInputError`` / ``LossShapeError`` as in eager mode.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import torch
from helpers.cases import CASES, Case, Inputs, leaves
from helpers.mmf_inputs import rand, randn
from helpers.sync import no_host_sync
from torch import Tensor
from torch._dynamo.testing import CompileCounter

from typed_losses import LossCollection, LossInputError, LossShapeError
from typed_losses.generate import catalog_registry
from typed_losses.loss import Batch

#: Weights given in turn to the entries of a group's collection, so that weighted totals are exercised, with
#: schedules and a learned weight among them (they are computed in the graph from the step counter).
WEIGHTS: tuple[Any, ...] = (
    1.0,
    {"type": "linear", "start": 0.0, "end": 1.0, "steps": 4},
    2.0,
    {"type": "uncertainty", "init": 0.5},
    {"type": "cosine", "start": 1.0, "end": 0.25, "steps": 3, "begin": 1},
    {"type": "step", "milestones": [1, 2], "values": [0.5, 2.0, 1.0]},
)


def _groups() -> Iterator[tuple[str, list[Any], Batch, Batch]]:
    """(id, losses config, sample_list, model_output): every case (``tests/helpers/cases.py``), grouped by its
    small-input builder: the cases that share a batch form one collection."""
    by_builder: dict[Callable[[], Inputs], list[Case]] = {}
    for case in CASES.values():
        by_builder.setdefault(case.small, []).append(case)
    for builder, cases in by_builder.items():
        config = [
            {"type": case.name, "weight": WEIGHTS[index % len(WEIGHTS)], "params": dict(case.params)}
            for index, case in enumerate(cases)
        ]
        sample_list, model_output = builder()
        yield builder.__name__, config, sample_list, model_output


GROUPS = list(_groups())
IDS = [group[0] for group in GROUPS]


def _type_of(entry: Any) -> str:
    return entry if isinstance(entry, str) else str(entry["type"])


def test_the_groups_cover_every_catalog_loss() -> None:
    covered = [_type_of(entry) for _, config, _, _ in GROUPS for entry in config]
    assert sorted(covered) == catalog_registry().names()


@pytest.mark.parametrize(("group", "config", "sample_list", "model_output"), GROUPS, ids=IDS)
def test_collection_compiles_to_one_graph_matching_eager(
    group: str, config: list[Any], sample_list: Batch, model_output: Batch
) -> None:
    collection = LossCollection.from_config(config)
    inputs = leaves(model_output)
    eager = collection(sample_list, model_output)
    eager_grads = torch.autograd.grad(eager.total, inputs)
    counter = CompileCounter()
    compiled = torch.compile(collection, fullgraph=True, backend=counter)(sample_list, model_output)
    assert counter.frame_count == 1  # one graph: no graph break anywhere in the collection or its losses
    assert list(compiled.terms) == list(eager.terms)
    for name, value in eager.terms.items():
        torch.testing.assert_close(compiled.terms[name], value, rtol=1e-6, atol=0.0)
    torch.testing.assert_close(compiled.total, eager.total, rtol=1e-6, atol=0.0)
    for got, expected in zip(torch.autograd.grad(compiled.total, inputs), eager_grads, strict=True):
        torch.testing.assert_close(got, expected, rtol=1e-6, atol=1e-7)
    compiled_collection = torch.compile(collection, fullgraph=True, backend=counter)
    for _ in range(3):  # advancing the step changes the scheduled weights, not the graph
        collection.step()
        again = compiled_collection(sample_list, model_output)
        eager = collection(sample_list, model_output)
        torch.testing.assert_close(again.total, eager.total, rtol=1e-6, atol=0.0)
        for name, weight in eager.weights.items():
            torch.testing.assert_close(again.weights[name], weight, rtol=1e-6, atol=0.0)
    assert counter.frame_count == 1


@pytest.mark.parametrize(("group", "config", "sample_list", "model_output"), GROUPS, ids=IDS)
def test_collection_forward_and_backward_do_not_sync(
    group: str, config: list[Any], sample_list: Batch, model_output: Batch
) -> None:
    collection = LossCollection.from_config(config)
    with no_host_sync():
        for _ in range(2):  # the first call computes the scheduled weights, the second reuses them
            output = collection(sample_list, model_output)
            output.total.backward()
            output.to_log("train/")
            collection.step()
    assert all(leaf.grad is not None for leaf in leaves(model_output))
    for leaf in leaves(model_output):
        leaf.grad = None


def test_the_detector_sees_a_sync_in_collection_code() -> None:
    """The check above can fail: a collection whose total is read as a Python float is caught."""
    _, config, sample_list, model_output = GROUPS[0]
    collection = LossCollection.from_config(config)
    with no_host_sync(raise_on_sync=False) as mode:
        float(collection(sample_list, model_output).total.detach())
    assert mode.syncs and "_local_scalar_dense" in mode.syncs[0]


def test_inductor_compiles_a_small_collection() -> None:
    torch._dynamo.reset()
    collection = LossCollection.from_config(["logit_bce", {"type": "softmax_kldiv", "weight": 0.5}, "mse"])
    sample_list = {"targets": rand(20, 4, 3) * (rand(21, 4, 3) > 0.4)}
    model_output = {"scores": randn(22, 4, 3)}
    eager = collection(sample_list, model_output)
    compiled = torch.compile(collection, fullgraph=True)(sample_list, model_output)
    assert list(compiled.terms) == ["logit_bce", "softmax_kldiv", "mse"]
    for name, value in eager.terms.items():
        torch.testing.assert_close(compiled.terms[name], value, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(compiled.total, eager.total, rtol=1e-5, atol=1e-6)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize(("group", "config", "sample_list", "model_output"), GROUPS, ids=IDS)
def test_collection_does_not_sync_on_cuda(
    group: str, config: list[Any], sample_list: Batch, model_output: Batch
) -> None:
    def to_cuda(value: Any) -> Any:
        if isinstance(value, Tensor):
            moved = value.detach().cuda()
            return moved.requires_grad_() if value.requires_grad else moved
        if isinstance(value, dict):
            return {k: to_cuda(v) for k, v in value.items()}
        if isinstance(value, list):
            return [to_cuda(v) for v in value]
        return value

    collection = LossCollection.from_config(config).cuda()
    cuda_sample, cuda_output = to_cuda(sample_list), to_cuda(model_output)
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        output = collection(cuda_sample, cuda_output)
        output.total.backward()
        output.to_log("train/")
        collection.step()
        collection(cuda_sample, cuda_output).total.backward()
    finally:
        torch.cuda.set_sync_debug_mode("default")
    expected = LossCollection.from_config(config)(sample_list, model_output).total
    torch.testing.assert_close(output.total.cpu(), expected.detach(), rtol=1e-4, atol=1e-5)


# -- errors from a compiled collection ----------------------------------------------------------------------


@pytest.mark.parametrize("fullgraph", [True, False])
def test_compiled_collection_raises_the_eager_input_errors(fullgraph: bool) -> None:
    collection = LossCollection.from_config(["logit_bce", "mse"])
    scores, targets = randn(30, 4, 3), rand(31, 4, 3)
    torch._dynamo.reset()
    compiled = torch.compile(collection, fullgraph=fullgraph, backend="eager")
    good = compiled({"targets": targets}, {"scores": scores}).total
    torch.testing.assert_close(good, collection({"targets": targets}, {"scores": scores}).total)

    with pytest.raises(LossInputError) as missing:
        compiled({}, {"scores": scores})  # traced once already: this call retraces with a missing key
    assert type(missing.value) is not LossShapeError
    assert str(missing.value) == "loss 'logit_bce' needs sample_list['targets'], which is missing (it is empty)"
    assert (missing.value.term, missing.value.key, missing.value.source) == ("logit_bce", "targets", "sample_list")
    again = pickle.loads(pickle.dumps(missing.value))
    assert type(again) is LossInputError and str(again) == str(missing.value)

    with pytest.raises(LossShapeError) as dtype:
        compiled({"targets": targets}, {"scores": scores.long()})
    assert str(dtype.value) == (
        "loss 'logit_bce': expected model_output['scores']: float tensor of rank 2 or 3, found dtype torch.int64"
    )
    assert (dtype.value.key, dtype.value.source) == ("scores", "model_output")
    # the compiled collection still works on good input afterwards
    torch.testing.assert_close(compiled({"targets": targets}, {"scores": scores}).total, good)


@pytest.mark.parametrize("dynamic", [False, True])
def test_compiled_loss_raises_the_eager_shape_mismatch(dynamic: bool) -> None:
    loss = LossCollection.from_config(["softmax_kldiv"]).losses[0]
    torch._dynamo.reset()
    compiled = torch.compile(loss, fullgraph=True, backend="eager", dynamic=dynamic)
    for batch in (4, 5):  # with dynamic=True the sizes in the graph (and in the failing trace) are symbolic
        torch.testing.assert_close(
            compiled({"targets": rand(30 + batch, batch, 3)}, {"scores": randn(40 + batch, batch, 3)}),
            loss({"targets": rand(30 + batch, batch, 3)}, {"scores": randn(40 + batch, batch, 3)}),
        )
    with pytest.raises(LossShapeError) as info:
        compiled({"targets": rand(32, 4, 3)}, {"scores": randn(33, 4, 2)})
    assert str(info.value) == (
        "loss 'softmax_kldiv': model_output['scores'] (4, 2) and sample_list['targets'] (4, 3) must have the same shape"
    )
    assert (info.value.term, info.value.key, info.value.source) == ("softmax_kldiv", "targets", "sample_list")


@pytest.mark.parametrize("dynamic", [False, True])
def test_compiled_catalog_errors_name_concrete_shapes(dynamic: bool) -> None:
    collection = LossCollection.from_config(["cross_entropy", "label_smoothing_cross_entropy"])
    torch._dynamo.reset()
    compiled = torch.compile(collection, fullgraph=True, backend="eager", dynamic=dynamic)
    for batch in (3, 4):
        targets = torch.arange(batch) % 3
        good = compiled({"targets": targets}, {"scores": randn(50 + batch, batch, 3)})
        assert set(good.terms) == {"cross_entropy", "label_smoothing_cross_entropy"}
    with pytest.raises(LossShapeError) as rank:
        compiled({"targets": torch.tensor([0, 1])}, {"scores": randn(51, 2, 3, 4, 5, 6, 7)})
    assert str(rank.value) == (
        "loss 'cross_entropy': expected model_output['scores']: float tensor of rank 2 or 3 or 4 or 5, "
        "found shape (2, 3, 4, 5, 6, 7) (rank 6)"
    )
    with pytest.raises(LossShapeError) as classes:  # raised by the catalog loss itself
        compiled({"targets": torch.tensor([0, 0, 0, 0, 0])}, {"scores": randn(52, 5, 1)})
    assert str(classes.value) == (
        "loss 'label_smoothing_cross_entropy': label smoothing needs at least 2 classes, found shape (5, 1)"
    )
