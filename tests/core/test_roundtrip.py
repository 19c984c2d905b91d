"""Property: every registered params class round-trips structure -> unstructure -> structure."""

from __future__ import annotations

import pytest
from helpers.strategies import params_instances, supported
from hypothesis import given, settings
from hypothesis import strategies as st

from typed_losses import REGISTRY, LossCollection, Term, check_params_data, unstructure_params
from typed_losses.loss import ParamsInstance
from typed_losses.registry import LossSpec

SPECS = [spec for spec in REGISTRY if supported(spec.params_class)]


def test_every_catalog_params_class_has_a_strategy() -> None:
    assert len(SPECS) >= 2


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_params_round_trip(spec: LossSpec, data: st.DataObject) -> None:
    params = data.draw(params_instances(spec.params_class))
    plain = unstructure_params(params)
    again = check_params_data(type(params), plain)
    assert again == params
    assert unstructure_params(again) == plain


@settings(max_examples=25, deadline=None)
@given(
    items=st.lists(st.sampled_from(SPECS), min_size=1, max_size=4).flatmap(
        lambda specs: st.tuples(*[params_instances(s.params_class) for s in specs])
    ),
    weights=st.lists(st.floats(min_value=0, max_value=10, allow_nan=False), min_size=4, max_size=4),
)
def test_collection_config_round_trip(items: tuple[ParamsInstance, ...], weights: list[float]) -> None:
    terms = [Term(p, weight=w, name=f"t{i}") for i, (p, w) in enumerate(zip(items, weights, strict=False))]
    collection = LossCollection(terms)
    rebuilt = LossCollection.from_config(collection.to_config())
    assert rebuilt.terms == collection.terms
