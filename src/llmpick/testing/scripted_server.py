"""A scripted OpenAI-compatible server on 127.0.0.1 whose answers the test decides, counting
requests per prompt (the mock server answers with filler tokens, which cannot test quality or
safety checks).

    server = ScriptedServer(url="", answer=lambda body: "billing")
    with ServerThread(scripted_app(server)) as thread:
        server.url = thread.url          # then point a candidate at server.base_url
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

__all__ = ["ScriptedServer", "last_user_text", "scripted_app", "system_text"]


def system_text(body: dict[str, Any]) -> str:
    """The system message of a chat request ("" when there is none)."""
    for message in body.get("messages", []):
        if message.get("role") == "system":
            return str(message.get("content", ""))
    return ""


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


def scripted_app(server: ScriptedServer) -> web.Application:
    """The aiohttp app answering /v1/chat/completions and /v1/completions (streamed or not)."""

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
