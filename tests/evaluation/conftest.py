"""A scripted OpenAI-compatible server on 127.0.0.1 whose answers the test decides, counting
requests per prompt (the mock server answers with filler tokens, which cannot test quality)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from llmpick.testing import ServerThread

QUEUES = ["billing", "technical", "account", "shipping", "other"]


def last_user_text(body: dict[str, Any]) -> str:
    if "messages" in body:
        return str(body["messages"][-1]["content"])
    return str(body.get("prompt", "")).rsplit("\n\n", 1)[-1]


@dataclass
class ScriptedServer:
    url: str
    answer: Callable[[dict[str, Any]], str]
    requests: Counter[str] = field(default_factory=Counter)
    status: int = 200

    @property
    def base_url(self) -> str:
        return self.url + "/v1"

    @property
    def total(self) -> int:
        return sum(self.requests.values())


def _app(server: ScriptedServer) -> web.Application:
    async def handle(request: web.Request) -> web.StreamResponse:
        body = await request.json()
        server.requests[last_user_text(body)] += 1
        if server.status != 200:
            return web.json_response({"error": {"message": "nope"}}, status=server.status)
        text = server.answer(body)
        usage = {"prompt_tokens": 100, "completion_tokens": 2, "total_tokens": 102}
        chat = request.path.endswith("/chat/completions")
        if not body.get("stream"):
            choice = {"index": 0, "finish_reason": "stop"}
            choice.update({"message": {"content": text}} if chat else {"text": text})
            return web.json_response({"choices": [choice], "usage": usage})
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        piece = {"delta": {"content": text}} if chat else {"text": text}
        for payload in (
            {"choices": [{"index": 0, **piece, "finish_reason": None}]},
            {"choices": [{"index": 0, "delta": {}, "text": "", "finish_reason": "stop"}]},
            {"choices": [], "usage": usage},
        ):
            await resp.write(b"data: " + json.dumps(payload).encode() + b"\n\n")
        await resp.write(b"data: [DONE]\n\n")
        return resp

    app = web.Application()
    app.router.add_post("/v1/chat/completions", handle)
    app.router.add_post("/v1/completions", handle)
    return app


def oracle(body: dict[str, Any]) -> str:
    """Answers the ticket's queue when the prompt names it, else 'other'."""
    text = last_user_text(body).lower()
    for queue in QUEUES:
        if queue in text:
            return f"{queue.capitalize()}."
    return "other"


@pytest.fixture
def scripted_server() -> Iterator[ScriptedServer]:
    server = ScriptedServer(url="", answer=oracle)
    with ServerThread(_app(server)) as thread:
        server.url = thread.url
        yield server


def write_tickets(folder: Path, n: int = 20) -> Path:
    path = folder / "tickets.jsonl"
    with path.open("w") as handle:
        for i in range(n):
            queue = QUEUES[i % 5]
            # Every third ticket names its queue, so the oracle gets those right.
            text = f"ticket {i} about {queue}" if i % 3 == 0 else f"ticket {i}"
            handle.write(json.dumps({"id": f"t{i}", "ticket": text, "queue": queue}) + "\n")
    return path


def write_spec(folder: Path, candidates: str, extra_scorers: str = "", n: int = 20) -> Path:
    write_tickets(folder, n)
    spec = folder / "llmpick.yaml"
    spec.write_text(
        f"""version: 1
name: test-run
candidates:
{candidates}
dataset:
  path: tickets.jsonl
  id_field: id
  input_field: ticket
  expected_field: queue
  category_field: queue
  template: "Ticket: {{{{ ticket }}}}"
  max_output_tokens: 8
scoring:
  scorers:
    - {{type: choice, name: accuracy, choices: [billing, technical, account, shipping, other]}}
{extra_scorers}  primary: accuracy
"""
    )
    return spec
