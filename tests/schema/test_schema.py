"""The generated JSON Schema: its shape, its keywords, and its verdict on the examples and invalid fixtures."""

from __future__ import annotations

import enum
import io
import json
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import attrs
import jsonschema
import pytest
import yaml
from helpers.schema_forms import INTERP_REF, branches

from typed_losses import (
    REGISTRY,
    Loss,
    LossConfigError,
    LossValue,
    check_losses,
    constraint,
    load_yaml_text,
    param,
    register_loss,
)
from typed_losses.cli import main
from typed_losses.generate import catalog_registry, catalog_schema_text
from typed_losses.loss import doc
from typed_losses.schema import DRAFT, INTERPOLATION_PATTERN, losses_schema, schema_text

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_FILE = ROOT / "schemas" / "losses.schema.json"
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
INVALID = sorted((Path(__file__).parent / "invalid").glob("*.yaml"))

#: Every keyword the schema may use: draft-07's, as the YAML language server and PyCharm understand them.
DRAFT7_KEYWORDS = {
    "$schema", "$id", "$ref", "title", "description", "default", "definitions", "type", "enum", "const",
    "properties", "additionalProperties", "required", "items", "minItems", "maxItems", "minProperties",
    "maxProperties", "minLength", "maxLength", "pattern", "minimum", "maximum", "exclusiveMinimum",
    "exclusiveMaximum", "anyOf", "oneOf", "allOf", "not", "if", "then", "else",
    # read by the YAML language server (and VS Code's JSON service), ignored by validators
    "errorMessage", "patternErrorMessage", "enumDescriptions",
}  # fmt: skip


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return losses_schema(catalog_registry())


