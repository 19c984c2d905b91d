"""``stubs/`` (mypy_path) must never shadow typed_losses or an installed package that ships ``py.typed``."""

from __future__ import annotations

import importlib.metadata
import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
STUBS = ROOT / "stubs"


def _top_level_modules(stubs: Path) -> list[str]:
    """The module names that entries of ``stubs`` provide (``foo/``, ``foo-stubs/``, ``foo.pyi``)."""
    names = []
    for entry in sorted(stubs.iterdir()):
        if entry.name.startswith(".") or entry.name == "README.md":
            continue
        if entry.is_dir():
            names.append(entry.name.removesuffix("-stubs"))
        elif entry.suffix in (".pyi", ".py"):
            names.append(entry.stem)
        else:
            pytest.fail(f"unexpected file in stubs/: {entry.name} (only stub packages and .pyi files belong there)")
    return names


def _typed_top_levels() -> set[str]:
    """Top-level import names of installed distributions that ship a ``py.typed`` marker."""
    typed: set[str] = set()
    for dist in importlib.metadata.distributions():
        for file in dist.files or ():
            if file.name == "py.typed" and len(file.parts) >= 2:
                typed.add(file.parts[0])
    return typed


def _ships_py_typed(module: str) -> bool:
    """Whether ``module`` is importable and its package folder holds ``py.typed``."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return False
    if spec is None:
        return False
    locations = list(spec.submodule_search_locations or ())
    return any((Path(location) / "py.typed").is_file() for location in locations)


def test_stubs_readme_states_the_policy() -> None:
    text = (STUBS / "README.md").read_text(encoding="utf-8")
    assert "py.typed" in text and "types-PyYAML" in text and "typed_losses" in text


def test_stubs_shadow_no_typed_package() -> None:
    typed = _typed_top_levels() | {"typed_losses"}
    offenders = [name for name in _top_level_modules(STUBS) if name in typed or _ships_py_typed(name)]
    assert not offenders, (
        f"stubs/ shadows packages that carry their own types: {offenders}; "
        "remove them (see stubs/README.md) and fix the gap at the call site"
    )


def test_the_guard_sees_typed_packages(tmp_path: Path) -> None:
    # The check is only worth something if it recognises this project and its typed dependencies.
    for name in ("typed_losses", "torch", "attrs", "omegaconf"):
        (tmp_path / name).mkdir()
    (tmp_path / "yaml.pyi").write_text("", encoding="utf-8")
    found = _top_level_modules(tmp_path)
    typed = _typed_top_levels() | {"typed_losses"}
    assert {n for n in found if n in typed or _ships_py_typed(n)} == {"typed_losses", "torch", "attrs", "omegaconf"}
