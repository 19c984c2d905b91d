"""Names from a config reach the terminal literally: no rich markup, no escape sequences, in every format."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest
import torch
from torch import Tensor

from typed_losses import REGISTRY, Batch, Loss, register_loss
from typed_losses.cli import main
from typed_losses.cli_support import printable
from typed_losses.demo.progress import ProgressMode

EVIL = "e\x1b[31mvil\u202e"  # an escape sequence and a right-to-left override
SHOWN_EVIL = "e\\x1b[31mvil\\u202e"
CONFIG = (
    "losses:\n"
    '  - type: mse\n    name: "[/bold]"\n'
    '  - type: mse\n    name: "[red]x[/red]"\n'
    '  - type: mse\n    name: "e\\x1b[31mvil\\u202e"\n'
)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "names.yaml"
    path.write_text(CONFIG)
    return path


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


def test_printable_escapes_what_a_terminal_would_interpret() -> None:
    assert printable("plain [/bold] é ü 名前") == "plain [/bold] é ü 名前"
    assert printable("a\x1b[2Jb\x07\x7f\r\n\t\u202e\u200b\U000e0001\x85") == (
        "a\\x1b[2Jb\\x07\\x7f\\r\\n\\t\\u202e\\u200b\\U000e0001\\x85"
    )


def test_show_plain_prints_names_as_written(config: Path) -> None:
    code, text = run("show", str(config), "--format", "plain")
    assert code == 0
    assert text.splitlines() == [
        f"{config}: losses",
        "  term                setting  value               from",
        f"  [/bold]             type     mse                 {config}:2",
        f"                      name     [/bold]             {config}:3",
        "                      weight   1.0                 default",
        f"  [red]x[/red]        type     mse                 {config}:4",
        f"                      name     [red]x[/red]        {config}:5",
        "                      weight   1.0                 default",
        f"  {SHOWN_EVIL}  type     mse                 {config}:6",
        f"                      name     {SHOWN_EVIL}  {config}:7",
        "                      weight   1.0                 default",
    ]


@pytest.mark.parametrize("terminal", [False, True])
def test_show_table_prints_names_as_written(config: Path, monkeypatch: pytest.MonkeyPatch, terminal: bool) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.delenv("NO_COLOR", raising=False)
    if terminal:  # rich writes its own styles (escape sequences), but none from the config
        monkeypatch.setenv("FORCE_COLOR", "1")
    else:
        monkeypatch.delenv("FORCE_COLOR", raising=False)
    code, text = run("show", str(config), "--format", "table")
    assert code == 0
    assert ("\x1b[" in text) is terminal
    for name in ("[/bold]", "[red]x[/red]", SHOWN_EVIL):
        assert text.count(name) == 2  # the term column and the `name` setting
    assert EVIL not in text and "\x1b[31m" not in text and "\u202e" not in text
    rows = [line for line in text.splitlines() if "name " in line]
    assert len(rows) == 3


def test_show_json_escapes_and_round_trips_names(config: Path) -> None:
    code, text = run("show", str(config), "--format", "json")
    assert code == 0
    assert text.isascii() and "\x1b" not in text
    terms = json.loads(text)["losses"][0]["terms"]
    assert [t["name"] for t in terms] == ["[/bold]", "[red]x[/red]", EVIL]


def test_validate_issue_lines_escape_names(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text('losses:\n  - type: mse\n    params: {"\\x1b[2J": 1}\n')
    code, text = run("validate", str(path))
    assert code == 1
    assert text.splitlines() == [
        f"{path}:3:14: error: losses[0].params.\\x1b[2J: unknown param '\\x1b[2J' for MSEParams "
        "(MSEParams takes no params)"
    ]


@attrs.frozen
class NoParams:
    pass


class Shouting(Loss[NoParams]):
    """Rings the bell\x07 and turns the terminal red\x1b[31m [bold]."""

    def forward(self, sample_list: Batch, model_output: Batch) -> Tensor:
        return torch.zeros(())


@pytest.fixture
def shouting() -> Iterator[str]:
    register_loss("shouting_test")(Shouting)
    try:
        yield "shouting_test"
    finally:
        REGISTRY.unregister("shouting_test")


def test_list_escapes_docstrings(shouting: str) -> None:
    assert run("list", shouting) == (
        0,
        "shouting_test  (Shouting, params NoParams)\n"
        "    Rings the bell\\x07 and turns the terminal red\\x1b[31m [bold].\n"
        "    params: none\n",
    )


@pytest.mark.parametrize("progress", ["plain", "bar"])
def test_the_demo_shows_term_names_literally(tmp_path: Path, progress: ProgressMode) -> None:
    from typed_losses.demo import run_demo

    config = tmp_path / "c.yaml"
    config.write_text('losses:\n  - type: cross_entropy\n    name: "[/bold]e\\x1b[31mvil"\n')
    out = io.StringIO()
    assert run_demo(config=str(config), steps=3, seed=0, out=out, out_dir=tmp_path / "out", progress=progress) == 0
    text = out.getvalue()
    assert text.splitlines()[0] == f"{config}: ok: 1 loss term: [/bold]e\\x1b[31mvil"
    assert "\x1b[31mvil" not in text
    assert text.count("[/bold]e\\x1b[31mvil") == (
        5 if progress == "plain" else 3
    )  # ok line, progress (every step of 3), summary