@pytest.fixture(scope="module")
def validator(schema: dict[str, Any]) -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator(schema)


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def walk(node: Any, path: str = "#") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every schema object under ``node`` (skipping the values of ``properties``/``definitions`` maps)."""
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            if key in ("properties", "definitions"):
                for name, sub in value.items():
                    yield from walk(sub, f"{path}/{key}/{name}")
            elif key in ("enum", "const", "default", "required"):
                continue
            else:
                yield from walk(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from walk(value, f"{path}/{i}")


# -- shape -----------------------------------------------------------------------------------------------


def test_schema_is_valid_draft07(schema: dict[str, Any]) -> None:
    assert schema["$schema"] == DRAFT
    assert schema["$id"] and schema["title"]
    jsonschema.Draft7Validator.check_schema(schema)


def test_schema_uses_only_draft07_keywords_and_every_ref_resolves(schema: dict[str, Any]) -> None:
    for path, node in walk(schema):
        unknown = set(node) - DRAFT7_KEYWORDS
        assert not unknown, f"{path}: {unknown}"
        ref = node.get("$ref")
        if ref is not None:
            assert ref.startswith("#/definitions/") and ref.split("/", 2)[2] in schema["definitions"], ref
            assert set(node) == {"$ref"}, f"{path}: draft-07 ignores keywords beside $ref"


def test_committed_file_is_the_generated_text(schema: dict[str, Any]) -> None:
    text = catalog_schema_text()
    assert json.loads(text) == schema
    assert text.endswith("}\n") and '\n  "$schema"' in text  # 2-space indent, trailing newline
    assert SCHEMA_FILE.read_text(encoding="utf-8") == text, "run `python -m typed_losses.generate`"


def test_one_branch_per_loss_chosen_by_its_type(schema: dict[str, Any]) -> None:
    defs = schema["definitions"]
    chosen = {
        branch["then"]["$ref"].split("/")[-1]: branch["if"]["properties"]["type"]
        for branch in defs["entryObject"]["allOf"]
    }
    names = catalog_registry().names()
    assert names == sorted(s.name for s in REGISTRY if s.loss_class.__module__.startswith("typed_losses.losses."))
    assert chosen == {**{f"entry.{name}": {"const": name} for name in names}, "entry.interpolated": INTERP_REF}
    assert all(branch["if"]["required"] == ["type"] for branch in defs["entryObject"]["allOf"])
    # completion and hover read the names, each with its description, from lossType
    consts = [b["const"] for b in defs["lossType"]["anyOf"] if "const" in b]
    assert consts == names and defs["lossType"]["anyOf"][-1] == INTERP_REF
    for name in names:
        entry = defs[f"entry.{name}"]
        assert entry["properties"]["type"]["const"] == name
        routes = {"inputs"} if REGISTRY.get(name).loss_class.inputs else set()  # type: ignore[union-attr]
        assert set(entry["properties"]) == {"type", "params", "weight", "name", *routes}
        assert entry["additionalProperties"] is False


def test_bare_names_are_the_losses_without_required_params(schema: dict[str, Any]) -> None:
    name = schema["definitions"]["lossName"]
    names = name["else"]["anyOf"][0]["enum"]
    assert "logit_bce" in names and "cross_entropy" in names
    assert "bce_kl" not in names and "multi" not in names
    # a loss that needs params gets its own message
    assert name["if"] == {"enum": [n for n in catalog_registry().names() if n not in names]}
    needs = {b["if"]["const"]: b["then"]["errorMessage"] for b in name["allOf"]}
    assert needs["bce_kl"] == "`bce_kl` needs params (weight_softmax): write `- type: bce_kl` with `params:`"
    assert schema["definitions"]["entry.bce_kl"]["required"] == ["type", "params"]


def test_params_carry_types_defaults_bounds_and_docs(schema: dict[str, Any]) -> None:
    defs = schema["definitions"]
    hinge = defs["params.in_batch_hinge"]
    assert hinge["additionalProperties"] is False
    margin = hinge["properties"]["margin"]
    assert margin["default"] == 0.0
    message = "Incorrect type. Expected number (or a ${...} interpolation)."
    assert {k: v for k, v in margin.items() if k not in ("default", "description")} == {
        "type": ["number", "string"],
        "errorMessage": message,
        "if": {"type": "string"},
        "then": {"pattern": INTERPOLATION_PATTERN, "patternErrorMessage": message},
        "else": {"minimum": 0.0},
    }
    assert margin["description"].startswith("hinge margin")
    reduction = defs["params.cross_entropy"]["properties"]["reduction"]
    assert reduction["anyOf"][0] == {"enum": ["mean", "sum", "none"]}
    assert defs["params.bce_kl"]["required"] == ["weight_softmax"]
    assert defs["interpolation"] == {
        "type": "string",
        "pattern": INTERPOLATION_PATTERN,
        "description": defs["interpolation"]["description"],
    }


def test_multi_takes_a_list_of_entries_or_the_mapping(validator: jsonschema.Draft7Validator) -> None:
    as_list = {"losses": [{"type": "multi", "params": ["logit_bce", {"type": "mse", "weight": 0.5}]}]}
    as_mapping = {"losses": [{"type": "multi", "params": {"losses": {"a": "logit_bce", "b": "mse"}}}]}
    deeper = {"losses": [{"type": "multi", "params": [{"type": "multi", "params": [{"type": "bce_kl"}]}]}]}
    assert validator.is_valid(as_list) and validator.is_valid(as_mapping)
    assert not validator.is_valid(deeper)  # bce_kl needs params, two levels down


@pytest.mark.parametrize(
    ("doc", "ok"),
    [
        ({"model_config": {"visual_bert": {"losses": ["logit_bce"]}}}, True),
        ({"model_config": {"visual_bert": {"losses": ["logit_bcee"]}}}, False),
        ({"stages": [{"losses": {"a": "mse"}}, {"losses": [{"type": "mse", "weight": -1}]}]}, False),
        ({"optimizer": {"type": "adam_w", "params": {"lr": 5e-5}}, "anything": [1, "x", None]}, True),
        ({"losses": [{"type": "mse", "weight": "${training.w}"}], "training": {"w": 2}}, True),
        ({"losses": [{"type": "${loss_type}", "params": {"whatever": 1}}]}, True),
        ({"losses": ["${loss_type}"]}, True),
        ({"losses": [{"type": "cross_entropy", "params": {"weight": ["${w0}", 1.0]}}]}, True),
        ({"losses": [{"type": "cross_entropy", "params": {"weight": "${w}"}}]}, True),
        ({"losses": [{"type": "cross_entropy", "params": {"weight": "$w"}}]}, False),
        ({"losses": [{"type": "cross_entropy", "params": "${p}"}]}, False),  # Python needs a mapping there
        ({"losses": "${all_losses}"}, False),
    ],
)
def test_documents(validator: jsonschema.Draft7Validator, doc: dict[str, Any], ok: bool) -> None:
    assert validator.is_valid(doc) is ok


@pytest.mark.parametrize(
    ("weight", "ok"),
    [
        (0.5, True),
        ({"type": "linear", "start": 0.0, "end": 1.0, "steps": 10}, True),
        ({"type": "linear", "start": 0.0, "end": 1.0, "steps": 10, "begin": "${warmup}"}, True),
        ({"type": "cosine", "start": 1.0, "end": 0.1, "steps": 100, "begin": 5}, True),
        ({"type": "step", "milestones": [10, 20], "values": [0.0, 0.5, 1.0]}, True),
        ({"type": "uncertainty"}, True),
        ({"type": "uncertainty", "init": -1.0}, True),
        ({"type": "linaer", "start": 0.0, "end": 1.0, "steps": 10}, False),
        ({"type": "linear", "start": 0.0, "end": 1.0}, False),
        ({"type": "linear", "start": -1.0, "end": 1.0, "steps": 10}, False),
        ({"type": "linear", "start": 0.0, "end": 1.0, "steps": 0}, False),
        ({"type": "linear", "start": 0.0, "end": 1.0, "steps": 10, "stpes": 3}, False),
        ({"type": "step", "milestones": [-1], "values": [1.0, 2.0]}, False),
        ({"type": "step", "milestones": [1], "values": []}, False),
        ({"type": "uncertainty", "init": "high"}, False),
        ({"start": 0.0}, False),
        ([1.0], False),
    ],
)
def test_weight_forms_agree_with_python(validator: jsonschema.Draft7Validator, weight: Any, ok: bool) -> None:
    doc = {"losses": [{"type": "mse", "weight": weight}], "warmup": 3}
    assert validator.is_valid(doc) is ok
    try:
        check_losses(load_yaml_text(yaml.safe_dump(doc)).losses)
        python_ok = True
    except LossConfigError:
        python_ok = False
    assert python_ok is ok


def test_term_names_the_weight_logs_take_are_refused(validator: jsonschema.Draft7Validator) -> None:
    for name, ok in (("weight", False), ("weight/ce", False), ("weights", True), ("my_weight/ce", True)):
        assert validator.is_valid({"losses": [{"type": "mse", "name": name}]}) is ok


# -- examples and fixtures -------------------------------------------------------------------------------


def test_there_are_examples_and_fixtures() -> None:
    assert len(EXAMPLES) >= 4 and len(INVALID) >= 10


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_is_valid_for_schema_and_python(validator: jsonschema.Draft7Validator, path: Path) -> None:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first == "# yaml-language-server: $schema=../schemas/losses.schema.json"
    errors = [e.message for e in validator.iter_errors(load(path))]
    assert not errors
    out = io.StringIO()
    assert main(["validate", str(path)], out=out) == 0, out.getvalue()


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.name)
def test_invalid_fixture_fails_schema_and_python(validator: jsonschema.Draft7Validator, path: Path) -> None:
    assert not validator.is_valid(load(path))
    out = io.StringIO()
    assert main(["validate", str(path)], out=out) == 1
    assert ": error: " in out.getvalue()


# -- the CLI and plugins ---------------------------------------------------------------------------------


def test_cli_schema_to_stdout_and_file(tmp_path: Path) -> None:
    out = io.StringIO()
    assert main(["schema"], out=out) == 0
    assert out.getvalue() == schema_text()
    target = tmp_path / "s.json"
    assert main(["schema", "-o", str(target)], out=io.StringIO()) == 0
    assert target.read_text(encoding="utf-8") == schema_text()


def test_cli_schema_with_a_plugin(clean_registry: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "my_schema_plugin.py").write_text(
        textwrap.dedent(
            """
            import attrs
            from torch import Tensor
            from typed_losses import Loss, param, register_loss

            @attrs.frozen
            class FocalParams:
                gamma: float = param(2.0, ge=0)

            @register_loss("my_focal")
            class Focal(Loss[FocalParams]):
                def forward(self, sample_list, model_output):
                    return model_output["scores"].sum()
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "my_schema_plugin", raising=False)
    out = io.StringIO()
    assert main(["--plugin", "my_schema_plugin", "schema"], out=out) == 0
    data = json.loads(out.getvalue())
    assert branches(data["definitions"]["params.my_focal"]["properties"]["gamma"])[0] == {
        "type": "number",
        "minimum": 0,
    }
    assert "my_focal" in data["definitions"]["lossName"]["else"]["anyOf"][0]["enum"]


