"""`typed-losses show`: render `typed_losses.provenance` as a rich table, plain text or JSON.

Every format shows names and values literally: control characters are escaped
(`printable()`), rich markup in a name is text (`[/bold]` is shown as
written), and JSON escapes them itself (`\\u001b`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Literal, TextIO

from typed_losses.cli_support import printable
from typed_losses.provenance import TermProvenance

__all__ = ["Format", "ShownLosses", "render"]

Format = Literal["auto", "table", "plain", "json"]
#: One `losses` value of a document: its dotted key and its terms.
ShownLosses = tuple[str, list[TermProvenance]]


def _value(value: object) -> str:
    return printable(json.dumps(value) if not isinstance(value, str) else value)


def _rows(terms: Sequence[TermProvenance]) -> list[tuple[str, str, str, str]]:
    """(term, setting, value, from): the term's name on its first row only, nested terms indented."""
    rows = []
    for term in terms:
        for depth, node in term.walk():
            for i, setting in enumerate(node.settings):
                label = "  " * depth + printable(node.name) if i == 0 else ""
                origin = printable(setting.origin.describe())
                rows.append((label, printable(setting.key), _value(setting.value), origin))
    return rows


HEADER = ("term", "setting", "value", "from")


def _plain(file: str, shown: Sequence[ShownLosses], out: TextIO) -> None:
    for key, terms in shown:
        print(printable(f"{file}: {key}"), file=out)
        rows = [HEADER, *_rows(terms)]
        widths = [max(len(row[i]) for row in rows) for i in range(3)]
        for row in rows:
            cells = [row[i].ljust(widths[i]) for i in range(3)]
            print(("  " + "  ".join(cells) + "  " + row[3]).rstrip(), file=out)


def _table(file: str, shown: Sequence[ShownLosses], out: TextIO) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console(file=out, highlight=False)
    for key, terms in shown:
        table = Table(title=Text(printable(f"{file}: {key}")), title_justify="left")
        table.add_column("term", style="bold", no_wrap=True)
        table.add_column("setting", style="cyan", no_wrap=True)
        table.add_column("value", overflow="fold")
        table.add_column("from", style="dim", overflow="fold")
        first = True
        for row in _rows(terms):
            if row[0] and not row[0].startswith(" ") and not first:
                table.add_section()
            first = False
            table.add_row(*(Text(cell) for cell in row))  # Text: never parsed as rich markup
        console.print(table)


def _json(file: str, shown: Sequence[ShownLosses], out: TextIO) -> None:
    data = {"file": file, "losses": [{"key": key, "terms": [t.to_dict() for t in terms]} for key, terms in shown]}
    print(json.dumps(data, indent=2, ensure_ascii=True), file=out)  # ASCII: control characters escaped


def render(file: str, shown: Sequence[ShownLosses], out: TextIO, fmt: Format = "auto") -> None:
    """Write `shown` in `fmt`: `auto` is a rich table on a terminal and plain text elsewhere."""
    if fmt == "json":
        _json(file, shown, out)
        return
    if fmt == "auto":
        from rich.console import Console

        console = Console(file=out)
        fmt = "table" if console.is_terminal and not console.is_dumb_terminal else "plain"
    if fmt == "plain":
        _plain(file, shown, out)
    else:
        _table(file, shown, out)
