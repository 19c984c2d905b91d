"""The catalog is a manifest: every module under ``typed_losses/losses/`` that defines a loss is imported by the
package (which the entry point loads) and registers it, and the core never imports the catalog.

One fresh interpreter probes both the real catalog and a deliberately broken one (a module the package forgets
to import, a loss without ``@register_loss``, a core module importing the catalog), so the checks are shown
to fail when they should.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from helpers.catalog import probe

_LOSS = """
import attrs
from typed_losses import Loss, register_loss


@attrs.frozen
class {name}Params:
    pass


{decorator}
class {name}Loss(Loss[{name}Params]):
    def forward(self, sample_list, model_output):
        raise NotImplementedError
"""

_BROKEN = {
    "broken_catalog/__init__.py": "from broken_catalog import listed, undecorated, shared\n",
    "broken_catalog/listed.py": _LOSS.format(name="Listed", decorator='@register_loss("broken_listed")'),
    "broken_catalog/forgotten.py": _LOSS.format(name="Forgotten", decorator='@register_loss("broken_forgotten")'),
    "broken_catalog/undecorated.py": _LOSS.format(name="Undecorated", decorator=""),
    "broken_catalog/shared.py": "SCALE = 2.0  # no loss here: nothing to import or register\n",
    "broken_core/__init__.py": "",
    "broken_core/fine.py": "import typed_losses.loss\n",
    "broken_core/leaky.py": "import broken_catalog\n",
}


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, list[str]]]:
    root = tmp_path_factory.mktemp("packages")
    for relative, text in _BROKEN.items():
        (root / relative).parent.mkdir(exist_ok=True)
        (root / relative).write_text(textwrap.dedent(text), encoding="utf-8")
    return probe(
        catalogs=["typed_losses.losses", "broken_catalog"],
        cores=[
            # builders.py is generated from the catalog and loaded only on the first use of build_loss.
            ("typed_losses", ["typed_losses.losses", "typed_losses.functional"], ["typed_losses.builders"]),
            ("broken_core", ["broken_catalog"], []),
        ],
        path=[Path(root)],
    )


def test_every_catalog_module_defining_a_loss_is_imported_and_registered(
    report: dict[str, dict[str, list[str]]],
) -> None:
    assert report["catalog"]["typed_losses.losses"] == []


def test_the_core_never_imports_the_catalog(report: dict[str, dict[str, list[str]]]) -> None:
    assert report["core"]["typed_losses"] == []


def test_a_forgotten_module_and_an_unregistered_loss_are_found(report: dict[str, dict[str, list[str]]]) -> None:
    assert report["catalog"]["broken_catalog"] == [
        "broken_catalog.forgotten defines ForgottenLoss, but `import broken_catalog` does not import "
        "broken_catalog.forgotten",
        "broken_catalog.undecorated.UndecoratedLoss is not registered (decorate it with @register_loss)",
    ]
    assert report["core"]["broken_core"] == [
        "broken_core.leaky imports the catalog (broken_catalog, broken_catalog.listed, broken_catalog.shared, "
        "broken_catalog.undecorated)"
    ]
