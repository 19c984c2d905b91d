"""The documentation site builds (`mkdocs build --strict`) and its HTML reads as intended: no reST markup left in
the text, every public name on the API page, every guide in the site, the loss reference grouped by family.

One build for the module (a few seconds); skipped where the `docs` extra is not installed.
"""

from __future__ import annotations

import html.parser
import importlib
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.markdown import ROOT

import typed_losses
import typed_losses.generate
from typed_losses import WEIGHT_KINDS
from typed_losses.generate import FAMILIES

pytest.importorskip("mkdocstrings", reason="the docs extra is not installed")

ADAPTERS = ("typed_losses.hydra", "typed_losses.mmf", "typed_losses.distributed")
#: reST left in text: a role (`:class:`, also as rendered before a code span) or a double backtick.
REST = re.compile(r":(?:py:)?(?:class|func|meth|data|mod|attr|exc|obj|ref):(?:`|$)|``")


class _Text(html.parser.HTMLParser):
    """The text of a page outside code (`<code>`, `<pre>`) and scripts, one string per text node."""

    SKIP = frozenset({"code", "pre", "script", "style"})

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0
        self.texts: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIP:
            self.depth += 1
        for name, value in attrs:
            if name == "id" and value:
                self.ids.add(value)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP:
            self.depth -= 1

    def handle_data(self, data: str) -> None:
        if self.depth == 0 and data.strip():
            self.texts.append(data)


def parse(path: Path) -> _Text:
    parser = _Text()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return out


def pages(site: Path) -> Iterator[Path]:
    for path in sorted(site.rglob("*.html")):
        if "repo" not in path.relative_to(site).parts[:1]:  # copies of repository files, not pages
            yield path


def test_no_rest_markup_in_the_text_of_any_page(site: Path) -> None:
    found = [
        f"{path.relative_to(site)}: {text.strip()[:120]!r}"
        for path in pages(site)
        for text in parse(path).texts
        if REST.search(text)
    ]
    assert len(list(pages(site))) >= 15
    assert not found, "\n".join(found)


def test_every_public_name_is_on_the_api_page(site: Path) -> None:
    ids = parse(site / "api" / "index.html").ids
    wanted = [f"typed_losses.{name}" for name in typed_losses.__all__]
    for module in ADAPTERS:
        wanted += [f"{module}.{name}" for name in importlib.import_module(module).__all__]
    missing = [name for name in wanted if name not in ids]
    assert not missing, f"not on the API page: {', '.join(missing)}"


def test_every_guide_is_a_page_in_the_navigation(site: Path) -> None:
    guides = sorted(path.stem for path in (ROOT / "docs" / "guides").glob("*.md"))
    assert {"writing-a-loss", "several-heads", "hydra", "catalog-loss"} <= set(guides)
    home = (site / "index.html").read_text(encoding="utf-8")
    for guide in guides:
        assert (site / "guides" / guide / "index.html").exists(), guide
        assert f'href="guides/{guide}/"' in home, f"{guide} is not in the navigation"


def test_loss_reference_is_grouped_by_family_with_code_only_where_meant(site: Path) -> None:
    page = site / "losses" / "index.html"
    ids = parse(page).ids
    for title in FAMILIES.values():
        assert title.lower().replace(" ", "-") in ids, title
    text = page.read_text(encoding="utf-8")
    # code blocks are the example entries (YAML) of the losses and the weight kinds, never a docstring
    # paragraph indented into a code block
    blocks = re.findall(r'<div class="highlight"><pre><span></span><code>(.*?)</code></pre>', text, flags=re.S)
    kinds = [k for k in WEIGHT_KINDS if k.weight_class.__module__.startswith("typed_losses.")]
    assert len(kinds) == 4
    assert len(blocks) == text.count("<pre") == len(typed_losses.generate.catalog_registry()) + len(kinds)
    assert all(block.startswith('<span class="nt">losses</span>') for block in blocks)
    assert all(f'id="weight-{kind.name}"' in text for kind in kinds)
    # formulas of the losses are math, and table first columns do not break names
    assert text.count('class="arithmatex"') >= len(re.findall(r'<h3 id="(?!weight-)', text))
    assert "white-space: nowrap" in (site / "stylesheets" / "extra.css").read_text(encoding="utf-8")
