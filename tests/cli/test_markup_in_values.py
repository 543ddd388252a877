"""Values that look like Rich markup (`[/]`, `[q4_k_m]`) in a candidate's name or in a server's
error are printed as they are by every command: no traceback, no text silently dropped. Also:
`eval` exits non-zero when every call failed, and counts the HTTP requests it made."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from aiohttp import web

from llmpick.testing import ServerThread

CliRun = Callable[..., subprocess.CompletedProcess[str]]

NAME = "bad[/]name [q4_k_m]"
BROKEN = "broken[/] [bold]q[/bold]"
SERVER_ERROR = "model file [/] not loaded [q4_k_m] [red]"


def _app() -> web.Application:
    async def chat(request: web.Request) -> web.StreamResponse:
        body = await request.json()
        if body.get("model") == "broken":
            return web.json_response({"error": {"message": SERVER_ERROR}}, status=400)
        usage = {"prompt_tokens": 10, "completion_tokens": 1, "total_tokens": 11}
        choice = {"index": 0, "finish_reason": "stop", "message": {"content": "billing"}}
        if body.get("stream"):
            resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
            await resp.prepare(request)
            for chunk in (
                '{"choices":[{"index":0,"delta":{"content":"billing"},"finish_reason":null}]}',
                '{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}',
            ):
                await resp.write(f"data: {chunk}\n\n".encode())
            await resp.write(b"data: [DONE]\n\n")
            return resp
        return web.json_response({"choices": [choice], "usage": usage})

    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    return app


@pytest.fixture
def base_url() -> Iterator[str]:
    with ServerThread(_app()) as server:
        yield server.url + "/v1"


def _spec(folder: Path, base_url: str, candidates: list[tuple[str, str]]) -> Path:
    (folder / "tickets.jsonl").write_text(
        "".join(f'{{"id": "t{i}", "text": "ticket {i}", "label": "billing"}}\n' for i in range(4))
    )
    listed = "".join(
        f"  - name: '{name}'\n    endpoint: {{base_url: '{base_url}', model: {model}}}\n"
        for name, model in candidates
    )
    spec = folder / "llmpick.yaml"
    spec.write_text(
        f"""version: 1
name: markup
candidates:
{listed}dataset:
  path: tickets.jsonl
  input_field: text
  expected_field: label
scoring:
  scorers:
    - {{type: exact, name: accuracy}}
  primary: accuracy
"""
    )
    return spec


def _clean(result: subprocess.CompletedProcess[str]) -> str:
    output = result.stdout + result.stderr
    assert "Traceback" not in output, output
    assert "MarkupError" not in output, output
    return " ".join(output.split())  # tables may wrap a long value: compare unwrapped


def test_markup_in_names_and_server_errors_is_printed_as_is(
    tmp_path: Path, base_url: str, llmpick: CliRun
) -> None:
    spec = _spec(tmp_path, base_url, [(NAME, "m"), (BROKEN, "broken")])
    db = str(tmp_path / "db.sqlite")

    check = llmpick("check", str(spec), columns=200)
    assert check.returncode == 0, _clean(check)
    assert NAME in _clean(check) and BROKEN in _clean(check)

    evaluated = llmpick("eval", str(spec), "--db", db, "--no-progress", columns=300)
    output = _clean(evaluated)
    assert evaluated.returncode == 0, output  # one candidate was measured
    assert NAME in output and BROKEN in output and SERVER_ERROR in output

    shown = llmpick("runs", "show", "latest", "--db", db, columns=300)
    output = _clean(shown)
    assert shown.returncode == 0, output
    assert NAME in output and SERVER_ERROR in output

    decided = llmpick("decide", str(spec), "--db", db, "-o", str(tmp_path / "out"), columns=300)
    output = _clean(decided)
    assert decided.returncode == 0, output
    assert NAME in output


def test_ask_prints_a_server_error_with_markup_as_is(base_url: str, llmpick: CliRun) -> None:
    asked = llmpick("ask", "openai/broken", "hi", "--base-url", base_url, "--retries", "0")
    output = _clean(asked)
    assert asked.returncode == 2
    assert SERVER_ERROR in output


def test_eval_exits_non_zero_when_every_call_failed_and_counts_requests(
    tmp_path: Path, base_url: str, llmpick: CliRun
) -> None:
    spec = _spec(tmp_path, base_url, [(BROKEN, "broken")])
    evaluated = llmpick(
        "eval", str(spec), "--db", str(tmp_path / "db.sqlite"), "--no-progress", columns=300
    )
    output = _clean(evaluated)
    assert evaluated.returncode == 1, output
    assert "every call failed" in output and SERVER_ERROR in output
    assert "4 calls made" in output  # 4 requests were sent (400 is not retried), not 0
