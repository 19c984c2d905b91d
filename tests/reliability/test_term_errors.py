"""Errors escaping a term name it: missing keys read by subscription, other exceptions, bad return values.

A custom loss written as MMF's tutorial writes it (``model_output["scores"]``) gets the same
``LossInputError`` a declared input gives; any other exception keeps its type and message and gains a note
naming the term; a return value that is not a loss value is a ``LossOutputError`` naming the term and what
came back. Eager and under ``torch.compile(fullgraph=True)``.
"""

from __future__ import annotations

import pickle
from typing import Any, ClassVar

import attrs
import pytest
import torch
import torch.nn.functional as F
from torch import Tensor

from typed_losses import LossCollection, LossInputError, LossOutputError, LossShapeError, Term
from typed_losses.loss import Batch, Loss
from typed_losses.losses import CrossEntropyParams, MultiParams

SCORES = torch.tensor([[1.0, -1.0, 0.5], [0.0, 2.0, -0.5]])
INDICES = torch.tensor([0, 2])


@attrs.frozen
class TutorialParams:
    pass


class TutorialLoss(Loss[TutorialParams]):
    """MMF's "Adding a custom loss" tutorial: reads the batch by subscription, declares nothing."""

    loss_name: ClassVar[str | None] = "tutorial"

    def forward(self, sample_list: Batch, model_output: Batch) -> Tensor:
        return F.cross_entropy(model_output["scores"], sample_list["targets"])


@attrs.frozen
class ReturnsParams:
    value: Any = None


class ReturnsLoss(Loss[ReturnsParams]):
    """Returns ``params.value`` whatever it is."""

    loss_name: ClassVar[str | None] = "returns"

    def forward(self, sample_list: Batch, model_output: Batch) -> Any:
        return self.params.value


class DeclaresLoss(ReturnsLoss):
    output_terms = ("a", "b")


def tutorial(name: str = "mine") -> LossCollection:
    return LossCollection([Term(TutorialParams(), loss=TutorialLoss, name=name)])


def returning(value: object, loss: type[ReturnsLoss] = ReturnsLoss) -> LossCollection:
    return LossCollection([Term(ReturnsParams(value), loss=loss, name="mine")])


# -- a key read by subscription ----------------------------------------------------------------------------


def test_a_key_missing_from_both_mappings_names_the_term_and_both_mappings() -> None:
    with pytest.raises(LossInputError) as info:
        tutorial()({"targets": INDICES}, {"logits": SCORES})
    assert type(info.value) is LossInputError
    assert str(info.value) == (
        "loss 'mine' looked up 'scores' (KeyError), which neither sample_list (keys: 'targets') "
        "nor model_output (keys: 'logits') holds"
    )
    assert (info.value.term, info.value.key, info.value.source) == ("mine", "scores", "sample_list and model_output")
    assert info.value.available == ("targets", "logits")
    assert isinstance(info.value.__cause__, KeyError)  # the line that subscripted is in the traceback
    again = pickle.loads(pickle.dumps(info.value))
    assert (type(again), str(again), again.available) == (LossInputError, str(info.value), info.value.available)


def test_a_key_the_other_mapping_holds_names_the_mapping_it_was_read_from() -> None:
    with pytest.raises(LossInputError) as info:
        tutorial()({"scores": SCORES}, {"targets": INDICES})  # the two mappings swapped
    assert str(info.value) == "loss 'mine' needs model_output['scores'], which is missing (available: 'targets')"
    assert (info.value.key, info.value.source, info.value.available) == ("scores", "model_output", ("targets",))
    with pytest.raises(LossInputError) as empty:
        tutorial()({}, {"scores": SCORES})
    assert str(empty.value) == (
        "loss 'mine' looked up 'targets' (KeyError), which neither sample_list (empty) "
        "nor model_output (keys: 'scores') holds"
    )


