"""Collecting the problems of one `losses` value as positioned [`ConfigIssue`][typed_losses.ConfigIssue] values."""

from __future__ import annotations

import attrs

from typed_losses.config.paths import Key, render_path
from typed_losses.config.yaml import SourceMap
from typed_losses.errors import ConfigIssue

__all__ = ["Locator", "render_path"]


@attrs.define
class Locator:
    """Knows where a `losses` value sits (document path, label, source map) and collects issues.

    Paths given to `add()` are relative to the `losses` value (`(1, "params", "gamma")`); the
    issue's path is that path after `label`, its position is where the document wrote it. Below a node
    reached through an interpolation (`params: ${defaults}`), positions are those of the target
    (`moved_to()`).
    """

    label: str
    doc_path: tuple[Key, ...] = ()
    source: SourceMap | None = None
    issues: list[ConfigIssue] = attrs.field(factory=list)
    #: rel path -> document path of the node an interpolation at rel points at.
    moved: dict[tuple[Key, ...], tuple[Key, ...]] = attrs.field(factory=dict)
    #: rel path -> its rank in a walk of the value in document order (orders issues without a position).
    order: dict[tuple[Key, ...], int] = attrs.field(factory=dict)
    _rels: list[tuple[Key, ...]] = attrs.field(factory=list)

    def add(self, rel: tuple[Key, ...], message: str, *, hint: str | None = None, at_key: bool = False) -> None:
        """Record a problem at `rel` (relative to the `losses` value)."""
        self._add(render_path(self.label, rel), self.document_path(rel), message, hint, at_key)
        self._rels.append(rel)

    def add_in_document(
        self, doc: tuple[Key, ...], message: str, *, hint: str | None = None, at_key: bool = False
    ) -> None:
        """Record a problem at the document path `doc` (outside the `losses` value)."""
        self._add(render_path("", doc), doc, message, hint, at_key)
        self._rels.append(())

    def _add(self, path: str, doc: tuple[Key, ...], message: str, hint: str | None, at_key: bool) -> None:
        line = column = None
        file = None
        if self.source is not None:
            file = self.source.file
            where = self.source.locate(doc, at_key=at_key)
            if where is not None:
                line, column = where
        self.issues.append(ConfigIssue(path, message, line, column, hint, file))

    def document_path(self, rel: tuple[Key, ...]) -> tuple[Key, ...]:
        """Where `rel` is written in the document (through interpolations, see `moved_to()`)."""
        if self.moved:
            for size in range(len(rel), -1, -1):
                target = self.moved.get(rel[:size])
                if target is not None:
                    return (*target, *rel[size:])
        return (*self.doc_path, *rel)

    def moved_to(self, rel: tuple[Key, ...], doc: tuple[Key, ...]) -> None:
        """The value at `rel` is the document's node at `doc` (an interpolation points there)."""
        self.moved[rel] = doc

    def label_of(self, rel: tuple[Key, ...]) -> str:
        """The dotted path of `rel` (`model.losses[1]`)."""
        return render_path(self.label, rel)

    def in_order(self) -> list[ConfigIssue]:
        """The issues in document order: by file position when they have one, else by the place of their
        path in the value (so that plain data and the same data from a file list them alike)."""
        ranks = []
        for seq, (issue, rel) in enumerate(zip(self.issues, self._rels, strict=True)):
            if issue.line is not None:  # ties (an entry and its first key) by the place in the value
                ranks.append((0, issue.file or "", issue.line, issue.column or 0, self._rank(rel), seq))
            else:
                ranks.append((1, "", 0, 0, self._rank(rel), seq))
        return [self.issues[rank[-1]] for rank in sorted(ranks)]

    def _rank(self, rel: tuple[Key, ...]) -> int:
        for size in range(len(rel), -1, -1):
            rank = self.order.get(rel[:size])
            if rank is not None:
                return rank
        return -1
