"""llama.cpp's own log lines go to the log file, not into `ask`/`eval` output; --verbose shows
them too. Runs the bundled SmolLM2 in-process."""

from __future__ import annotations

import importlib.util
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

CliRun = Callable[..., subprocess.CompletedProcess[str]]

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("llama_cpp") is None, reason="needs llmpick[local]"
)


def test_ask_keeps_llama_cpp_lines_in_the_log_file(llmpick: CliRun, tmp_path: Path) -> None:
    quiet = llmpick("ask", "local/smollm2-135m-instruct", "Capital of France?", "-n", "4")
    assert quiet.returncode == 0, quiet.stderr
    assert "llama_" not in quiet.stderr and "llama_" not in quiet.stdout
    log = tmp_path / "home" / "logs" / "llama-cpp.log"
    assert "llama_model_loader" in log.read_text()
    loud = llmpick("--verbose", "ask", "local/smollm2-135m-instruct", "Capital?", "-n", "2")
    assert loud.returncode == 0, loud.stderr
    assert "llama_context" in loud.stderr
