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


def test_every_command_still_shows_its_help() -> None:
    from typer.testing import CliRunner

    from llmpick.cli import app

    runner = CliRunner()
    top = runner.invoke(app, ["--help"])
    assert top.exit_code == 0
    commands = ["init", "validate", "schema", "check", "fit", "ask", "models", "eval", "decide"]
    groups = {"catalog": ["list", "show", "search", "update"], "runs": ["list", "show"]}
    for name in commands:
        result = runner.invoke(app, [name, "--help"])
        assert result.exit_code == 0 and "Example:" in result.output, name
    for group, subcommands in groups.items():
        for name in subcommands:
            result = runner.invoke(app, [group, name, "--help"])
            assert result.exit_code == 0 and "Example:" in result.output, f"{group} {name}"
