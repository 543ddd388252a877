"""Real servers on loopback for the gateway tests: the project's mock and fault proxy, a
capturing server that records every request body it is sent, and the gateway itself (in a
thread, or as deployed: `llmpick gateway` in its own process)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from llmpick.gateway import create_gateway_app, hash_key, parse_gateway_config
from llmpick.testing import (
    FaultConfig,
    MockServerConfig,
    ServerThread,
    create_fault_proxy_app,
    create_mock_app,
    free_port,
)

KEY_A, KEY_B = "key-a-" + "x" * 26, "key-b-" + "y" * 26


@dataclass
class Captured:
    """What a capturing server was sent, and how it answers."""

    bodies: list[dict[str, Any]] = field(default_factory=list)
    # The answer text for a request body (default: echo the last message / the prompt).
    answer: Callable[[dict[str, Any]], str] | None = None
    status: int = 200
    delay_s: float = 0.0  # before answering


def _echo(body: dict[str, Any]) -> str:
    if "messages" in body:
        content = body["messages"][-1].get("content")
        return content if isinstance(content, str) else json.dumps(content)
    return str(body.get("prompt", ""))


def create_capturing_app(captured: Captured) -> web.Application:
    """An OpenAI-compatible server that records each body and answers with `captured.answer`
    (the last message echoed by default), streamed word by word when asked."""

    async def handle(request: web.Request) -> web.StreamResponse:
        body = await request.json()
        captured.bodies.append(body)
        await asyncio.sleep(captured.delay_s)
        if captured.status != 200:
            return web.json_response(
                {"error": {"message": "injected", "type": "server_error"}}, status=captured.status
            )
        chat = request.path.endswith("/chat/completions")
        text = (captured.answer or _echo)(body)
        usage = {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
        if not body.get("stream"):
            choice: dict[str, Any] = {"index": 0, "finish_reason": "stop"}
            if chat:
                choice["message"] = {"role": "assistant", "content": text}
            else:
                choice["text"] = text
            return web.json_response(
                {
                    "id": "c1",
                    "object": "chat.completion",
                    "model": "cap",
                    "choices": [choice],
                    "usage": usage,
                }
            )
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        words = text.split(" ")
        for i, word in enumerate(words):
            piece = word if i == 0 else " " + word
            delta = {"delta": {"content": piece}} if chat else {"text": piece}
            chunk = {
                "id": "c1",
                "model": "cap",
                "choices": [{"index": 0, **delta, "finish_reason": None}],
            }
            await resp.write(b"data: " + json.dumps(chunk).encode() + b"\n\n")
        end = {"delta": {}} if chat else {"text": ""}
        last = {
            "id": "c1",
            "model": "cap",
            "choices": [{"index": 0, **end, "finish_reason": "stop"}],
        }
        await resp.write(b"data: " + json.dumps(last).encode() + b"\n\n")
        if (body.get("stream_options") or {}).get("include_usage"):
            tail = {"id": "c1", "model": "cap", "choices": [], "usage": usage}
            await resp.write(b"data: " + json.dumps(tail).encode() + b"\n\n")
        await resp.write(b"data: [DONE]\n\n")
        return resp

    app = web.Application()
    app.router.add_post("/v1/chat/completions", handle)
    app.router.add_post("/v1/completions", handle)
    return app


@contextmanager
def capturing_server(captured: Captured | None = None) -> Iterator[tuple[str, Captured]]:
    captured = captured or Captured()
    with ServerThread(create_capturing_app(captured)) as server:
        yield server.url + "/v1", captured


@contextmanager
def mock_server(**options: Any) -> Iterator[tuple[str, dict[str, int]]]:
    app = create_mock_app(MockServerConfig(**options))
    from llmpick.testing import STATS

    with ServerThread(app) as server:
        yield server.url + "/v1", app[STATS]


@contextmanager
def fault_proxy(upstream: str, **options: Any) -> Iterator[tuple[str, dict[str, int]]]:
    from llmpick.testing import FAULTS

    app = create_fault_proxy_app(FaultConfig(upstream=upstream.removesuffix("/v1"), **options))
    with ServerThread(app) as server:
        yield server.url + "/v1", app[FAULTS]


@contextmanager
def gateway(yaml_text: str, db: Path) -> Iterator[str]:
    """The gateway for this config, serving on a free loopback port; yields its URL."""
    config = parse_gateway_config(yaml_text, "gateway.yaml")
    with ServerThread(create_gateway_app(config, db)) as server:
        yield server.url


def spawn_gateway(config: Path, db: Path) -> tuple[subprocess.Popen[bytes], str]:
    """`llmpick gateway` for this config file in its own process; returns before it serves."""
    port = free_port()
    argv = [sys.executable, "-c", "from llmpick.cli import main; main()", "gateway"]
    argv += ["--config", str(config), "--port", str(port), "--db", str(db)]
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return process, f"http://127.0.0.1:{port}"


def wait_until_serving(process: subprocess.Popen[bytes], url: str) -> None:
    """Return once `/health` answers; raise with the process's stderr when it stops first."""
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(url + "/health", timeout=1) as answer:
                answer.read()
            return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(process.communicate()[1].decode()) from None
            time.sleep(0.1)


