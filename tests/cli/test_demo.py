"""``typed-losses demo``: files written, determinism, learning, progress output, and user-config errors."""

from __future__ import annotations

import csv
import io
import itertools
import json
import struct
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

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


def warm_up(step: int) -> float:
    """The demo config's answer_ce weight at demo step ``step`` (from 1; the counter k = step - 1 when the loss is
    computed): ``{type: linear, start: 0.0, end: 0.5, steps: 100}``, i.e. ``0.5 * clamp(k / 100, 0, 1)`` in float32."""
    k = step - 1
    return 0.5 * float(torch.tensor(min(k / 100, 1.0), dtype=torch.float32))


def test_short_run_prints_plain_progress_summary_and_files(tmp_path: Path) -> None:
    code, lines = demo(tmp_path, "--steps", "20")
    assert code == 0
    packaged = ROOT / "typed_losses" / "demo" / "demo.yaml"
    assert lines[0] == f"examples/demo.yaml (packaged as {packaged}): ok: 2 loss terms: bce_kl, answer_ce"
    # what the progress shows is said once, then the first step, every fifth of the run, the last step
    assert lines[1] == "per-term losses: moving average over about the last 10 steps"
    assert lines[2] == "weight/<term>: the term's weight at that step (not averaged)"
    assert [line[:10] for line in lines[3:9]] == [
        "step  1/20",
        "step  4/20",
        "step  8/20",
        "step 12/20",
        "step 16/20",
        "step 20/20",
    ]
    # answer_ce's weight warms up from 0: the first total is bce_kl alone
    assert lines[3][10:].split() == [
        "bce_kl/kl=0.4777",
        "bce_kl/bce=6.8704",
        "answer_ce=2.3475",
        "total=7.3482",
        "weight/answer_ce=0.0000",
    ]
    # the weight is the value at the step (0.5 * (step - 1) / 100), not a moving average
    assert [line.split()[-1] for line in lines[3:9]] == [
        f"weight/answer_ce={warm_up(step):.4f}" for step in (1, 4, 8, 12, 16, 20)
    ]
    assert [line.split()[-1] for line in lines[4:9]] == [
        "weight/answer_ce=0.0150",
        "weight/answer_ce=0.0350",
        "weight/answer_ce=0.0550",
        "weight/answer_ce=0.0750",
        "weight/answer_ce=0.0950",
    ]
    assert lines[9].startswith("trained 20 steps in ")
    # the summary says its values are single steps, not the moving averages above
    assert lines[10] == "loss at the first and at the last step (single steps, not averaged):"
    assert lines[11].split() == ["term", "first", "step", "last", "step"]
    assert [line.split()[0] for line in lines[12:16]] == ["bce_kl/kl", "bce_kl/bce", "answer_ce", "total"]
    assert lines[12].split()[1:] == ["0.4777", "0.3527"]
    assert lines[16] == "weight at the first and at the last step (weights that change during training):"
    assert lines[17].split() == ["answer_ce", "0.0000", "0.0950"]
    assert lines[18] == f"wrote {tmp_path / 'losses.csv'}, {tmp_path / 'losses.json'}, {tmp_path / 'losses.png'}"
    assert len(lines) == 19
    text = "\n".join(lines)
    assert "\x1b" not in text and "\r" not in text
    png = (tmp_path / "losses.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", png[16:24]) == (800, 650)  # width, height: the losses, and the weights below


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
    assert table[0] == [
        "step",
        "bce_kl/kl",
        "bce_kl/bce",
        "answer_ce",
        "total",
        "weight/bce_kl",
        "weight/answer_ce",
    ]
    assert [r[0] for r in table[1:]] == [str(i) for i in range(1, 21)]
    data = json.loads((tmp_path / "losses.json").read_text(encoding="utf-8"))
    assert list(data) == ["config", "seed", "steps", "losses", "weights"]
    assert (data["seed"], data["steps"], list(data["losses"])) == (3, 20, table[0][1:5])
    assert list(data["weights"]) == ["bce_kl", "answer_ce"]
    for i, column in enumerate(table[0][1:5], start=1):
        assert data["losses"][column] == [float(r[i]) for r in table[1:]]
    assert data["weights"]["bce_kl"] == [float(r[5]) for r in table[1:]] == [1.0] * 20
    assert data["weights"]["answer_ce"] == [float(r[6]) for r in table[1:]] == [warm_up(s) for s in range(1, 21)]
    # the total is the weighted sum of the terms, with the weights of that step: kl + bce + w * answer_ce
    for r in table[1:]:
        kl, bce, ce, total, one, w = map(float, r[1:])
        assert one == 1.0
        assert total == pytest.approx(kl + bce + w * ce, rel=1e-6)


def test_same_seed_same_csv_other_seed_other_csv(tmp_path: Path) -> None:
    for name, seed in (("a", "5"), ("b", "5"), ("c", "6")):
        assert demo(tmp_path / name, "--steps", "20", "--seed", seed)[0] == 0
    first = (tmp_path / "a" / "losses.csv").read_bytes()
    assert (tmp_path / "b" / "losses.csv").read_bytes() == first
    assert (tmp_path / "c" / "losses.csv").read_bytes() != first


