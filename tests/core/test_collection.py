"""LossCollection and LossOutput: terms in order, the weighted total, Python building, round trips."""

from __future__ import annotations

import copy
import pickle
import re
from typing import Any

import attrs
import pytest
import torch
import torch.utils._pytree as pytree
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import Tensor

from typed_losses import (
    Batch,
    Input,
    Loss,
    LossCollection,
    LossConfigError,
    LossInputError,
    LossOutput,
    LossShapeError,
    Term,
    model_input,
    register_loss,
    sample_input,
)
from typed_losses.loss import DType
from typed_losses.losses import BinaryCrossEntropyKlParams, CrossEntropyLoss, CrossEntropyParams
from typed_losses.rules import weight_problem

SCORES = torch.tensor([[1.0, -1.0, 0.5], [0.0, 2.0, -0.5]])
SOFT = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.3, 0.9]])
INDICES = torch.tensor([0, 2])


def test_terms_in_config_order_with_children_and_weighted_total() -> None:
    collection = LossCollection.from_config(
        [
            {"type": "bce_kl", "weight": 0.5, "params": {"weight_softmax": 2.0}},
            {"type": "cross_entropy", "name": "ce", "weight": 3},
        ]
    )
    out = collection({"targets": SOFT}, {"scores": SCORES})
    assert list(out.terms) == ["bce_kl/kl", "bce_kl/bce", "ce"]
    # Hand-computed: kl = 2 * mean_i KL(t_i / sum t_i || softmax(s_i)), bce = 3 * mean(BCEwl), ce = soft-target CE.
    log_p = torch.log_softmax(SCORES, dim=1)
    normalized = SOFT / SOFT.sum(dim=1, keepdim=True)
    kl = (torch.xlogy(normalized, normalized) - normalized * log_p).sum() / 2
    bce = torch.nn.functional.binary_cross_entropy_with_logits(SCORES, SOFT) * 3
    ce = -(SOFT * log_p).sum(dim=1).mean()
    torch.testing.assert_close(out.terms["bce_kl/kl"], 2.0 * kl)
    torch.testing.assert_close(out.terms["bce_kl/bce"], bce)
    torch.testing.assert_close(out.terms["ce"], ce)
    torch.testing.assert_close(out.total, 0.5 * (2.0 * kl + bce) + 3.0 * ce)
    assert out.total.dim() == 0
    assert float(out.terms["bce_kl/bce"]) == pytest.approx(2.3723762674997886, rel=1e-6)


def test_total_is_the_mean_of_non_scalar_terms() -> None:
    collection = LossCollection([CrossEntropyParams(reduction="none")])
    out = collection({"targets": INDICES}, {"scores": SCORES})
    assert out.terms["cross_entropy"].shape == (2,)
    torch.testing.assert_close(out.total, out.terms["cross_entropy"].mean())


def test_built_from_python_without_strings() -> None:
    collection = LossCollection(
        [
            CrossEntropyParams(label_smoothing=0.1),
            Term(BinaryCrossEntropyKlParams(weight_softmax=1.0), weight=0.5, name="vqa"),
        ]
    )
    assert collection.names == ("cross_entropy", "vqa")
    assert collection.weights == (1.0, 0.5)
    assert isinstance(collection.losses[0], CrossEntropyLoss)
    assert collection.terms[1] == Term(BinaryCrossEntropyKlParams(weight_softmax=1.0), weight=0.5, name="vqa")