def test_the_loss_alone_raises_the_same_error() -> None:
    loss = TutorialLoss(TutorialParams(), name="alone")
    with pytest.raises(
        LossInputError, match=r"^loss 'alone' looked up 'targets' \(KeyError\), which neither sample_list"
    ):
        loss({}, {"scores": SCORES})
    torch.testing.assert_close(loss({"targets": INDICES}, {"scores": SCORES}), F.cross_entropy(SCORES, INDICES))


@pytest.mark.parametrize("fullgraph", [True, False])
def test_compiled_subscription_errors_are_the_eager_ones(fullgraph: bool, fresh_dynamo: None) -> None:
    collection = tutorial()
    compiled = torch.compile(collection, fullgraph=fullgraph, backend="eager")
    good = compiled({"targets": INDICES}, {"scores": SCORES}).total
    torch.testing.assert_close(good, F.cross_entropy(SCORES, INDICES))
    with pytest.raises(LossInputError) as both:
        compiled({"targets": INDICES}, {"logits": SCORES})
    assert str(both.value) == (
        "loss 'mine' looked up 'scores' (KeyError), which neither sample_list (keys: 'targets') "
        "nor model_output (keys: 'logits') holds"
    )
    assert type(pickle.loads(pickle.dumps(both.value))) is LossInputError
    with pytest.raises(LossInputError) as one:
        compiled({"scores": SCORES}, {"targets": INDICES})
    assert str(one.value) == "loss 'mine' needs model_output['scores'], which is missing (available: 'targets')"
    torch.testing.assert_close(compiled({"targets": INDICES}, {"scores": SCORES}).total, good)


# -- any other exception ------------------------------------------------------------------------------------


def test_other_exceptions_keep_type_and_message_and_name_the_term() -> None:
    collection = LossCollection([Term(CrossEntropyParams(), name="answer")])
    with pytest.raises(IndexError) as info:  # an out-of-range class: torch's check (it needs the values)
        collection({"targets": torch.tensor([0, 5])}, {"scores": SCORES})
    assert str(info.value) == "Target 5 is out of bounds."
    assert info.value.__notes__ == ["raised by loss term 'answer' (cross_entropy)"]
    with pytest.raises(IndexError) as plain:
        LossCollection([CrossEntropyParams()])({"targets": torch.tensor([0, 5])}, {"scores": SCORES})
    assert plain.value.__notes__ == ["raised by loss term 'cross_entropy'"]


def test_a_key_error_that_is_not_about_the_batch_gets_a_note() -> None:
    class Lookup(TutorialLoss):
        def forward(self, sample_list: Batch, model_output: Batch) -> Tensor:
            return {0: SCORES.sum()}[1]  # the loss's own mapping

    with pytest.raises(KeyError) as info:
        LossCollection([Term(TutorialParams(), loss=Lookup, name="lookup")])({}, {})
    assert info.value.args == (1,)
    assert info.value.__notes__ == ["raised by loss term 'lookup' (tutorial)"]


def test_a_key_error_of_the_loss_own_mapping_is_worded_as_what_is_known_and_keeps_its_line() -> None:
    class Table(TutorialLoss):
        table: ClassVar[dict[str, Tensor]] = {"a": SCORES.sum()}

        def forward(self, sample_list: Batch, model_output: Batch) -> Tensor:
            return self.table["b"]  # the loss's own mapping, a key the batch does not hold either

    with pytest.raises(LossInputError) as info:
        LossCollection([Term(TutorialParams(), loss=Table, name="lk")])({"x": INDICES}, {})
    assert (
        str(info.value)
        == "loss 'lk' looked up 'b' (KeyError), which neither sample_list (keys: 'x') nor model_output (empty) holds"
    )
    cause = info.value.__cause__
    assert isinstance(cause, KeyError) and cause.args == ("b",)
    assert cause.__traceback__ is not None
    last = cause.__traceback__
    while last.tb_next is not None:
        last = last.tb_next
    assert last.tb_frame.f_code.co_name == "forward"  # the traceback ends on the line that failed


