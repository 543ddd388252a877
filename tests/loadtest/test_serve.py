"""`llmpick serve`: llama.cpp's server for a bundled model, and the example that load-tests it."""

from __future__ import annotations

import importlib.util
import json
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from typer.testing import CliRunner

from llmpick.cli import app
from llmpick.loadtest import plan_load_test
from llmpick.spec import load_spec
from llmpick.testing import free_port

runner = CliRunner()
EXAMPLE = Path(__file__).parents[2] / "examples" / "loadtest" / "llmpick.yaml"
HAVE_SERVER = importlib.util.find_spec("llama_cpp") is not None and (
    importlib.util.find_spec("llama_cpp.server") is not None
)


def test_an_unknown_model_is_a_one_line_error() -> None:
    result = runner.invoke(app, ["serve", "no-such-model"])
    assert result.exit_code == 2
    assert "neither a bundled model (local/smollm2-135m-instruct" in result.output


@pytest.mark.skipif(not HAVE_SERVER, reason="needs llmpick[serve]")
def test_dry_run_prints_the_server_command() -> None:
    result = runner.invoke(app, ["serve", "local/smollm2-135m-instruct", "--dry-run", "-p", "8123"])
    assert result.exit_code == 0, result.output
    assert "-m llmpick.serving._server_main --model " in result.output
    assert "--model_alias smollm2-135m-instruct" in result.output
    assert "--port 8123" in result.output and "--interrupt_requests false" in result.output


@pytest.mark.local_model
@pytest.mark.skipif(not HAVE_SERVER, reason="needs llmpick[serve]")
def test_serve_answers_the_openai_models_route_and_stops_on_sigint() -> None:
    port = free_port()
    script = "from llmpick.cli import main; main()"
    command = [sys.executable, "-c", script, "serve", "local/smollm2-135m-instruct",
               "--port", str(port), "--threads", "1", "--context", "512"]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                url = f"http://127.0.0.1:{port}/v1/models"
                with urllib.request.urlopen(url, timeout=1) as answer:
                    models = json.loads(answer.read())
                break
            except OSError:
                assert process.poll() is None, "llmpick serve exited"
                assert time.monotonic() < deadline, "llmpick serve did not start"
                time.sleep(0.2)
        assert [m["id"] for m in models["data"]] == ["smollm2-135m-instruct"]
        process.send_signal(signal.SIGINT)  # the server itself receives it (exec, no wrapper)
        process.wait(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.stdout is not None
    assert f"http://127.0.0.1:{port}/v1" in process.stdout.read().decode()


def test_the_example_plans_a_load_test_of_its_served_model() -> None:
    plan = plan_load_test(load_spec(EXAMPLE), "smollm2-served")
    assert (
        len(plan.prompts) == 200 and plan.model == "smollm2-135m-instruct"
    )  # the quickstart's tickets
    assert plan.endpoint == "http://127.0.0.1:8000/v1"
    assert plan.catalog_id == "local/smollm2-135m-instruct"
