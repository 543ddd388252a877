"""`llmpick ask` and `llmpick models`, run in-process through the Typer app."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from llmpick.cli import app
from llmpick.testing import MockServerConfig, ServerThread, create_mock_app

from .conftest import HAVE_LLAMA

runner = CliRunner()


@pytest.fixture(scope="module")
def mock_url() -> Iterator[str]:
    with ServerThread(create_mock_app(MockServerConfig(tokens=5))) as server:
        yield server.url + "/v1"


@pytest.mark.local_model
@pytest.mark.skipif(not HAVE_LLAMA, reason="needs the `local` extra")
def test_ask_local_model_offline(llmpick_home: Path) -> None:
    result = runner.invoke(
        app,
        [
            "ask",
            "local/smollm2-135m-instruct",
            "What is the capital of France?",
            "--max-tokens",
            "8",
            "--threads",
            "2",
        ],
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.strip()
    assert "TTFT" in result.stderr and "tokens/s" in result.stderr and "cost $0" in result.stderr


def test_ask_json_against_a_server(mock_url: str) -> None:
    result = runner.invoke(
        app,
        [
            "ask",
            "openai/mock",
            "hi",
            "--base-url",
            mock_url,
            "--json",
            "--system",
            "Be brief.",
            "--max-tokens",
            "3",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["text"] == "alpha bravo charlie" and data["finish_reason"] == "length"
    assert data["usage"]["source"] == "server" and data["metrics"]["ttft_s"] > 0


def test_ask_unreachable_server_is_a_one_line_error() -> None:
    result = runner.invoke(
        app, ["ask", "openai/mock", "hi", "--base-url", "http://127.0.0.1:9/v1", "--retries", "0"]
    )
    assert result.exit_code == 2
    assert "cannot reach" in result.stderr and "Traceback" not in result.output


def test_ask_without_a_known_endpoint_says_how_to_fix_it() -> None:
    result = runner.invoke(app, ["ask", "acme/unknown-model", "hi"])
    assert result.exit_code == 2 and "base_url" in result.stderr


def test_models_lists_bundled_models_and_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MISTRAL_API_KEY", "x")
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    result = runner.invoke(app, ["models", "--json"])
    assert result.exit_code == 0, result.output
    rows = {r["model"]: r for r in json.loads(result.stdout)}
    assert rows["local/smollm2-135m-instruct"]["kind"] == "llamacpp"
    assert rows["mistral/*"]["ready"] is True and rows["openai/*"]["ready"] is False
    assert "OPENAI_API_KEY not set" in rows["openai/*"]["note"]


def test_models_probes_spec_endpoints(mock_url: str, tmp_path: Path) -> None:
    spec = tmp_path / "llmpick.yaml"
    spec.write_text(
        "candidates:\n"
        "  - local/smollm2-135m-instruct\n"
        f"  - name: up\n    endpoint:\n      base_url: {mock_url}\n      model: mock\n"
        "  - name: down\n    endpoint:\n      base_url: http://127.0.0.1:9/v1\n      model: m\n"
    )
    result = runner.invoke(app, ["models", "--spec", str(spec), "--json"])
    assert result.exit_code == 0, result.output
    rows = {r["model"]: r for r in json.loads(result.stdout)}
    assert rows["up"]["ready"] is True and "reachable, serves 1 model" in rows["up"]["note"]
    assert rows["down"]["ready"] is False and rows["down"]["note"].startswith("unreachable")
