"""The collection's Python copy of its step counter (`WeightClock`), and the two ways a schedule is computed:
in Python from the copy (eager mode, the step known), and from the counter tensor (the copy lost, or in a graph).
Both give the same weights and totals."""

from __future__ import annotations

import copy
import math
from typing import Any

import torch
import torch.utils._pytree as pytree
from hypothesis import given, settings
from hypothesis import strategies as st

from typed_losses import CosineSchedule, LinearSchedule, LossCollection, StepSchedule
from typed_losses.weights import CosineWeighting, LinearWeighting, StepWeighting

SCORES = torch.tensor([[1.0, 0.0, -1.0], [0.5, 2.0, 0.0]])
TARGETS = torch.tensor([[1.0, 1.0, 0.0], [0.0, 1.0, 1.0]])
CONFIG: list[Any] = [
    {"type": "mse", "weight": {"type": "linear", "start": 0.2, "end": 1.3, "steps": 7, "begin": 2}},
    {"type": "cos_emb_loss", "weight": {"type": "cosine", "start": 1.0, "end": 0.1, "steps": 9}},
    {"type": "mse", "name": "stepped", "weight": {"type": "step", "milestones": [3, 8], "values": [0.5, 2.0, 0.0]}},
    {"type": "mse", "name": "fixed", "weight": 0.25},
]


def known(collection: LossCollection) -> int | None:
    return collection._clock.known(collection.step_count)


def test_the_copy_follows_step_set_step_moves_and_loads() -> None:
    collection = LossCollection.from_config(CONFIG)
    assert known(collection) == 0
    collection.step()
    collection.step()
    assert known(collection) == 2
    collection.set_step(41)
    assert known(collection) == 41
    collection.double()  # the counter is an int64 buffer: kept
    collection.to("cpu")
    assert known(collection) == 41
    with torch.no_grad():
        collection.step_count.fill_(7)  # behind the collection's back: the copy is dropped, not trusted
    assert known(collection) is None
    collection.step()  # stays unknown: only the tensor knows
    assert known(collection) is None and int(collection.step_count) == 8
    collection.load_state_dict(collection.state_dict())  # a CPU value: read again without a sync
    assert known(collection) == 8
    copied = copy.deepcopy(collection)
    assert int(copied.step_count) == 8  # the copy's counter is right; its clock knows it or not, never wrongly
    assert known(copied) in (8, None)


def totals_and_weights(collection: LossCollection) -> tuple[float, dict[str, float]]:
    out = collection({"targets": TARGETS}, {"scores": SCORES})
    return float(out.total), {name: float(w) for name, w in out.weights.items()}


def test_python_and_tensor_schedules_give_the_same_weights_and_totals() -> None:
    python_path = LossCollection.from_config(CONFIG)
    tensor_path = LossCollection.from_config(CONFIG)
    for k in range(14):
        python_path.set_step(k)
        with torch.no_grad():
            tensor_path.step_count.fill_(k)
        assert known(python_path) == k and known(tensor_path) is None
        total_p, weights_p = totals_and_weights(python_path)
        total_t, weights_t = totals_and_weights(tensor_path)
        assert math.isclose(total_p, total_t, rel_tol=1e-6)
        assert weights_p.keys() == weights_t.keys()
        for name in weights_p:
            assert math.isclose(weights_p[name], weights_t[name], rel_tol=1e-6, abs_tol=1e-7), (k, name)


steps = st.integers(min_value=0, max_value=10**7)
weights = st.floats(min_value=0.0, max_value=1e3, allow_nan=False, allow_infinity=False)


def f32(value: float) -> float:
    return float(torch.tensor(value, dtype=torch.float32))


@settings(max_examples=150, deadline=None)
@given(start=weights, end=weights, steps_=st.integers(1, 10**6), begin=st.integers(0, 10**6), k=steps)
def test_value_at_equals_forward_for_the_ramps(start: float, end: float, steps_: int, begin: int, k: int) -> None:
    ramps: tuple[LinearWeighting | CosineWeighting, ...] = (
        LinearWeighting(LinearSchedule(start=start, end=end, steps=steps_, begin=begin)),
        CosineWeighting(CosineSchedule(start=start, end=end, steps=steps_, begin=begin)),
    )
    for weighting in ramps:
        by_tensor = float(weighting(torch.tensor(k)))
        by_python = f32(weighting.value_at(k))
        # float32 (the tensor path) against float64 rounded to float32: a few ulps of the larger end
        assert math.isclose(by_python, by_tensor, rel_tol=1e-5, abs_tol=1e-6 * max(start, end, 1e-30))
        if k <= begin:
            assert by_python == by_tensor == f32(start)
        if k >= begin + steps_:
            assert by_python == by_tensor == f32(end)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 10**6), max_size=6, unique=True), st.data())
def test_value_at_equals_forward_for_the_step_schedule(milestones: list[int], data: st.DataObject) -> None:
    milestones.sort()
    values = data.draw(st.lists(weights, min_size=len(milestones) + 1, max_size=len(milestones) + 1))
    weighting = StepWeighting(StepSchedule(milestones=milestones, values=values))
    for k in (0, *milestones, *(m - 1 for m in milestones if m), 10**7):
        assert f32(weighting.value_at(k)) == float(weighting(torch.tensor(k)))


def test_python_scheduled_weights_become_tensors_when_read_once_per_step() -> None:
    collection = LossCollection.from_config(CONFIG)
    collection.set_step(4)
    first = collection({"targets": TARGETS}, {"scores": SCORES})
    second = collection({"targets": TARGETS}, {"scores": SCORES})  # the same step: gradient accumulation
    assert list(first.weights) == ["mse", "cos_emb_loss", "stepped", "fixed"]
    assert first.weights["mse"] is second.weights["mse"]  # made once for the step
    assert float(first.weights["mse"]) == float(torch.tensor(0.2 + 1.1 * 2 / 7, dtype=torch.float32))
    assert float(first.weights["stepped"]) == 2.0 and float(first.weights["fixed"]) == 0.25
    assert list(first.to_log()) == [
        "mse",
        "cos_emb_loss",
        "stepped",
        "fixed",
        "total",
        *(f"weight/{n}" for n in ("mse", "cos_emb_loss", "stepped")),
    ]
    leaves, spec = pytree.tree_flatten(first)
    rebuilt = pytree.tree_unflatten(leaves, spec)
    assert {k: float(v) for k, v in rebuilt.weights.items()} == {k: float(v) for k, v in first.weights.items()}
    collection.step()
    third = collection({"targets": TARGETS}, {"scores": SCORES})
    assert third.weights["mse"] is not first.weights["mse"]
    assert float(first.weights["mse"]) == float(torch.tensor(0.2 + 1.1 * 2 / 7, dtype=torch.float32))  # unchanged
