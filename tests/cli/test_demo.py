"""``typed-losses demo``: files written, determinism, learning, progress output, and user-config errors."""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path

import pytest

from typed_losses.cli import main
from typed_losses.demo import run_demo
from typed_losses.demo.outputs import PLOT_MISSING, smooth
from typed_losses.demo.progress import Running
from typed_losses.generate import ROOT

NOTE = (
    "note: the demo provides sample_list['targets'] (float B x 10, soft answer scores (rows sum to 1)) "
    "and model_output['scores'] (float B x 10, logits)"
)


def demo(tmp: Path, *argv: str) -> tuple[int, list[str]]:
    out = io.StringIO()
    code = main(["demo", "--out", str(tmp), *argv], out=out)
    return code, out.getvalue().splitlines()


def rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.reader(f))


def test_short_run_prints_plain_progress_summary_and_files(tmp_path: Path) -> None:
    code, lines = demo(tmp_path, "--steps", "20")
    assert code == 0
    packaged = ROOT / "typed_losses" / "demo" / "demo.yaml"
    assert lines[0] == f"examples/demo.yaml (packaged as {packaged}): ok: 2 loss terms: bce_kl, answer_ce"
    # what the progress shows is said once, then the first step, every fifth of the run, the last step
    assert lines[1] == "per-term losses: moving average over about the last 10 steps"
    assert [line[:10] for line in lines[2:8]] == [
        "step  1/20",
        "step  4/20",
        "step  8/20",
        "step 12/20",
        "step 16/20",
        "step 20/20",
    ]
    assert lines[2][10:].split() == ["bce_kl/kl=0.4777", "bce_kl/bce=6.8704", "answer_ce=2.3475", "total=8.5219"]
    assert lines[8].startswith("trained 20 steps in ")
    # the summary says its values are single steps, not the moving averages above
    assert lines[9] == "loss at the first and at the last step (single steps, not averaged):"
    assert lines[10].split() == ["term", "first", "step", "last", "step"]
    assert [line.split()[0] for line in lines[11:15]] == ["bce_kl/kl", "bce_kl/bce", "answer_ce", "total"]
    assert lines[11].split()[1:] == ["0.4777", "0.3363"]
    assert lines[-1] == f"wrote {tmp_path / 'losses.csv'}, {tmp_path / 'losses.json'}, {tmp_path / 'losses.png'}"
    text = "\n".join(lines)
    assert "\x1b" not in text and "\r" not in text
    assert (tmp_path / "losses.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_config_given_is_named_as_given(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("losses:\n  - cross_entropy\n")
    code, lines = demo(tmp_path / "out", "--config", str(config), "--steps", "2")
    assert code == 0
    assert lines[0] == f"{config}: ok: 1 loss term: cross_entropy"
    data = json.loads((tmp_path / "out" / "losses.json").read_text(encoding="utf-8"))
    assert data["config"] == str(config)


def test_csv_and_json_hold_every_step_and_agree(tmp_path: Path) -> None:
    assert demo(tmp_path, "--steps", "20", "--seed", "3")[0] == 0
    table = rows(tmp_path / "losses.csv")
    assert table[0] == ["step", "bce_kl/kl", "bce_kl/bce", "answer_ce", "total"]
    assert [r[0] for r in table[1:]] == [str(i) for i in range(1, 21)]
    data = json.loads((tmp_path / "losses.json").read_text(encoding="utf-8"))
    assert (data["seed"], data["steps"], list(data["losses"])) == (3, 20, table[0][1:])
    for i, column in enumerate(table[0][1:], start=1):
        assert data["losses"][column] == [float(r[i]) for r in table[1:]]
    # the total is the weighted sum of the terms: kl + bce + 0.5 * answer_ce
    for r in table[1:]:
        kl, bce, ce, total = map(float, r[1:])
        assert total == pytest.approx(kl + bce + 0.5 * ce, rel=1e-6)


def test_same_seed_same_csv_other_seed_other_csv(tmp_path: Path) -> None:
    for name, seed in (("a", "5"), ("b", "5"), ("c", "6")):
        assert demo(tmp_path / name, "--steps", "20", "--seed", seed)[0] == 0
    first = (tmp_path / "a" / "losses.csv").read_bytes()
    assert (tmp_path / "b" / "losses.csv").read_bytes() == first
    assert (tmp_path / "c" / "losses.csv").read_bytes() != first


def test_default_run_learns(tmp_path: Path) -> None:
    code, lines = demo(tmp_path)
    assert code == 0
    assert lines[7].startswith("step 300/300")
    totals = [float(r[-1]) for r in rows(tmp_path / "losses.csv")[1:]]
    assert len(totals) == 300
    assert totals[0] == pytest.approx(8.521892547607422, rel=1e-5)
    last = sum(totals[-30:]) / 30
    assert last < 0.4 * totals[0]
    assert last < sum(totals[100:130]) / 30  # still improving in the last third


def test_without_matplotlib_prints_one_line_and_continues(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib.backends.backend_agg", None)
    code, lines = demo(tmp_path, "--steps", "5")
    assert code == 0
    assert lines[-2:] == [PLOT_MISSING, f"wrote {tmp_path / 'losses.csv'}, {tmp_path / 'losses.json'}"]
    assert "pip install typed-losses[plot]" in PLOT_MISSING
    assert not (tmp_path / "losses.png").exists()


def test_progress_bar_on_a_terminal(tmp_path: Path) -> None:
    out = io.StringIO()
    assert run_demo(config=None, steps=5, seed=0, out=out, out_dir=tmp_path, progress="bar") == 0
    text = out.getvalue()
    assert "5/5" in text and "total=" in text and "\x1b[" in text  # rich's bar, with its running losses
    assert "moving average: " in text  # labelled
    assert "per-term losses: moving average" not in text  # the plain form's header line
    assert "step 1/5" not in text  # not the plain lines
    assert "trained 5 steps in " in text


def test_missing_inputs_are_named_before_training(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(
        "losses:\n  - type: in_batch_hinge\n    name: hinge\n  - type: multi\n    params:\n      - attention_supervision\n"
    )
    code, lines = demo(tmp_path / "out", "--config", str(config))
    assert code == 1
    assert lines == [
        f"{config}: ok: 2 loss terms: hinge, multi",
        "error: loss 'hinge' (in_batch_hinge) reads model_output['targets'], which the demo does not provide",
        "error: loss 'attention_supervision' reads model_output['attentions'], which the demo does not provide",
        "error: loss 'attention_supervision' reads sample_list['info.attention_supervision'], "
        "which the demo does not provide",
        NOTE,
    ]
    assert not (tmp_path / "out").exists()


def test_inputs_the_loss_cannot_use_are_a_clear_error(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("losses:\n  - caption_cross_entropy\n")
    code, lines = demo(tmp_path, "--config", str(config), "--steps", "5")
    assert code == 1
    assert lines[1:] == [
        "error: loss 'caption_cross_entropy': expected model_output['scores']: float tensor of rank 3, "
        "found shape (64, 10) (rank 2)",
        NOTE,
    ]


def test_invalid_config_prints_issues(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("losses:\n  - type: cross_entropy\n    params: {label_smothing: 0.1}\n")
    assert demo(tmp_path, "--config", str(config)) == (
        1,
        [
            f"{config}:3:14: error: losses[0].params.label_smothing: unknown param 'label_smothing' "
            "for CrossEntropyParams (did you mean 'label_smoothing'?)"
        ],
    )


def test_unwritable_output_folder(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    code, lines = demo(blocker / "sub", "--steps", "2")
    assert code == 1
    assert lines[-1].startswith(f"error: cannot create {blocker / 'sub'}: ")


def test_steps_must_be_positive(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["demo", "--steps", "0"])
    assert info.value.code == 2
    assert "expected a number >= 1, found 0" in capsys.readouterr().err


def test_packaged_config_is_the_example_with_the_modeline_replaced() -> None:
    example = (ROOT / "examples" / "demo.yaml").read_text(encoding="utf-8").splitlines()
    packaged = (ROOT / "typed_losses" / "demo" / "demo.yaml").read_text(encoding="utf-8").splitlines()
    assert example[0] == "# yaml-language-server: $schema=../schemas/losses.schema.json"
    assert packaged[0].startswith("# Generated from examples/demo.yaml")
    assert packaged[1:] == example[1:]


def test_running_means_and_smoothing_are_bias_corrected() -> None:
    running = Running(beta=0.5)
    assert running.update({"a": 4.0}) == {"a": 4.0}
    assert running.update({"a": 1.0}) == {"a": pytest.approx((0.25 * 4 + 0.5 * 1) / 0.75)}  # 2.0
    assert smooth([4.0, 1.0], beta=0.5) == [4.0, pytest.approx(2.0)]
