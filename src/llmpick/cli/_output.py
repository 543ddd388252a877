"""Shared console helpers: one place decides how errors and JSON reach the terminal."""

from __future__ import annotations

import io
import json
import os
import sys
from collections.abc import Iterable
from typing import Any, NoReturn

import typer
from rich.console import Console, Group, RenderableType
from rich.markup import escape
from rich.measure import Measurement
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

DB_HELP = "SQLite database (default: $LLMPICK_HOME/llmpick.sqlite)."

console = Console()
err_console = Console(stderr=True)
if not console.is_terminal and "COLUMNS" not in os.environ:
    # Piped or in CI Rich assumes 80 columns, which squeezes tables into ellipses.
    console.width = 120


def fail(message: str, code: int = 2) -> NoReturn:
    """Print a one-line user error to stderr and exit; never a traceback."""
    # Escaped: a message quotes names and servers' errors, which may hold `[...]`.
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def print_json(data: Any) -> None:
    """Plain JSON on stdout, safe to pipe into other tools."""
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def add_id_column(table: Table, header: str, **options: Any) -> None:
    """Add a column of ids a user copies into the next command: never wrapped or cut.

    Print the table with `print_table`, which checks that the ids really show whole.
    """
    table.add_column(header, no_wrap=True, overflow="ignore", **options)


def print_table(table: Table, ids: Iterable[str] = (), *, to: Console | None = None) -> None:
    """Print `table` when it fits the console's width with every word of every cell whole
    (every id in `ids` on one line); otherwise the same rows stacked (`stacked`), so an id is
    never cut and no column is folded letter by letter.

    Rich shrinks even no-wrap columns when a table cannot fit, and folds words to make room,
    so the table is rendered first (to a string, at the same width) and checked.
    """
    target = to or console
    if _reads_whole(table, [i for i in ids if i], target.width):
        target.print(table)
    else:
        target.print(stacked(table))


def _reads_whole(table: Table, ids: list[str], width: int) -> bool:
    # Measured on an unbounded console: Rich clamps a measurement to the width it is given.
    unbounded = Console(file=io.StringIO(), width=100_000, color_system=None)
    if Measurement.get(unbounded, unbounded.options, table).minimum > width:
        return False
    probe = Console(file=io.StringIO(), width=width, color_system=None, legacy_windows=False)
    with probe.capture() as captured:
        probe.print(table)
    lines = captured.get().splitlines()
    words = {
        word
        for column in table.columns
        for cell in (column.header, *column.cells)
        for word in _plain(cell).split()
    }
    return all(any(word in line for line in lines) for word in (*ids, *words))


def stacked(table: Table) -> Group:
    """The rows of `table` as blocks, for screens too narrow for the table: the first
    column's cell alone on a line, then the other cells as `header: value` pairs on an
    indented line (wrapping between pairs, never inside an id)."""
    columns = table.columns
    cells = [list(column.cells) for column in columns]
    headers = [_plain(column.header) for column in columns]
    parts: list[RenderableType] = []
    if table.title:
        parts.append(_text(table.title, "bold"))
    for row in range(len(cells[0]) if cells else 0):
        parts.append(_text(cells[0][row], "bold"))
        pairs = Text(overflow="fold")
        for header, column_cells in zip(headers[1:], cells[1:], strict=True):
            value = _plain(column_cells[row])
            if not value.strip():
                continue
            if pairs:
                pairs.append(" · ", style="dim")
            pairs.append(f"{header}: " if header else "", style="dim")
            pairs.append(value)
        parts.append(Padding(pairs, (0, 0, 0, 2)))
    if table.caption:
        parts.append(_text(table.caption, "dim"))
    return Group(*parts)


def _plain(cell: Any) -> str:
    """A cell's text without markup or styles."""
    if isinstance(cell, Text):
        return cell.plain
    if isinstance(cell, str):
        return Text.from_markup(cell).plain
    return str(cell)


def _text(cell: Any, style: str) -> RenderableType:
    if isinstance(cell, str):
        return Text.from_markup(cell, style=style)
    return cell
