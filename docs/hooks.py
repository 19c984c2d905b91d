"""MkDocs hook: links from the docs to repository files (``../schemas/losses.schema.json``, ``../examples``).

The pages link to files outside ``docs/`` with repository-relative paths, which work when the markdown is
read on a code host. For the built site, this hook copies each linked repository file into the site under
``repo/<path>`` (a linked folder becomes a generated page listing its files) and rewrites the links to
those copies, so that ``mkdocs build --strict`` checks them like any other link.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

PREFIX = "repo"
_LINK = re.compile(r"\]\((?P<target>\.\./[^)\s#]+)(?P<anchor>#[^)\s]*)?\)")


def _repo_root(config: Any) -> Path:
    return Path(config["docs_dir"]).resolve().parent


def _repo_path(page_uri: str, target: str, root: Path) -> str | None:
    """The repository-relative path a link from ``page_uri`` points to, when it leaves ``docs/``."""
    joined = posixpath.normpath(posixpath.join("docs", posixpath.dirname(page_uri), target))
    if joined.startswith(("docs/", "..")) or not (root / joined).exists():
        return None
    return joined


def _listing(root: Path, folder: str) -> str:
    names = sorted(p.name for p in (root / folder).iterdir() if p.is_file() and not p.name.startswith("."))
    lines = [f"# `{folder}/`", ""] + [f"- [`{name}`]({name})" for name in names]
    return "\n".join(lines) + "\n"


def on_files(files: Files, config: Any) -> Files:
    root = _repo_root(config)
    wanted: set[str] = set()
    for file in list(files):
        if not file.src_uri.endswith(".md") or file.abs_src_path is None:
            continue
        text = Path(file.abs_src_path).read_text(encoding="utf-8")
        for match in _LINK.finditer(text):
            path = _repo_path(file.src_uri, match["target"], root)
            if path is not None:
                wanted.add(path)
    for path in sorted(wanted):
        if (root / path).is_dir():
            for child in sorted((root / path).iterdir()):
                if child.is_file() and not child.name.startswith("."):
                    wanted_file = f"{path}/{child.name}"
                    files.append(
                        File.generated(config, f"{PREFIX}/{wanted_file}", abs_src_path=str(root / wanted_file))
                    )
            files.append(File.generated(config, f"{PREFIX}/{path}/index.md", content=_listing(root, path)))
        elif files.get_file_from_path(f"{PREFIX}/{path}") is None:
            files.append(File.generated(config, f"{PREFIX}/{path}", abs_src_path=str(root / path)))
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    root = _repo_root(config)
    page_dir = posixpath.dirname(page.file.src_uri)

    def rewrite(match: re.Match[str]) -> str:
        path = _repo_path(page.file.src_uri, match["target"], root)
        if path is None:
            return match[0]
        target = f"{PREFIX}/{path}/index.md" if (root / path).is_dir() else f"{PREFIX}/{path}"
        return f"]({posixpath.relpath(target, page_dir or '.')}{match['anchor'] or ''})"

    return _LINK.sub(rewrite, markdown)
