"""Shared console helpers: one place decides how errors and JSON reach the terminal."""

from __future__ import annotations

import json
import os
import sys
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

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