def start_gateway(config: Path, db: Path) -> tuple[subprocess.Popen[bytes], str]:
    """`llmpick gateway` in its own process, serving; returns the process and its URL."""
    process, url = spawn_gateway(config, db)
    wait_until_serving(process, url)
    return process, url


def backends_yaml(**urls: str) -> str:
    """`backends:` entries, one per name=url, all external OpenAI-compatible."""
    lines = ["backends:"]
    for name, url in urls.items():
        lines += [f"  - name: {name}", f'    endpoint: {{base_url: "{url}", model: test-model}}']
    return "\n".join(lines) + "\n"


async def chat(
    url: str,
    content: str = "Hello",
    *,
    model: str = "chat",
    stream: bool = False,
    usage: bool = False,
    key: str | None = None,
    session: aiohttp.ClientSession | None = None,
    **extra: Any,
) -> tuple[int, Any]:
    """POST a chat completion; returns (status, JSON body) or (status, list of SSE payloads)."""
    body: dict[str, Any] = {"model": model, "messages": [{"role": "user", "content": content}]}
    if stream:
        body["stream"] = True
        if usage:
            body["stream_options"] = {"include_usage": True}
    body.update(extra)
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    own = session is None
    session = session or aiohttp.ClientSession()
    try:
        async with session.post(url + "/v1/chat/completions", json=body, headers=headers) as r:
            raw = await r.text()
            if not stream or r.status != 200:
                return r.status, json.loads(raw)
            events = [line[6:] for line in raw.split("\n") if line.startswith("data: ")]
            return r.status, [e if e == "[DONE]" else json.loads(e) for e in events]
    finally:
        if own:
            await session.close()


def keyed(url: str, budget_a: str = "", extra: str = "") -> str:
    """One priced backend (input $1, output $2 per token), route `chat`, keys team-a (with
    `budget_a`, a YAML flow mapping) and team-b."""
    budget = f"      budget: {budget_a}\n" if budget_a else ""
    return (
        backends_yaml(primary=url).rstrip("\n")
        + "\n    price: {input_usd_per_mtok: 1000000, output_usd_per_mtok: 2000000}\n"
        + "routes:\n  - {model: chat, primary: primary}\n"
        + "auth:\n  keys:\n"
        + f"    - name: team-a\n      sha256: {hash_key(KEY_A)}\n{budget}"
        + f"    - name: team-b\n      sha256: {hash_key(KEY_B)}\n"
        + extra
    )


def stream_text(events: list[Any]) -> str:
    return "".join(
        (e["choices"][0].get("delta") or {}).get("content") or ""
        for e in events
        if isinstance(e, dict) and e.get("choices")
    )


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "store.sqlite"


def run(coro: Any) -> Any:
    return asyncio.run(coro)
