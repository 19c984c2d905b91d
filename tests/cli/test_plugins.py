"""``--plugin`` and ``load_plugin``: module names (found in the current directory as ``python -m`` finds them)
and ``.py`` paths; every failure is one line and exit 2; unknown names say how to load their module."""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.cli import LOAD_HINT, PLUGIN_LOSS, PLUGIN_SOURCE, console_script

import typed_losses
from typed_losses import REGISTRY, LossCollection, LossConfigError, load_plugin
from typed_losses.cli import main

CONFIG = f"losses:\n  - type: {PLUGIN_LOSS}\n    params: {{gamma: 1.5}}\n"


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """``tmp_path`` as the current directory; sys.path, sys.modules and the registry restored afterwards."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    modules = set(sys.modules)
    REGISTRY.load_entry_points()
    try:
        yield tmp_path
    finally:
        for name in set(sys.modules) - modules:
            del sys.modules[name]
        REGISTRY.unregister(PLUGIN_LOSS)


def run(*argv: str) -> tuple[int, list[str]]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue().splitlines()


def test_console_script_finds_plugins_in_the_current_directory_and_by_path(tmp_path: Path) -> None:
    (tmp_path / "mylosses.py").write_text(PLUGIN_SOURCE)
    other = tmp_path / "more"
    other.mkdir()
    (other / "helper_mod.py").write_text("SCALE = 3.0\n")  # a neighbour the plugin file imports
    (other / "other_losses.py").write_text(
        PLUGIN_SOURCE.replace(PLUGIN_LOSS, "other_focal").replace("import torch\n", "import torch\nimport helper_mod\n")
    )
    (tmp_path / "c.yaml").write_text(CONFIG + "  - type: other_focal\n")
    result = console_script(tmp_path, "--plugin", "mylosses", "validate", "c.yaml", "--plugin", "more/other_losses.py")
    assert (result.code, result.out, result.err) == (0, ["c.yaml: ok: 2 loss terms in 1 `losses` list"], [])
    # without the plugin, the unknown name says how to load the module that registers it
    result = console_script(tmp_path, "validate", "c.yaml")
    assert result.code == 1
    assert result.out == [
        f"c.yaml:2:11: error: losses[0].type: unknown loss {PLUGIN_LOSS!r} ({LOAD_HINT})",
        f"c.yaml:4:11: error: losses[1].type: unknown loss 'other_focal' ({LOAD_HINT})",
    ]


def test_load_plugin_takes_a_module_name_or_a_path(isolated: Path) -> None:
    (isolated / "mylosses.py").write_text(PLUGIN_SOURCE)
    assert not {str(isolated), "", "."} & set(sys.path)
    module = load_plugin("mylosses")  # found in the current directory
    assert REGISTRY[PLUGIN_LOSS].loss_class is module.FocalLoss
    assert load_plugin("./mylosses.py") is module  # the same file again: the module already imported
    assert load_plugin(str(isolated / "mylosses.py")) is module


@pytest.mark.parametrize(
    ("plugin", "message"),
    [
        ("", "loss plugin '': expected a module name (my_package.losses) or a path to a .py file"),
        (
            ".rel",
            "loss plugin '.rel': a relative module name cannot be imported; give the absolute name "
            "(my_package.losses) or a path to a .py file",
        ),
        (
            "no_such_plugin_xyz",
            "cannot import loss plugin module 'no_such_plugin_xyz': no module named 'no_such_plugin_xyz' "
            "on sys.path or in the current directory ({cwd})",
        ),
        (
            "no_such_pkg_xyz.losses",
            "cannot import loss plugin module 'no_such_pkg_xyz.losses': no module named 'no_such_pkg_xyz' "
            "on sys.path or in the current directory ({cwd})",
        ),
        ("./x.py", "loss plugin file './x.py' does not exist (or is not a file)"),
        (
            "raises",
            "loss plugin 'raises' failed while importing: ZeroDivisionError: division by zero at {cwd}/raises.py:2",
        ),
        (
            "./raises.py",
            "loss plugin './raises.py' failed while importing: ZeroDivisionError: division by zero "
            "at {cwd}/raises.py:2",
        ),
        (
            "needs_dep",
            "loss plugin 'needs_dep' failed while importing: ModuleNotFoundError: No module named "
            "'missing_dependency_xyz' at {cwd}/needs_dep.py:1",
        ),
        (
            "mutable",
            "loss plugin 'mutable' failed while importing: TypeError: register_loss('mutable_test'): params class "
            "P of mutable.L must be frozen; use @attrs.frozen at {cwd}/mutable.py:8",
        ),
        (
            "./typing.py",
            "loss plugin file './typing.py': a module named 'typing' is already imported from {typing}; "
            "rename the file",
        ),
    ],
)
def test_every_plugin_failure_is_one_line_and_exit_2(
    isolated: Path, capsys: pytest.CaptureFixture[str], plugin: str, message: str
) -> None:
    (isolated / "raises.py").write_text("x = 1\nx / 0\n")
    (isolated / "needs_dep.py").write_text("import missing_dependency_xyz\n")
    (isolated / "typing.py").write_text("")
    (isolated / "mutable.py").write_text(
        "import attrs\nfrom typed_losses import Loss, register_loss\n\n\n@attrs.define\nclass P:\n    a: int = 1\n"
        "@register_loss('mutable_test')\nclass L(Loss[P]):\n    pass\n"
    )
    expected = message.format(cwd=isolated, typing=sys.modules["typing"].__file__)
    assert run("--plugin", plugin, "list") == (2, [])
    assert capsys.readouterr().err.splitlines() == [f"typed-losses: error: {expected}"]
    with pytest.raises(ImportError) as info:
        load_plugin(plugin)
    assert str(info.value) == expected


def test_help_says_what_a_plugin_is(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert (
        "--plugin MODULE import MODULE first, so that the losses it registers are known (repeatable): a module "
        "name (my_package.losses), found on sys.path or in the current directory as `python -m` finds it, or a "
        "path to a .py file (./my_losses.py)"
    ) in text


def test_from_config_says_how_to_load_an_unknown_loss() -> None:
    with pytest.raises(LossConfigError) as info:
        LossCollection.from_config([{"type": PLUGIN_LOSS}])
    assert str(info.value) == f"losses[0].type: unknown loss {PLUGIN_LOSS!r} ({LOAD_HINT})"


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert (info.value.code, capsys.readouterr().out) == (0, f"typed-losses {typed_losses.__version__}\n")