class CustomCallLoss(TutorialLoss):
    """A loss with a ``__call__`` of its own: subclasses keep it."""

    calls: ClassVar[list[str]] = []

    def __call__(self, sample_list: Batch, model_output: Batch) -> Tensor:
        CustomCallLoss.calls.append(type(self).__name__)
        return super().__call__(sample_list, model_output)


def test_a_custom_call_is_kept_by_subclasses_and_errors_still_name_the_term() -> None:
    class Child(CustomCallLoss):
        pass

    CustomCallLoss.calls.clear()
    out = LossCollection([Term(TutorialParams(), loss=Child, name="child")])({"targets": INDICES}, {"scores": SCORES})
    torch.testing.assert_close(out.total, F.cross_entropy(SCORES, INDICES))
    assert CustomCallLoss.calls == ["Child"]
    assert getattr(Child.__call__, "_names_term", False) is False
    with pytest.raises(LossInputError, match=r"^loss 'child' needs model_output\['scores'\], which is missing"):
        Child(TutorialParams(), name="child")({"scores": SCORES}, {"targets": INDICES})
    assert CustomCallLoss.calls == ["Child", "Child"]

    class Plain(TutorialLoss):
        pass

    assert Plain.__call__ is not TutorialLoss.__call__ and getattr(Plain.__call__, "_names_term", False)
    assert Plain.__call__.__qualname__.endswith("Plain.__call__")


def test_a_child_of_multi_is_named_and_so_is_multi() -> None:
    collection = LossCollection([Term(MultiParams(losses=[Term(CrossEntropyParams())]), name="mixed")])
    with pytest.raises(IndexError) as info:
        collection({"targets": torch.tensor([3, 0])}, {"scores": SCORES})
    assert info.value.__notes__ == ["raised by loss term 'cross_entropy'", "raised by loss term 'mixed' (multi)"]


# -- return values ------------------------------------------------------------------------------------------

EXPECTED = "a loss returns a tensor or a mapping of term names to tensors"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (None, f"loss 'mine' (returns) returned None; {EXPECTED}"),
        (0.5, f"loss 'mine' (returns) returned float 0.5; {EXPECTED}"),
        ([SCORES.sum()], f"loss 'mine' (returns) returned a list of 1 item; {EXPECTED}"),
        ("total", f"loss 'mine' (returns) returned a str; {EXPECTED}"),
        (
            {"a": {"b": SCORES.sum()}},
            f"loss 'mine' (returns) returned a mapping whose item 'a' is a mapping (dict); {EXPECTED}",
        ),
        ({"a": 1.0}, f"loss 'mine' (returns) returned a mapping whose item 'a' is float 1.0; {EXPECTED}"),
        (
            torch.tensor([1, 2]),
            "loss 'mine' (returns) returned an int64 tensor of shape (2,); "
            "the total takes its mean, which needs a floating-point tensor",
        ),
        (
            {"a": torch.tensor([True, False])},
            "loss 'mine' (returns) returned a mapping whose item 'a' is a bool tensor of shape (2,); "
            "the total takes its mean, which needs a floating-point tensor",
        ),
    ],
    ids=["none", "float", "list", "str", "nested", "child-float", "int-vector", "child-bool-vector"],
)
def test_a_value_that_is_not_a_loss_value_names_the_term_and_what_came_back(value: object, message: str) -> None:
    with pytest.raises(LossOutputError) as info:
        returning(value)({}, {})
    assert str(info.value) == message
    assert info.value.term == "mine" and isinstance(info.value, TypeError)
    again = pickle.loads(pickle.dumps(info.value))
    assert (type(again), str(again), again.term) == (LossOutputError, message, "mine")


def test_inside_multi_the_child_is_named() -> None:
    child = Term(ReturnsParams(None), loss=ReturnsLoss, name="child")
    with pytest.raises(LossOutputError, match=r"^loss 'child' \(returns\) returned None; "):
        LossCollection([Term(MultiParams(losses=[child]), name="mixed")])({}, {})


