"""llama.cpp's own log lines go to the log file, not into `ask`/`eval` output; --verbose shows
them too. Runs the bundled SmolLM2 in-process."""

from __future__ import annotations

import importlib.util
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from llmpick._logs import VERBOSE_ENV

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


def test_serve_keeps_llama_cpp_lines_in_the_log_file(tmp_path: Path) -> None:
    import os
    import sys
    import time
    import urllib.request

    from llmpick.testing import free_port

    port = free_port()
    env = {**os.environ, "LLMPICK_HOME": str(tmp_path / "home")}
    env.pop(VERBOSE_ENV, None)
    main = "import sys; sys.argv[0] = 'llmpick'; from llmpick.cli import main; main()"
    args = ["serve", "local/smollm2-135m-instruct", "--port", str(port)]
    with (tmp_path / "err.txt").open("w") as err:
        server = subprocess.Popen([sys.executable, "-c", main, *args], stderr=err, env=env)
        try:
            deadline = time.monotonic() + 180
            while time.monotonic() < deadline:
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=2)
                    break
                except OSError:
                    time.sleep(0.5)
            else:
                pytest.fail("the server did not start")
        finally:
            server.terminate()
            server.wait(timeout=60)
    printed = (tmp_path / "err.txt").read_text()
    assert "Uvicorn running" in printed  # the server's own lines stay
    assert "llama_" not in printed and "Model metadata" not in printed
    assert "llama_model_loader" in (tmp_path / "home" / "logs" / "llama-cpp.log").read_text()
