"""``typed-losses show``: plain, table and JSON renderings, key selection, and errors."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from typed_losses.cli import main
from typed_losses.generate import ROOT

EXAMPLE = str(ROOT / "examples" / "demo.yaml")
FIXTURES = ROOT / "tests" / "core" / "fixtures"


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


def test_plain_is_the_default_off_a_terminal() -> None:
    code, text = run("show", EXAMPLE)
    assert code == 0
    f = EXAMPLE
    assert text.splitlines() == [
        f"{f}: model_config.demo.losses",
        "  term       setting                 value          from",
        f"  bce_kl     type                    bce_kl         {f}:10",
        "             name                    bce_kl         default (the type)",
        "             weight                  1.0            default",
        "             params.weight_softmax   0.5            interpolation ${model_config.demo.kl_weight} "
        f"({f}:12) -> model_config.demo.kl_weight ({f}:8)",
        f"  answer_ce  type                    cross_entropy  {f}:13",
        f"             name                    answer_ce      {f}:14",
        f"             weight.type             linear         {f}:15",
        f"             weight.start            0.0            {f}:15",
        f"             weight.end              0.5            {f}:15",
        f"             weight.steps            100            {f}:15",
        "             weight.begin            0              default",
        "             params.weight           null           default",
        "             params.ignore_index     -100           default",
        "             params.reduction        mean           default",
        f"             params.label_smoothing  0.1            {f}:17",
    ]
    assert run("show", "--format", "plain", EXAMPLE) == (code, text)


def test_json_for_scripts() -> None:
    code, text = run("show", "--format", "json", EXAMPLE)
    assert code == 0
    data = json.loads(text)
    assert data["file"] == EXAMPLE
    (losses,) = data["losses"]
    assert losses["key"] == "model_config.demo.losses"
    assert [t["name"] for t in losses["terms"]] == ["bce_kl", "answer_ce"]
    weight_softmax = losses["terms"][0]["settings"][3]
    assert weight_softmax == {
        "key": "params.weight_softmax",
        "value": 0.5,
        "origin": {
            "kind": "interpolation",
            "text": f"interpolation ${{model_config.demo.kl_weight}} ({EXAMPLE}:12) -> "
            f"model_config.demo.kl_weight ({EXAMPLE}:8)",
            "file": EXAMPLE,
            "line": 12,
            "column": 27,
            "expression": "${model_config.demo.kl_weight}",
            "target": "model_config.demo.kl_weight",
            "target_file": EXAMPLE,
            "target_line": 8,
        },
    }


def test_rich_table_with_nested_terms(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("m.yaml").write_text("losses:\n  - type: multi\n    params:\n      - type: mse\n        weight: 0.3\n")
    code, text = run("show", "--format", "table", "m.yaml")
    assert code == 0
    lines = [line.rstrip() for line in text.splitlines()]
    assert lines[0] == "m.yaml: losses"
    assert lines[1:4] == [
        "┏━━━━━━━┳━━━━━━━━━┳━━━━━━━┳━━━━━━━━━━━━━━━━━━━━┓",
        "┃ term  ┃ setting ┃ value ┃ from               ┃",
        "┡━━━━━━━╇━━━━━━━━━╇━━━━━━━╇━━━━━━━━━━━━━━━━━━━━┩",
    ]
    assert lines[7:10] == [
        "│   mse │ type    │ mse   │ m.yaml:4           │",
        "│       │ name    │ mse   │ default (the type) │",
        "│       │ weight  │ 0.3   │ m.yaml:5           │",
    ]


def test_key_selects_one_losses_value() -> None:
    code, text = run("show", str(FIXTURES / "mapping_form.yaml"), "--key", "model_config.vilt.losses")
    assert code == 0 and text.splitlines()[0] == f"{FIXTURES / 'mapping_form.yaml'}: model_config.vilt.losses"
    code, text = run("show", str(FIXTURES / "vqa.yaml"), "--key", "model_config.nope")
    assert (code, text) == (1, f"{FIXTURES / 'vqa.yaml'}: error: no key 'model_config.nope' in the document\n")


def test_invalid_config_prints_the_issue_lines() -> None:
    code, text = run("show", str(FIXTURES / "broken.yaml"))
    assert code == 1
    lines = text.splitlines()
    assert len(lines) == 9
    assert lines[0] == (
        f"{FIXTURES / 'broken.yaml'}:4:15: error: model_config.visual_bert.losses[0].type: "
        "unknown loss 'cross_entropi' (did you mean 'cross_entropy'?)"
    )


def test_no_losses_and_unreadable_files(tmp_path: Path) -> None:
    plain = tmp_path / "plain.yaml"
    plain.write_text("a: 1\n")
    assert run("show", str(plain)) == (1, f"{plain}: error: no `losses` key anywhere in the document\n")
    code, text = run("show", str(tmp_path / "absent.yaml"))
    assert code == 1 and text.startswith(f"{tmp_path / 'absent.yaml'}: error: <document>: cannot read file")
