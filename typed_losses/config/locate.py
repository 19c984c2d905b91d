"""Turning a position inside a ``losses`` value into a :class:`~typed_losses.errors.ConfigIssue`."""

from __future__ import annotations

import attrs

from typed_losses.config.paths import Key, render_path
from typed_losses.config.yaml import SourceMap
from typed_losses.errors import ConfigIssue

__all__ = ["Locator", "render_path"]


@attrs.define
class Locator:
    """Knows where a ``losses`` value sits (document path, label, source map) and collects issues."""

    label: str
    doc_path: tuple[Key, ...] = ()
    source: SourceMap | None = None
    issues: list[ConfigIssue] = attrs.field(factory=list)

    def add(self, rel: tuple[Key, ...], message: str, *, hint: str | None = None, at_key: bool = False) -> None:
        """Record a problem at ``rel`` (relative to the ``losses`` value)."""
        line = column = None
        file = None
        if self.source is not None:
            file = self.source.file
            where = self.source.locate((*self.doc_path, *rel), at_key=at_key)
            if where is not None:
                line, column = where
        self.issues.append(ConfigIssue(render_path(self.label, rel), message, line, column, hint, file))

    def child(self, rel: tuple[Key, ...]) -> Locator:
        """A locator for a nested ``losses`` value at ``rel`` that shares this one's issue list."""
        return Locator(render_path(self.label, rel), (*self.doc_path, *rel), self.source, self.issues)
