"""Runtime options: inference without targets (``missing_targets="skip"``) and ``check_finite``."""

from __future__ import annotations

import contextlib
import pickle
import threading

import pytest
import torch
from torch._dynamo.testing import CompileCounter

from typed_losses import LossCollection, LossConfigError, LossInputError, NonFiniteLossError
from typed_losses.losses import CrossEntropyParams

SCORES = torch.tensor([[1.0, -1.0, 0.5], [0.0, 2.0, -0.5]])
INDICES = torch.tensor([0, 2])
CONFIG = [
    {"type": "cross_entropy", "name": "ce", "weight": 2.0},
    {"type": "multi", "name": "mixed", "params": [{"type": "mse"}, {"type": "nll_loss"}]},
    {"type": "caption_cross_entropy", "name": "caption"},
]


def ce(scores: torch.Tensor = SCORES) -> torch.Tensor:
    return torch.nn.functional.cross_entropy(scores, INDICES)


def test_default_is_an_error_naming_term_key_and_mapping() -> None:
    collection = LossCollection.from_config(CONFIG)
    with pytest.raises(
        LossInputError, match=r"^loss 'ce' needs sample_list\['targets'\], which is missing \(it is empty\)$"
    ):
        collection({}, {"scores": SCORES})


def test_skip_mode_skips_terms_without_targets_and_says_which() -> None:
    collection = LossCollection.from_config(CONFIG, missing_targets="skip")
    out = collection({}, {"scores": SCORES})
    assert out.skipped == ("ce", "mixed", "caption")
    assert dict(out.terms) == {}
    assert out.total.dim() == 0 and float(out.total) == 0.0 and not out.total.requires_grad
    # None counts as absent (MMF datasets put None for missing answers).
    assert collection({"targets": None}, {"scores": SCORES}).skipped == ("ce", "mixed", "caption")


def test_skip_mode_computes_terms_whose_targets_are_present() -> None:
    collection = LossCollection([CrossEntropyParams()], missing_targets="skip")
    out = collection({"targets": INDICES}, {"scores": SCORES})
    assert out.skipped == ()
    torch.testing.assert_close(out.total, ce())
    assert float(out.total) == pytest.approx(1.6258455514907837)


def test_skip_mode_still_reports_missing_model_outputs_and_bad_ranks() -> None:
    collection = LossCollection([CrossEntropyParams()], missing_targets="skip")
    with pytest.raises(LossInputError, match=r"needs model_output\['scores'\]"):
        collection({"targets": INDICES}, {})
    with pytest.raises(LossInputError, match=r"found shape \(3,\) \(rank 1\)"):
        collection({"targets": INDICES}, {"scores": SCORES[0]})


def test_skip_context_restores_the_mode() -> None:
    collection = LossCollection([CrossEntropyParams()])
    with collection.skip_missing_targets() as same:
        assert same is collection and collection.missing_targets == "skip"
        assert collection({}, {"scores": SCORES}).skipped == ("cross_entropy",)
    mode: str = collection.missing_targets
    assert mode == "error"
    with pytest.raises(LossInputError):
        collection({}, {"scores": SCORES})


def test_bad_options_are_config_errors() -> None:
    with pytest.raises(LossConfigError) as info:
        LossCollection([CrossEntropyParams()], check_finite="yes", missing_targets="warn")  # type: ignore[arg-type]
    assert [str(i) for i in info.value.issues] == [
        "check_finite: expected True or False, found 'yes'",
        "missing_targets: expected 'error' or 'skip', found 'warn'",
    ]
    with pytest.raises(LossConfigError, match="missing_targets: expected 'error' or 'skip', found 'ignore'"):
        LossCollection.from_config(["cross_entropy"], missing_targets="ignore")  # type: ignore[arg-type]
    collection = LossCollection([CrossEntropyParams()])
    with pytest.raises(LossConfigError):
        collection.missing_targets = "skipping"  # type: ignore[assignment]
    with pytest.raises(LossConfigError, match="check_finite: expected True or False, found 1"):
        collection.check_finite = 1  # type: ignore[assignment]
    collection.check_finite = True
    assert collection.check_finite is True


def test_check_finite_names_every_non_finite_term() -> None:
    collection = LossCollection.from_config(
        [
            {"type": "cross_entropy", "name": "ce"},
            {"type": "cross_entropy", "name": "per_sample", "params": {"reduction": "none"}},
            {"type": "cross_entropy", "name": "zero", "weight": 0.0, "params": {"ignore_index": 0}},
        ],
        check_finite=True,
    )
    scores = SCORES.clone()
    scores[0, 0] = float("nan")
    with pytest.raises(NonFiniteLossError) as info:
        collection({"targets": INDICES}, {"scores": scores})
    assert info.value.terms == ("ce", "per_sample")
    assert str(info.value) == "non-finite loss: 'ce' is nan; 'per_sample' has 1 nan of 2 elements"
    again = pickle.loads(pickle.dumps(info.value))
    assert (type(again), again.terms, str(again)) == (NonFiniteLossError, info.value.terms, str(info.value))