def test_integer_scalars_and_float_vectors_are_loss_values() -> None:
    assert float(returning(torch.tensor(3))({}, {}).total) == 3.0
    assert float(returning(torch.tensor([1.0, 2.0]))({}, {}).total) == 1.5
    out = returning({"a": torch.tensor(1.0), "b": torch.tensor([2.0, 4.0])})({}, {})
    assert list(out.terms) == ["mine/a", "mine/b"] and float(out.total) == 4.0


def test_declared_output_terms_are_enforced() -> None:
    a, b = torch.tensor(1.0), torch.tensor(2.0)
    with pytest.raises(LossOutputError) as info:
        returning({"a": a, "c": b}, DeclaresLoss)({}, {})
    assert str(info.value) == "loss 'mine' (returns) declares output_terms ('a', 'b') but returned the terms ('a', 'c')"
    with pytest.raises(LossOutputError, match=r"returned the terms \('a',\)$"):
        returning({"a": a}, DeclaresLoss)({}, {})
    out = returning({"b": b, "a": a}, DeclaresLoss)({}, {})  # the order is the loss's
    assert list(out.terms) == ["mine/b", "mine/a"] and float(out.total) == 3.0


def test_a_loss_declaring_output_terms_may_not_return_a_tensor() -> None:
    message = (
        "loss 'mine' (returns) declares output_terms ('a', 'b') but returned a float32 tensor of shape (), "
        "not a mapping of those terms to tensors"
    )
    with pytest.raises(LossOutputError) as info:
        returning(torch.tensor(1.0), DeclaresLoss)({}, {})
    assert str(info.value) == message
    child = Term(ReturnsParams(torch.tensor(1.0)), loss=DeclaresLoss, name="mine")
    with pytest.raises(LossOutputError) as nested:
        LossCollection([Term(MultiParams(losses=[child]), name="mixed")])({}, {})
    assert str(nested.value) == message


def test_undeclared_mappings_may_not_overwrite_another_term_key() -> None:
    one, two = torch.tensor(1.0), torch.tensor(2.0)
    um = Term(ReturnsParams({"kl": one}), loss=ReturnsLoss, name="um")
    um_kl = Term(ReturnsParams(two), loss=ReturnsLoss, name="um/kl")
    with pytest.raises(LossOutputError) as mapping_second:
        LossCollection([um_kl, um])({}, {})
    assert str(mapping_second.value) == (
        "loss 'um' (returns) adds the key 'um/kl' to output.terms, which term 'um/kl' added already; "
        "give one of them a distinct name"
    )
    with pytest.raises(LossOutputError) as tensor_second:
        LossCollection([um, um_kl])({}, {})
    assert str(tensor_second.value) == (
        "loss 'um/kl' (returns) adds the key 'um/kl' to output.terms, which term 'um' added already; "
        "give one of them a distinct name"
    )
    a = Term(ReturnsParams({"x": one, "b/c": one}), loss=ReturnsLoss, name="a")
    a_b = Term(ReturnsParams({"c": two}), loss=ReturnsLoss, name="a/b")
    with pytest.raises(LossOutputError) as deep:
        LossCollection([a, a_b])({}, {})
    assert str(deep.value) == (
        "loss 'a/b' (returns) adds the key 'a/b/c' to output.terms, which term 'a' added already; "
        "give one of them a distinct name"
    )
    # names that extend one another, without a shared key: allowed, with the usual total
    fine = LossCollection([Term(ReturnsParams({"x": one}), loss=ReturnsLoss, name="a", weight=2.0), a_b])({}, {})
    assert dict(fine.terms) == {"a/x": one, "a/b/c": two} and float(fine.total) == 4.0


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            torch.tensor(1 + 2j),
            "returned a complex64 tensor of shape (); a loss value is real (floating-point, integer or bool)",
        ),
        (
            torch.tensor([1 + 2j]),
            "returned a complex64 tensor of shape (1,); the total takes its mean, which needs a floating-point tensor",
        ),
        (
            {"a": torch.tensor(1.0), "b": torch.tensor(2j)},
            "returned a mapping whose item 'b' is a complex64 tensor of shape (); "
            "a loss value is real (floating-point, integer or bool)",
        ),
    ],
    ids=["scalar", "vector", "child"],
)
def test_complex_loss_values_are_refused(value: object, message: str) -> None:
    first = Term(ReturnsParams(torch.tensor(0.5)), loss=ReturnsLoss, name="first")
    for weight in (1.0, 3.0):
        collection = LossCollection([first, Term(ReturnsParams(value), loss=ReturnsLoss, name="mine", weight=weight)])
        with pytest.raises(LossOutputError) as info:
            collection({}, {})
        assert str(info.value) == f"loss 'mine' (returns) {message}"
    inner = Term(ReturnsParams(value), loss=ReturnsLoss, name="mine")
    with pytest.raises(LossOutputError) as nested:
        LossCollection([Term(MultiParams(losses=[inner]), name="mixed")])({}, {})
    assert str(nested.value) == f"loss 'mine' (returns) {message}"


