"""Run the real `llmpick` command in a subprocess, as a user's terminal or CI job would."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

CliRun = Callable[..., subprocess.CompletedProcess[str]]
_MAIN = "import sys; sys.argv[0] = 'llmpick'; from llmpick.cli import main; main()"


@pytest.fixture
def llmpick(tmp_path: Path) -> CliRun:
    """`llmpick(*args, columns=80)`: the CLI with stdout piped (no terminal), at a width."""

    def run(
        *args: str,
        columns: int | None = 80,
        env: Mapping[str, str] | None = None,
        timeout: float = 120,
    ) -> subprocess.CompletedProcess[str]:
        environment = {**os.environ, "LLMPICK_HOME": str(tmp_path / "home"), **(env or {})}
        environment.pop("COLUMNS", None)
        if columns is not None:
            environment["COLUMNS"] = str(columns)
        return subprocess.run(
            [sys.executable, "-c", _MAIN, *args],
            capture_output=True,
            text=True,
            env=environment,
            timeout=timeout,
            cwd=tmp_path,
        )

    return run
