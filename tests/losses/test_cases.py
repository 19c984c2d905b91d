"""Every catalog loss, driven by its case in ``tests/helpers/cases.py`` (params, inputs, reference, exact numbers).

For each loss: it has a case; it equals its hand-written reference on small inputs (and is not trivially 0
there); it gives every exact number of its case (MMF's own outputs); and each of its runs compiles to one graph
that matches eager mode in values and gradients, while neither its forward nor its backward synchronises with
the host.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pytest
import torch
from helpers.cases import CASES, Batch, Example, Run, leaves
from helpers.checks import assert_value, build, scalar, terms_of
from helpers.mmf_inputs import mmf_caption_inputs, mmf_rand_768
from helpers.sync import no_host_sync
from torch import Tensor
from torch._dynamo.testing import CompileCounter

from typed_losses import REGISTRY, LossInputError
from typed_losses.generate import catalog_registry
from typed_losses.loss import Input, LossValue

CATALOG = catalog_registry().names()
EXAMPLES = [(name, index, example) for name, case in CASES.items() for index, example in enumerate(case.examples)]
RUNS = [run for case in CASES.values() for run in case.runs()]
#: (loss, declared required input) for every case
REQUIRED = [
    (name, declared) for name in sorted(CASES) for declared in REGISTRY[name].loss_class.inputs if not declared.optional
]


def missing_cases(names: Iterable[str]) -> list[str]:
    return [f"no case for {name}" for name in names if name not in CASES]


def _terms(value: LossValue) -> Mapping[str, Tensor]:
    return {"": value} if isinstance(value, Tensor) else value


def _total(value: LossValue) -> Tensor:
    terms = list(_terms(value).values())
    return sum(terms[1:], terms[0])


def test_every_catalog_loss_has_a_case_and_every_case_a_loss() -> None:
    assert missing_cases(CATALOG) == []
    assert sorted(CASES) == CATALOG


def test_a_loss_without_a_case_is_named() -> None:
    assert missing_cases([*CATALOG, "focal"]) == ["no case for focal"]


@pytest.mark.parametrize(("name", "index", "example"), EXAMPLES, ids=[f"{name}-{index}" for name, index, _ in EXAMPLES])
def test_exact_number(name: str, index: int, example: Example) -> None:
    value = build(name, **example.params)(*example.inputs())
    if isinstance(example.expected, Mapping):
        terms = terms_of(value)
        assert list(terms) == list(example.expected)
        for term, expected in example.expected.items():
            assert_value(terms[term], expected, rtol=example.rtol)
    else:
        assert_value(value, example.expected, rtol=example.rtol)


def test_mmf_seeded_inputs_are_mmfs() -> None:
    x = mmf_rand_768()
    assert x[0, :3].tolist() == [0.028979241847991943, 0.4018985629081726, 0.25984418392181396]
    assert x.sum().item() == 382.8428955078125
    sample_list, _ = mmf_caption_inputs()
    assert sample_list["targets"][0, :5].tolist() == [3787, 43, 2013, 8229, 1581]


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_the_reference_on_small_inputs(name: str) -> None:
    case = CASES[name]
    sample_list, model_output = case.small()
    value = _total(build(name, **case.params)(sample_list, model_output))
    torch.testing.assert_close(value, case.expected(sample_list, model_output), rtol=1e-5, atol=1e-6)
    assert scalar(value).item() != 0.0  # the small inputs exercise the loss


@pytest.mark.parametrize(
    ("name", "declared"), REQUIRED, ids=[f"{name}-{declared.source}.{declared.key}" for name, declared in REQUIRED]
)
def test_each_declared_input_is_required(name: str, declared: Input) -> None:
    sample_list, model_output = CASES[name].small()
    *parents, key = declared.key.split(".")
    mapping: Batch = sample_list if declared.source == "sample_list" else model_output
    for part in parents:  # copy the nested mappings on the way down: the builders' batches stay whole
        mapping[part] = mapping = dict(mapping[part])
    del mapping[key]
    loss = build(name, **CASES[name].params)
    with pytest.raises(LossInputError) as info:
        loss(sample_list, model_output)
    source = declared.source + "".join(f"[{part!r}]" for part in parents)  # e.g. sample_list['info']
    assert (info.value.key, info.value.source) == (key, source)
    assert repr(loss.term_name) in str(info.value)


@pytest.mark.parametrize("run", RUNS, ids=[run.id for run in RUNS])
def test_compiles_to_one_graph_without_host_sync(run: Run) -> None:
    loss = build(run.name, **run.params)
    sample_list, model_output = run.inputs()
    inputs = leaves(model_output)
    with no_host_sync():
        eager = loss(sample_list, model_output)
        eager_grads = torch.autograd.grad(_total(eager), inputs, allow_unused=True)
    torch._dynamo.reset()
    counter = CompileCounter()
    compiled = torch.compile(loss, fullgraph=True, backend=counter)(sample_list, model_output)
    assert counter.frame_count == 1
    assert list(_terms(compiled)) == list(_terms(eager))
    for key, value in _terms(eager).items():
        torch.testing.assert_close(_terms(compiled)[key], value, rtol=1e-6, atol=0.0)
    compiled_grads = torch.autograd.grad(_total(compiled), inputs, allow_unused=True)
    assert any(grad is not None for grad in eager_grads)
    for got, expected in zip(compiled_grads, eager_grads, strict=True):
        assert (got is None) == (expected is None)
        if got is not None and expected is not None:
            torch.testing.assert_close(got, expected, rtol=1e-6, atol=1e-7)