def test_default_run_learns(tmp_path: Path) -> None:
    code, lines = demo(tmp_path)
    assert code == 0
    assert lines[8].startswith("step 300/300")
    table = rows(tmp_path / "losses.csv")
    totals = [float(r[4]) for r in table[1:]]
    assert len(totals) == 300
    assert totals[0] == pytest.approx(7.348162651062012, rel=1e-5)  # bce_kl alone: answer_ce's weight is 0
    last = sum(totals[-30:]) / 30
    assert last < sum(totals[130:160]) / 30  # still improving in the last half, after the warm-up
    for column, factor in ((2, 0.4), (3, 0.75)):  # both terms learn (bce_kl/bce, answer_ce: unweighted)
        values = [float(r[column]) for r in table[1:]]
        assert sum(values[-30:]) / 30 < factor * values[0]
    # the warm-up: 0.5 * k / 100 at counter k = step - 1, then 0.5 from step 101 on
    weights = json.loads((tmp_path / "losses.json").read_text(encoding="utf-8"))["weights"]["answer_ce"]
    assert weights == [warm_up(step) for step in range(1, 301)]
    assert (weights[0], weights[50], weights[100], weights[101], weights[299]) == (0.0, 0.25, 0.5, 0.5, 0.5)
    assert weights[1] == pytest.approx(0.005, rel=1e-7)


def test_a_learned_weight_trains_with_the_model_and_schedules_follow_their_formula(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(
        "losses:\n"
        "  - type: cross_entropy\n"
        "    weight: {type: uncertainty}\n"
        "  - type: mse\n"
        "    weight: {type: cosine, start: 1.0, end: 0.0, steps: 10, begin: 5}\n"
    )
    code, lines = demo(tmp_path / "out", "--config", str(config), "--steps", "30")
    assert code == 0
    assert lines[3].split()[2:] == [
        "cross_entropy=2.3493",
        "mse=0.1110",
        "total=2.4603",  # exp(-0) * ce + 0 + mse
        "weight/cross_entropy=1.0000",
        "weight/mse=1.0000",
    ]
    assert lines[-3:-1] == ["  cross_entropy      1.0000      0.8546", "  mse                1.0000      0.0000"]
    table = rows(tmp_path / "out" / "losses.csv")
    assert table[0] == ["step", "cross_entropy", "mse", "total", "weight/cross_entropy", "weight/mse"]
    learned = [float(r[4]) for r in table[1:]]
    # the log-variance s is in the demo's optimizer: exp(-s) moves from 1 at every step (ce > 1: s grows)
    assert learned[0] == 1.0
    assert all(after < before for before, after in itertools.pairwise(learned))
    assert learned[-1] == pytest.approx(0.8546, abs=5e-5)
    for r, weight in zip(table[1:], learned, strict=True):  # the total: exp(-s) * ce + s + w * mse
        ce, mse, total, _, w = map(float, r[1:])
        assert total == pytest.approx(weight * ce - torch.log(torch.tensor(weight)).item() + w * mse, rel=1e-5)
    # cosine from 1 to 0 over counter 5..15: 1 up to k = 5 (step 6), 0.5 at k = 10, 0 from k = 15 (step 16)
    cosine = [float(r[5]) for r in table[1:]]
    assert cosine[:6] == [1.0] * 6
    assert cosine[10] == 0.5
    assert cosine[15:] == [0.0] * 15
    assert cosine[6] == pytest.approx((1 + torch.cos(torch.tensor(torch.pi * 0.1)).item()) / 2, rel=1e-6)


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
    # the weight at the last step (k = 4), labelled as such (the bar wraps its text at spaces on 80 columns)
    assert "at this step:" in text and "weight/answer_ce=0.0200" in text
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


def test_png_plots_the_losses_and_below_them_every_weight(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import numpy as np
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    saved: list[Figure] = []
    save = Figure.savefig

    def record(self: Figure, *args: Any, **kwargs: Any) -> None:
        saved.append(self)
        save(self, *args, **kwargs)

    def legend(axes: Axes) -> list[str]:
        shown = axes.get_legend()
        assert shown is not None
        return [text.get_text() for text in shown.get_texts()]

    def data(line: Line2D, axis: str) -> list[float]:
        values: list[float] = np.asarray(line.get_xdata() if axis == "x" else line.get_ydata()).tolist()
        return values

    monkeypatch.setattr(Figure, "savefig", record)
    assert demo(tmp_path, "--steps", "12")[0] == 0
    (figure,) = saved
    losses, weights = figure.axes
    assert legend(losses) == ["bce_kl/kl", "bce_kl/bce", "answer_ce", "total"]
    assert (weights.get_xlabel(), weights.get_ylabel(), legend(weights)) == ("step", "weight", ["bce_kl", "answer_ce"])
    bce_kl, answer_ce = weights.get_lines()
    assert data(answer_ce, "x") == list(range(1, 13))
    assert data(bce_kl, "y") == [1.0] * 12
    assert data(answer_ce, "y") == [warm_up(step) for step in range(1, 13)]  # as used at each step, not smoothed
    # a term's weight has the colour of its (first) loss curve
    colors = {line.get_label(): line.get_color() for line in losses.get_lines()}
    assert (bce_kl.get_color(), answer_ce.get_color()) == (colors["bce_kl/kl"], colors["answer_ce"])