def test_python_building_reports_every_problem() -> None:
    with pytest.raises(LossConfigError) as info:
        LossCollection([CrossEntropyParams(), CrossEntropyParams(), "cross_entropy"])  # type: ignore[list-item]
    assert [(i.path, i.message) for i in info.value.issues] == [
        ("items[1]", "duplicate term name 'cross_entropy' (also at items[0])"),
        ("items[2]", "expected a params instance or a Term, found str"),
    ]
    with pytest.raises(LossConfigError, match=r"^items: no losses configured: the list is empty$"):
        LossCollection([])
    with pytest.raises(TypeError, match="use LossCollection.from_config"):
        LossCollection("cross_entropy")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("weight", "message"),
    [
        (-1.0, "weight must be a finite number >= 0, found -1.0"),
        (float("inf"), "weight must be a finite number >= 0, found inf"),
        (float("nan"), "weight must be a finite number >= 0, found nan"),
        (True, "expected a number >= 0 or a weight kind ({type: ...}), found True (bool)"),
        ("2", "expected a number >= 0 or a weight kind ({type: ...}), found '2' (str)"),
    ],
)
def test_term_weight_follows_the_config_rule(weight: object, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        Term(CrossEntropyParams(), weight=weight)  # type: ignore[arg-type]
    assert weight_problem(weight) == message  # the config's rule, word for word


def test_term_weight_is_a_float() -> None:
    term = Term(CrossEntropyParams(), weight=2)
    assert term.weight == 2.0 and type(term.weight) is float


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (
            {"name": "total"},
            ValueError,
            "Term name: term name 'total' is reserved: logs and output files use it for the sum of the terms "
            "(choose another `name:`)",
        ),
        ({"name": ""}, ValueError, "Term name: expected a non-empty string, found '' (str)"),
        ({"name": 3}, ValueError, "Term name: expected a non-empty string, found 3 (int)"),
        ({"loss": int}, TypeError, "Term loss must be a Loss subclass (or None), found <class 'int'> (type)"),
        (
            {"loss": "cross_entropy"},
            TypeError,
            "Term loss must be a Loss subclass (or None), found 'cross_entropy' (str)",
        ),
    ],
)
def test_term_misuse_is_one_clear_error(kwargs: dict[str, Any], error: type[Exception], message: str) -> None:
    with pytest.raises(error) as info:
        Term(CrossEntropyParams(), **kwargs)
    assert str(info.value) == message


def test_term_params_must_be_a_params_instance() -> None:
    with pytest.raises(TypeError) as info:
        Term(5)  # type: ignore[type-var]
    assert str(info.value) == "Term params must be a params instance (e.g. CrossEntropyParams()), found 5 (int)"
    with pytest.raises(TypeError) as info:
        Term(CrossEntropyParams)  # type: ignore[type-var]
    assert str(info.value) == "Term params must be a params instance, found the class CrossEntropyParams: call it"


def test_config_round_trip() -> None:
    cfg = [
        {"type": "cross_entropy", "params": {"weight": [1.0, 2.0, 3.0], "reduction": "sum"}},
        {"type": "bce_kl", "name": "kl", "weight": 0.25, "params": {"weight_softmax": 0.5}},
    ]
    collection = LossCollection.from_config(cfg)
    plain = collection.to_config()
    assert plain == [
        {
            "type": "cross_entropy",
            "params": {"weight": [1.0, 2.0, 3.0], "ignore_index": -100, "reduction": "sum", "label_smoothing": 0.0},
        },
        {"type": "bce_kl", "name": "kl", "weight": 0.25, "params": {"weight_softmax": 0.5}},
    ]
    again = LossCollection.from_config(plain)
    assert again.terms == collection.terms
    assert again.to_config() == plain


def test_class_weights_from_yaml_become_a_buffer() -> None:
    collection = LossCollection.from_config([{"type": "cross_entropy", "params": {"weight": [1, 2, 3]}}])
    out = collection({"targets": INDICES}, {"scores": SCORES})
    expected = torch.nn.functional.cross_entropy(SCORES, INDICES, weight=torch.tensor([1.0, 2.0, 3.0]))
    torch.testing.assert_close(out.total, expected)
    assert "losses.0.class_weight" not in collection.state_dict()