def test_check_finite_reports_infinities_and_passes_finite_values() -> None:
    collection = LossCollection.from_config([{"type": "mse", "params": {}}], check_finite=True)
    out = collection({"targets": torch.zeros(2, 3)}, {"scores": SCORES})
    assert float(out.total) == pytest.approx(float((SCORES**2).mean()))
    with pytest.raises(NonFiniteLossError, match=r"^non-finite loss: 'mse' is inf$"):
        collection({"targets": torch.zeros(2, 3)}, {"scores": torch.full((2, 3), 1e30)})


def test_check_finite_off_lets_nan_through() -> None:
    scores = SCORES.clone()
    scores[0, 0] = float("nan")
    out = LossCollection([CrossEntropyParams()])({"targets": INDICES}, {"scores": scores})
    assert torch.isnan(out.total)


# -- the mode per call and per thread ----------------------------------------------------------------------


def test_the_mode_can_be_chosen_for_one_call() -> None:
    collection = LossCollection.from_config(CONFIG)
    out = collection({}, {"scores": SCORES}, missing_targets="skip")
    assert out.skipped == ("ce", "mixed", "caption") and float(out.total) == 0.0
    assert collection.missing_targets == "error"
    with pytest.raises(LossInputError, match=r"^loss 'ce' needs sample_list\['targets'\]"):
        collection({}, {"scores": SCORES})
    skipping = LossCollection([CrossEntropyParams()], missing_targets="skip")
    with pytest.raises(LossInputError, match=r"^loss 'cross_entropy' needs sample_list\['targets'\]"):
        skipping({}, {"scores": SCORES}, missing_targets="error")  # the argument beats the default
    with skipping.skip_missing_targets(), pytest.raises(LossInputError):
        skipping({}, {"scores": SCORES}, missing_targets="error")  # and the block
    with pytest.raises(LossConfigError) as info:
        collection({}, {"scores": SCORES}, missing_targets="ignore")  # type: ignore[arg-type]
    assert str(info.value) == "missing_targets: expected 'error' or 'skip', found 'ignore'"


def test_skip_blocks_nest_and_belong_to_their_collection() -> None:
    first = LossCollection([CrossEntropyParams()])
    second = LossCollection([CrossEntropyParams()])
    with first.skip_missing_targets():
        with first.skip_missing_targets():
            assert first({}, {"scores": SCORES}).skipped == ("cross_entropy",)
        assert first({}, {"scores": SCORES}).skipped == ("cross_entropy",)  # the outer block is still open
        assert second.missing_targets == "error"
        with pytest.raises(LossInputError):
            second({}, {"scores": SCORES})
    assert first.missing_targets == "error"


def test_concurrent_skip_blocks_on_one_collection_keep_each_threads_mode() -> None:
    """Threads in and out of ``skip_missing_targets()`` call one collection at once, round after round.

    Before the mode was per thread, two overlapping blocks left the collection in skip mode for good, and
    a batch without targets then gave ``total=0.0`` instead of an error.
    """
    collection = LossCollection([CrossEntropyParams()])
    threads, rounds = 8, 200
    barrier = threading.Barrier(threads)
    wrong: list[str] = []

    def work(index: int) -> None:
        skipping = index % 2 == 0
        for round_ in range(rounds):
            barrier.wait()
            with collection.skip_missing_targets() if skipping else contextlib.nullcontext():
                barrier.wait()  # every skipping thread is inside its block now
                try:
                    out = collection({}, {"scores": SCORES})
                    got = f"skipped {out.skipped}"
                except LossInputError:
                    got = "error"
                barrier.wait()
            expected = "skipped ('cross_entropy',)" if skipping else "error"
            if got != expected or (collection.missing_targets != "error" and not skipping):
                wrong.append(f"thread {index} round {round_}: {got}")

    pool = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    assert wrong == []
    assert collection.missing_targets == "error" and collection._skip_blocks == 0
    with pytest.raises(LossInputError):
        collection({}, {"scores": SCORES})


def test_the_per_call_mode_compiles_to_one_graph_per_mode(fresh_dynamo: None) -> None:
    collection = LossCollection([CrossEntropyParams()])
    counter = CompileCounter()
    compiled = torch.compile(collection, fullgraph=True, backend=counter)
    assert compiled({}, {"scores": SCORES}, missing_targets="skip").skipped == ("cross_entropy",)
    out = compiled({"targets": INDICES}, {"scores": SCORES}, missing_targets="skip")
    assert out.skipped == () and float(out.total) == pytest.approx(1.6258455514907837)
    torch.testing.assert_close(compiled({"targets": INDICES}, {"scores": SCORES}).total, ce())
    assert counter.frame_count == 3  # no targets; targets, skip mode; targets, error mode
