"""The typed-losses command line: exit codes and exact output lines."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from typed_losses.cli import main

FIXTURES = Path(__file__).parent / "fixtures"


def run(*argv: str) -> tuple[int, list[str]]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue().splitlines()


def test_validate_valid_file() -> None:
    code, lines = run("validate", str(FIXTURES / "vqa.yaml"))
    assert code == 0
    assert lines == [f"{FIXTURES / 'vqa.yaml'}: ok: 2 loss terms in 1 `losses` list"]


def test_validate_invalid_file_prints_one_line_per_issue() -> None:
    file = str(FIXTURES / "broken.yaml")
    code, lines = run("validate", file, str(FIXTURES / "vqa.yaml"))
    assert code == 1
    assert len(lines) == 10
    assert lines[0] == (
        f"{file}:4:15: error: model_config.visual_bert.losses[0].type: unknown loss 'cross_entropi' "
        "(did you mean 'cross_entropy'?)"
    )
    assert lines[-1].endswith("ok: 2 loss terms in 1 `losses` list")


def test_validate_with_key() -> None:
    code, lines = run("validate", str(FIXTURES / "mapping_form.yaml"), "--key", "model_config.vilt.losses")
    assert (code, len(lines)) == (0, 1)
    code, lines = run("validate", str(FIXTURES / "vqa.yaml"), "--key", "model_config.nope")
    assert code == 1 and lines == [f"{FIXTURES / 'vqa.yaml'}: error: no key 'model_config.nope' in the document"]


def test_validate_unreadable_and_syntax_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("losses:\n  - type: [x\n")
    code, lines = run("validate", str(bad), str(tmp_path / "absent.yaml"))
    assert code == 1
    assert lines[0].startswith(f"{bad}:3:1: error: <document>: YAML syntax error:")
    assert lines[1].startswith(f"{tmp_path / 'absent.yaml'}: error: <document>: cannot read file")


def test_validate_reports_ints_too_large_for_their_field_in_one_line_each(tmp_path: Path) -> None:
    """A 401-digit int for a float field (beyond a float) or an int field (beyond int64) is one issue each,
    shown shortened; no OverflowError traceback."""
    big = "1" + "0" * 400
    shown = "1" + "0" * 56 + "..."
    file = tmp_path / "big.yaml"
    file.write_text(
        f"losses:\n- type: cross_entropy\n  params: {{label_smoothing: {big}}}\n"
        f"- type: cross_entropy\n  name: b\n  params: {{ignore_index: {big}}}\n"
        f"  weight: {big}\n"
    )
    code, lines = run("validate", str(file))
    assert code == 1
    assert lines == [
        f"{file}:3:29: error: losses[0].params.label_smoothing: expected a number >= 0 and < 1, found {shown}",
        f"{file}:6:26: error: losses[1].params.ignore_index: expected an integer within int64 "
        f"(-9223372036854775808 to 9223372036854775807), found {shown}",
        f"{file}:7:11: error: losses[1].weight: weight must be a finite number >= 0, found {shown}",
    ]


def test_validate_without_losses_key(tmp_path: Path) -> None:
    plain = tmp_path / "plain.yaml"
    plain.write_text("a: 1\n")
    assert run("validate", str(plain)) == (1, [f"{plain}: error: no `losses` key anywhere in the document"])


def test_list_shows_params_with_types_defaults_constraints() -> None:
    code, lines = run("list")
    assert code == 0
    assert "bce_kl  (BinaryCrossEntropyKlLoss, params BinaryCrossEntropyKlParams)" in lines
    assert "    weight_softmax: float = required [>= 0]  - weight of the softmax KL term (required)" in lines


def test_plugin_registers_losses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "my_losses_plugin.py").write_text(
        "import attrs, torch\n"
        "from typed_losses import Loss, register_loss\n"
        "@attrs.frozen\n"
        "class ZeroParams:\n"
        "    scale: float = 1.0\n"
        "@register_loss('zero_plugin_test')\n"
        "class ZeroLoss(Loss[ZeroParams]):\n"
        "    def forward(self, sample_list, model_output):\n"
        "        return torch.zeros(())\n"
    )
    config = tmp_path / "c.yaml"
    config.write_text("losses:\n  - type: zero_plugin_test\n    params: {scale: 2}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        assert run("--plugin", "my_losses_plugin", "validate", str(config))[0] == 0
    finally:
        from typed_losses import REGISTRY

        REGISTRY.unregister("zero_plugin_test")


def test_missing_plugin_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("--plugin", "no_such_module_xyz", "list")[0] == 2
    assert "cannot import loss plugin module 'no_such_module_xyz'" in capsys.readouterr().err


def test_usage_error_exit_code_is_2() -> None:
    with pytest.raises(SystemExit) as info:
        main(["frobnicate"])
    assert info.value.code == 2


def test_console_script_demo_runs(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "typed_losses.cli", "demo", "--steps", "20", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
    )
    lines = result.stdout.splitlines()
    assert lines[0].endswith("ok: 2 loss terms: bce_kl, answer_ce")
    assert lines[9].startswith("trained 20 steps")
    assert lines[-1].startswith(f"wrote {tmp_path / 'losses.csv'}, ")
    assert "\x1b" not in result.stdout  # captured output is not a terminal: plain lines, no progress bar