class Mode(enum.Enum):
    FAST = "fast"
    EXACT = 2


@attrs.frozen
class Inner:
    scale: float = param(1.0, gt=0)


def _no_odd(_i: object, _a: attrs.Attribute[int], value: int) -> None:
    if value % 2:
        raise ValueError("odd")


@attrs.frozen(kw_only=True)
class RichParams:
    """Every kind of field the schema knows."""

    mode: Mode = attrs.field(default=Mode.FAST, metadata=doc("an enum"))
    kind: Literal["a", "b"] = "a"
    label: str | None = param(None, pattern=r"[a-z]+", max_len=8)
    probs: tuple[float, ...] = param((0.5,), ge=0, le=1, min_len=1)
    table: dict[str, int] = attrs.field(factory=dict)
    inner: Inner = attrs.field(factory=Inner)
    level: int = param(1, choices=(1, 2, 3))
    even: int = attrs.field(default=0, validator=_no_odd)
    odd: int = param(1, check=lambda v: None if v % 2 else "expected an odd number", check_text="odd")
    count: int = attrs.field(**constraint(ge=0, int64=False))
    scale: float = param(1.0, finite=False)


def test_field_kinds(clean_registry: None) -> None:
    @register_loss("rich_test_loss")
    class RichLoss(Loss[RichParams]):
        def forward(self, sample_list: Any, model_output: Any) -> LossValue:
            raise NotImplementedError

    from typed_losses.schema import python_only_constraints

    schema = losses_schema()
    props = schema["definitions"]["params.rich_test_loss"]["properties"]
    interp = {"$ref": "#/definitions/interpolation"}
    assert props["mode"] == {
        "anyOf": [{"enum": ["FAST", "fast", "EXACT", 2]}, interp],
        "description": "an enum",
        "default": "FAST",
    }
    assert props["kind"]["anyOf"][0] == {"enum": ["a", "b"]}
    assert props["label"]["anyOf"] == [
        {"type": "string", "pattern": "^(?:[a-z]+)$", "maxLength": 8},
        {"type": "null"},
        interp,
    ]
    assert props["label"]["description"] == "at most 8 characters, matches '[a-z]+'"
    probs = props["probs"]
    assert branches(probs)[0]["minItems"] == 1
    assert branches(branches(probs)[0]["items"])[0] == {"type": "number", "minimum": 0, "maximum": 1}
    assert probs["description"] == "at least 1 item, each >= 0, each <= 1"
    int64 = {"type": "integer", "minimum": -(2**63), "maximum": 2**63 - 1}
    assert branches(branches(props["table"])[0]["additionalProperties"])[0] == int64
    ref = props["inner"]["anyOf"][0]["$ref"]
    nested = schema["definitions"][ref.split("/")[-1]]
    assert branches(nested["properties"]["scale"])[0] == {"type": "number", "exclusiveMinimum": 0}
    assert props["level"]["anyOf"][0] == {"enum": [1, 2, 3]}
    assert props["level"]["description"] == "one of 1, 2, 3"
    assert branches(props["even"])[0] == int64
    assert branches(props["count"])[0] == {"type": "integer", "minimum": 0}
    assert props["count"]["description"] == ">= 0, any size"
    assert props["scale"]["description"] == "inf and nan allowed"
    assert schema["definitions"]["params.rich_test_loss"]["required"] == ["count"]
    assert python_only_constraints() == {"rich_test_loss.even": ["_no_odd"], "rich_test_loss.odd": ["odd"]}
    v = jsonschema.Draft7Validator(schema)
    ok = {"losses": [{"type": "rich_test_loss", "params": {"count": 1, "mode": 2, "probs": [0, 1]}}]}
    assert v.is_valid(ok)
    check_losses(ok["losses"])
    bad: dict[str, Any]
    for bad, message in (
        ({"mode": "SLOW"}, "'SLOW' (str) is not an allowed value"),
        ({"probs": []}, "expected at least 1 item, found 0"),
        ({"probs": [1.5]}, "item 0: expected a number >= 0 and <= 1, found 1.5"),
        ({"label": "A"}, "expected a string matching '[a-z]+', found 'A'"),
        ({"label": "abcdefghi"}, "expected at most 8 characters, found 9"),
        ({"level": 4}, "4 (int) is not an allowed value"),
        (
            {"table": {"a": 2**63}},
            "key 'a': expected an integer within int64 (-9223372036854775808 to 9223372036854775807), found 9223372036854775808",
        ),
        ({"count": -1}, "expected an integer >= 0, found -1"),
    ):
        doc_ = {"losses": [{"type": "rich_test_loss", "params": {"count": 1, **bad}}]}
        assert not v.is_valid(doc_), bad
        with pytest.raises(LossConfigError) as info:  # the Python checker agrees, with an exact message
            check_losses(doc_["losses"])
        assert [(i.path, i.message) for i in info.value.issues] == [(f"losses[0].params.{next(iter(bad))}", message)], (
            bad
        )
    assert not v.is_valid({"losses": [{"type": "rich_test_loss", "params": {"count": 1, "inner": {"s": 1}}}]})
    # Only Python sees a declared check; the schema lets it through.
    odd = {"losses": [{"type": "rich_test_loss", "params": {"count": 1, "odd": 2}}]}
    assert v.is_valid(odd)
    with pytest.raises(LossConfigError, match=r"losses\[0\]\.params\.odd: expected an odd number$"):
        check_losses(odd["losses"])
    check_losses([{"type": "rich_test_loss", "params": {"count": 2**70, "scale": float("inf")}}])  # declared so