def test_missing_input_names_term_key_mapping_and_available_keys() -> None:
    collection = LossCollection.from_config([{"type": "cross_entropy", "name": "answer_ce"}])
    with pytest.raises(LossInputError) as info:
        collection({"labels": INDICES}, {"scores": SCORES})
    assert str(info.value) == ("loss 'answer_ce' needs sample_list['targets'], which is missing (available: 'labels')")
    assert (info.value.term, info.value.key, info.value.source) == ("answer_ce", "targets", "sample_list")


def test_shape_mismatch_names_both_inputs() -> None:
    collection = LossCollection([BinaryCrossEntropyKlParams(weight_softmax=1.0)])
    with pytest.raises(LossShapeError) as info:
        collection({"targets": SOFT[:, :2]}, {"scores": SCORES})
    assert str(info.value) == (
        "loss 'bce_kl': model_output['scores'] (2, 3) and sample_list['targets'] (2, 2) must have the same shape"
    )


def test_rank_and_dtype_mismatch() -> None:
    collection = LossCollection([BinaryCrossEntropyKlParams(weight_softmax=1.0)])
    with pytest.raises(
        LossShapeError, match=r"expected sample_list\['targets'\]: float tensor of rank 2, found shape \(2,\)"
    ):
        collection({"targets": INDICES.float()}, {"scores": SCORES})
    with pytest.raises(LossShapeError, match="found dtype torch.int64"):
        collection({"targets": INDICES.view(2, 1).expand(2, 3)}, {"scores": SCORES})


_DTYPES = [
    torch.float32,
    torch.float16,
    torch.float64,
    torch.int64,
    torch.int32,
    torch.uint8,
    torch.bool,
    torch.complex64,
]


@settings(max_examples=150, deadline=None)
@given(
    ranks=st.sets(st.integers(0, 3), max_size=2),
    kind=st.sampled_from(["any", "float", "integer", "bool"]),
    rank=st.integers(0, 3),
    dtype=st.sampled_from(_DTYPES),
    source=st.sampled_from(["sample_list", "model_output"]),
    key=st.sampled_from(["x", "info.x"]),
)
def test_read_accepts_exactly_what_the_full_check_accepts(
    ranks: set[int], kind: DType, rank: int, dtype: torch.dtype, source: str, key: str
) -> None:
    """``Loss.read``'s fast check (``Input.accepts``) agrees with the checks that write the error messages."""
    make = model_input if source == "model_output" else sample_input
    spec = make(key, ranks=tuple(sorted(ranks)), dtype=kind)
    value = torch.zeros((1,) * rank, dtype=dtype)
    batch: Batch = {"info": {"x": value}} if key == "info.x" else {"x": value}
    sample_list, model_output = (batch, {}) if source == "sample_list" else ({}, batch)
    loss = CrossEntropyLoss(CrossEntropyParams())
    try:
        loss._check_tensor(spec, value)
    except LossShapeError:
        full = False
    else:
        full = True
    assert spec.accepts(value) is full
    if full:
        assert loss.read(spec, sample_list, model_output) is value
    else:
        with pytest.raises(LossShapeError, match=r"loss 'cross_entropy': .*(found shape|found dtype)"):
            loss.read(spec, sample_list, model_output)
    with pytest.raises(LossInputError, match="which is missing"):
        loss.read(spec, model_output, sample_list)  # the other mapping lacks the key


def test_pickle_and_deepcopy_preserve_behaviour() -> None:
    collection = LossCollection.from_config([{"type": "cross_entropy", "params": {"weight": [1, 2, 3]}}])
    for clone in (pickle.loads(pickle.dumps(collection)), copy.deepcopy(collection)):
        assert clone.terms == collection.terms
        torch.testing.assert_close(
            clone({"targets": INDICES}, {"scores": SCORES}).total,
            collection({"targets": INDICES}, {"scores": SCORES}).total,
        )