@pytest.mark.parametrize(
    ("sample_list", "model_output", "source", "message"),
    [
        (
            {},
            SCORES,
            "model_output",
            "missing_targets='skip' needs model_output to be a mapping of names to values, found a float32 tensor of shape (2, 3)",
        ),
        (
            [INDICES],
            {},
            "sample_list",
            "missing_targets='skip' needs sample_list to be a mapping of names to values, found a list of 1 item",
        ),
    ],
    ids=["model_output", "sample_list"],
)
def test_skip_mode_needs_mappings(sample_list: Any, model_output: Any, source: str, message: str) -> None:
    collection = LossCollection([CrossEntropyParams()], missing_targets="skip")
    with pytest.raises(LossInputError) as info:
        collection(sample_list, model_output)
    assert str(info.value) == message
    assert (info.value.term, info.value.source) == ("", source)


@pytest.mark.filterwarnings("ignore:Using a non-tuple sequence")
def test_a_batch_that_is_not_a_mapping_is_named_in_error_mode_too() -> None:
    collection = LossCollection([Term(CrossEntropyParams(), name="answer")])
    with pytest.raises(LossInputError) as info:
        collection({"targets": INDICES}, SCORES)  # type: ignore[arg-type]  # torch's IndexError: a tensor indexed by a string
    assert str(info.value) == (
        "loss 'answer' reads model_output as a mapping of names to values, found a float32 tensor of shape (2, 3)"
    )
    assert (info.value.term, info.value.source) == ("answer", "model_output")
    assert isinstance(info.value.__cause__, IndexError)
    with pytest.raises(LossInputError) as tutorial_info:
        tutorial()((INDICES,), {"scores": SCORES})  # type: ignore[arg-type]
    assert str(tutorial_info.value) == (
        "loss 'mine' reads sample_list as a mapping of names to values, found a tuple of 1 item"
    )


def test_a_compiled_collection_raises_the_eager_output_error(fresh_dynamo: None) -> None:
    collection = returning({"a": torch.tensor(1.0), "c": torch.tensor(2.0)}, DeclaresLoss)
    with pytest.raises(LossOutputError) as info:
        torch.compile(collection, fullgraph=True, backend="eager")({}, {})
    assert str(info.value) == "loss 'mine' (returns) declares output_terms ('a', 'b') but returned the terms ('a', 'c')"
    assert type(pickle.loads(pickle.dumps(info.value))) is LossOutputError


def test_shape_errors_are_unchanged_and_carry_no_note() -> None:
    with pytest.raises(LossShapeError) as info:
        LossCollection([CrossEntropyParams()])({"targets": INDICES}, {"scores": SCORES[0]})
    assert not hasattr(info.value, "__notes__")
