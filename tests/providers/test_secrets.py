"""A planted API key must never appear in errors, reprs, logs, CLI output or files."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import web

from llmpick.providers import AuthenticationError, Message, ProviderError, create_provider
from llmpick.testing import MockServerConfig, ServerThread, create_mock_app

from .conftest import PLANTED_KEY


async def _echo_key(request: web.Request) -> web.Response:
    # Like vendors that quote the key they received ("Incorrect API key provided: sk-...").
    # Some also quote the URL they were called at, query string and all.
    sent = request.headers.get("Authorization", "")
    message = f"Incorrect API key provided: {sent} (at {request.url})"
    body = {"error": {"message": message, "type": "auth"}}
    return web.json_response(body, status=401)


@pytest.fixture(scope="module")
def echo_url() -> Iterator[str]:
    app = web.Application()
    app.router.add_post("/v1/chat/completions", _echo_key)
    with ServerThread(app) as server:
        yield server.url + "/v1"


@pytest.fixture(scope="module")
def strict_mock_url() -> Iterator[str]:
    config = MockServerConfig(api_key="the-right-key", models=["m"])
    with ServerThread(create_mock_app(config)) as server:
        yield server.url + "/v1"


@pytest.fixture(autouse=True)
def _planted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLANTED_API_KEY", PLANTED_KEY)


async def test_key_is_scrubbed_from_errors_reprs_and_logs(
    echo_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    provider = create_provider(
        {"kind": "openai", "model": "m", "base_url": echo_url, "api_key_env": "PLANTED_API_KEY"}
    )
    async with provider:
        with pytest.raises(AuthenticationError) as info:
            await provider.generate([Message("user", "hi")])
    error = info.value
    outputs = [
        str(error),
        repr(error),
        error.partial_text,
        repr(provider),
        repr(provider.config),
        provider.config.model_dump_json(),
        str(provider._key),
        caplog.text,
    ]  # type: ignore[attr-defined]
    assert "Incorrect API key provided" in str(error) and "***" in str(error)
    for text in outputs:
        assert PLANTED_KEY not in text


def test_cli_output_never_shows_the_key(
    strict_mock_url: str, echo_url: str, tmp_path: Path
) -> None:
    env = {**os.environ, "PLANTED_API_KEY": PLANTED_KEY, "LLMPICK_HOME": str(tmp_path)}
    runs = [
        [
            "ask",
            "openai/m",
            "hi",
            "--base-url",
            strict_mock_url,
            "--api-key-env",
            "PLANTED_API_KEY",
            "--retries",
            "0",
        ],
        ["models", "--json"],
        # A key in the base URL's query string: a server quoting the URL, and no server at all.
        *(
            ["ask", "openai/m", "hi", "--base-url", url, "--retries", "0"]
            for url in (
                f"{echo_url}?key={PLANTED_KEY}",
                f"http://127.0.0.1:9/v1?key={PLANTED_KEY}",
                f"http://u:{PLANTED_KEY}@127.0.0.1:9/v1",
            )
        ),
    ]
    seen = ""
    for args in runs:
        proc = subprocess.run(
            [sys.executable, "-c", "from llmpick.cli import main; main()", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        seen += proc.stdout + proc.stderr
        assert "Traceback" not in proc.stderr
    assert "HTTP 401" in seen  # the failed calls did report the problem
    assert "key=***" in seen and "cannot reach" in seen
    assert PLANTED_KEY not in seen
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert PLANTED_KEY.encode() not in path.read_bytes()


async def test_missing_key_names_the_variable_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_SUCH_KEY_VAR", raising=False)
    provider = create_provider(
        {
            "kind": "anthropic",
            "model": "m",
            "api_key_env": "NO_SUCH_KEY_VAR",
            "base_url": "http://127.0.0.1:9",
        }
    )
    async with provider:
        with pytest.raises(ProviderError, match="set the environment variable NO_SUCH_KEY_VAR"):
            await provider.generate("hi")


_SPEC = """\
version: 1
name: url-key
needs:
  quality: {metric: accuracy, min_value: 0.1}
candidates:
  - name: served
    endpoint: {base_url: "BASE_URL", model: m}
dataset:
  path: tickets.jsonl
  id_field: id
  input_field: ticket
  expected_field: queue
  max_output_tokens: 4
scoring:
  scorers:
    - {type: choice, name: accuracy, choices: [billing, technical, account, shipping, other]}
  primary: accuracy
report:
  output_dir: report
"""


def test_a_key_in_a_spec_base_url_leaves_no_trace(tmp_path: Path) -> None:
    rows = [f'{{"id": "t{i}", "ticket": "ticket {i}", "queue": "billing"}}' for i in range(3)]
    (tmp_path / "tickets.jsonl").write_text("\n".join(rows) + "\n")
    with ServerThread(create_mock_app(MockServerConfig(tokens=1))) as server:
        spec = _SPEC.replace("BASE_URL", f"{server.url}/v1?key={PLANTED_KEY}")
        (tmp_path / "llmpick.yaml").write_text(spec)
        env = {**os.environ, "LLMPICK_HOME": str(tmp_path / "home")}
        seen = ""
        for args in (["eval", "llmpick.yaml"], ["runs", "list"], ["decide", "llmpick.yaml"]):
            proc = subprocess.run(
                [sys.executable, "-c", "from llmpick.cli import main; main()", *args],
                env=env,
                cwd=tmp_path,
                capture_output=True,
                text=True,
                timeout=120,
            )
            seen += proc.stdout + proc.stderr
            assert proc.returncode == 0, proc.stdout + proc.stderr
    assert PLANTED_KEY not in seen
    assert (tmp_path / "report" / "report.html").exists()
    leaked = [
        str(path.relative_to(tmp_path))
        for path in tmp_path.rglob("*")
        if path.is_file()
        and path.name != "llmpick.yaml"
        and PLANTED_KEY.encode() in path.read_bytes()
    ]
    assert leaked == []