def test_loss_output_is_a_pytree_and_compiles_in_one_graph() -> None:
    collection = LossCollection.from_config(
        [{"type": "bce_kl", "weight": 0.5, "params": {"weight_softmax": 2.0}}, {"type": "cross_entropy", "weight": 2}]
    )
    compiled = torch.compile(collection, fullgraph=True, backend="eager")
    eager = collection({"targets": SOFT}, {"scores": SCORES})
    got = compiled({"targets": SOFT}, {"scores": SCORES})
    assert isinstance(got, LossOutput)
    assert list(got.terms) == list(eager.terms)
    torch.testing.assert_close(got.total, eager.total)
    assert list(got.weights) == ["bce_kl", "cross_entropy"]
    leaves, spec = pytree.tree_flatten(eager)
    assert len(leaves) == 6  # 3 terms, the total, 2 weights
    rebuilt = pytree.tree_unflatten(leaves, spec)
    assert isinstance(rebuilt, LossOutput) and list(rebuilt.terms) == list(eager.terms)
    assert {k: float(v) for k, v in rebuilt.weights.items()} == {"bce_kl": 0.5, "cross_entropy": 2.0}


def test_backward_reaches_the_model() -> None:
    scores = SCORES.clone().requires_grad_()
    collection = LossCollection([CrossEntropyParams()])
    collection({"targets": INDICES}, {"scores": scores}).total.backward()
    assert scores.grad is not None and scores.grad.abs().sum() > 0


@pytest.mark.usefixtures("clean_registry")
def test_a_custom_loss_with_several_terms_and_nested_inputs() -> None:
    @attrs.frozen
    class PairParams:
        scale: float = 1.0

    left = model_input("pair.left", ranks=(1,), dtype="float")

    @register_loss("pair_test")
    class PairLoss(Loss[PairParams]):
        inputs = (left,)
        output_terms = ("a", "b")

        def forward(self, sample_list: Batch, model_output: Batch) -> dict[str, Tensor]:
            value = self.read(left, sample_list, model_output)
            return {"a": value.sum() * self.params.scale, "b": value.mean()}

    collection = LossCollection.from_config([{"type": "pair_test", "params": {"scale": 2}}])
    out = collection({}, {"pair": {"left": torch.tensor([1.0, 3.0])}})
    assert {k: float(v) for k, v in out.terms.items()} == {"pair_test/a": 8.0, "pair_test/b": 2.0}
    assert float(out.total) == 10.0
    with pytest.raises(
        LossInputError, match=r"needs model_output\['pair'\]\['left'\], which is missing \(available: 'right'\)"
    ):
        collection({}, {"pair": {"right": torch.tensor([1.0])}})


@attrs.frozen
class _NoParams:
    pass


_VALUE = model_input("value")


class _ReadValue(Loss[_NoParams]):
    """Returns ``model_output["value"]`` as it is (any dtype)."""

    inputs = (_VALUE,)

    def forward(self, sample_list: Batch, model_output: Batch) -> Tensor:
        return self.read(_VALUE, sample_list, model_output)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (torch.tensor(3), 4.5),  # integer terms: the weighted total is promoted to float
        (torch.tensor(True), 1.5),
        (torch.tensor(0.5, dtype=torch.bfloat16), 0.75),
        (torch.tensor(3.0, dtype=torch.float64), 4.5),
    ],
)
def test_weighted_total_of_any_dtype(value: Tensor, expected: float) -> None:
    collection = LossCollection(
        [Term(_NoParams(), name="a", loss=_ReadValue), Term(_NoParams(), weight=0.5, name="b", loss=_ReadValue)]
    )
    total = collection({}, {"value": value}).total
    assert float(total) == expected
    assert total.dtype == (value + value * 0.5).dtype


def test_input_declarations_are_validated() -> None:
    with pytest.raises(ValueError, match="'dtype' must be in"):
        model_input("x", dtype="floating")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="'source' must be in"):
        Input("x", "batch")  # type: ignore[arg-type]
