"""The CLI's start-up stays light: help and argument errors never load the library's heavy parts.

Measured, not asserted here: `time .venv/bin/llmpick --help` went from 1.5 s to 0.45 s when the
command modules stopped importing pydantic, numpy and the catalog at import time.
"""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("pydantic", "numpy", "llmpick.catalog", "llmpick.spec", "llmpick.evaluation", "httpx")


def test_importing_the_cli_loads_no_heavy_module() -> None:
    code = f"import sys, llmpick.cli\nprint(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == "", f"`import llmpick.cli` loaded {loaded}; import them inside the command"


def _command_paths(typer_app: object, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command of the app as the words that invoke it, read from the app itself."""
    paths: list[tuple[str, ...]] = []
    for command in typer_app.registered_commands:  # type: ignore[attr-defined]
        name = command.name or command.callback.__name__.replace("_", "-")
        paths.append((*prefix, name))
    for group in typer_app.registered_groups:  # type: ignore[attr-defined]
        paths += _command_paths(group.typer_instance, (*prefix, group.name))
    return paths


def test_every_command_still_shows_its_help() -> None:
    from typer.testing import CliRunner

    from llmpick.cli import app

    runner = CliRunner()
    top = runner.invoke(app, ["--help"])
    assert top.exit_code == 0
    paths = _command_paths(app)
    # The list comes from the app, so a new command is checked without editing this test.
    assert {("serve",), ("loadtest",), ("decide",), ("runs", "show")} <= set(paths), paths
    for path in paths:
        result = runner.invoke(app, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        assert "Example:" in result.output, f"{' '.join(path)} has no Example: line in its help"
