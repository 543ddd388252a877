"""An OpenAI-compatible server with exact, configurable timing, for tests and load tests.

Answers `/v1/chat/completions` and `/v1/completions` (streamed or not) with a fixed number of
fake tokens: the first after `ttft_ms`, then one every `itl_ms` (scheduled on absolute deadlines,
so delays do not drift). Usage is reported in streams when `stream_options.include_usage` is set.
A share of requests (`error_rate`) fails with `error_status`.

For load tests it can behave like a batching server with finite capacity: each inter-token gap
grows by `itl_ms_per_active` for every other sequence being generated at that moment, and at
most `slots` sequences are generated at once (later requests queue, so their TTFT grows).

Every completion request is logged with the server's own clock (`app[REQUEST_LOG]`, or over HTTP
`GET /mock/requests`; `DELETE` clears it), so a load generator's numbers can be checked against
what the server actually served: `served_rate(log)` is completions / the server's own time span.

Run it:  python -m llmpick.testing.mock_server --port 8000 --ttft-ms 50 --itl-ms 10 --tokens 64
         (add --itl-ms-per-active 2 --slots 16 for a server that slows down under load)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from llmpick.testing._tokens_text import fake_prompt_tokens, fake_token

__all__ = [
    "REQUEST_LOG",
    "STATS",
    "MockServerConfig",
    "ServedRequest",
    "create_mock_app",
    "main",
    "served_rate",
]

# Request counts of a running mock: `app[STATS]["requests"]`, `app[STATS]["errors"]`.
STATS = web.AppKey("stats", dict)


@dataclass(frozen=True)
class ServedRequest:
    """One completion request as the server saw it, on its own `time.perf_counter()` clock."""

    received_s: float
    finished_s: float
    status: int


# Every completion request a running mock answered, in order of completion.
REQUEST_LOG = web.AppKey("request_log", list)


def served_rate(log: list[ServedRequest]) -> tuple[int, float, float]:
    """(successful completions, the server's span from first arrival to last answer in seconds,
    completions per second over that span): the server's own count, to check a client's by."""
    ok = [r for r in log if r.status < 400]
    if not ok:
        return 0, 0.0, 0.0
    span = max(r.finished_s for r in ok) - min(r.received_s for r in ok)
    return len(ok), span, (len(ok) / span if span > 0 else 0.0)


@dataclass
class MockServerConfig:
    """How the mock behaves. `models` empty: any model name is accepted."""

    ttft_ms: float = 0.0
    itl_ms: float = 0.0
    tokens: int = 16
    models: list[str] = field(default_factory=list)
    api_key: str | None = None
    error_rate: float = 0.0
    error_status: int = 500
    retry_after_s: float | None = None
    context_window: int = 8192
    seed: int = 0
    # The event loop wakes up to 1 ms late (epoll counts whole milliseconds); spinning through
    # the last millisecond before each token keeps delays exact at some CPU cost. Turn it off
    # for heavy load tests.
    precise: bool = True
    # A batching server's load: every other active sequence adds this much to each token gap.
    itl_ms_per_active: float = 0.0
    # Most sequences generated at once (None: unlimited); the rest wait for a free slot.
    slots: int | None = None
    # Say so as llama.cpp's server does: `GET /props` answers `total_slots`.
    advertise_slots: bool = False


def _error(status: int, message: str, kind: str, code: str | None = None) -> web.Response:
    body = {"error": {"message": message, "type": kind, "param": None, "code": code}}
    return web.json_response(body, status=status)


def create_mock_app(config: MockServerConfig | None = None) -> web.Application:
    """The aiohttp application; `app[STATS]` counts requests by outcome."""
    cfg = config or MockServerConfig()
    rng = random.Random(cfg.seed)
    app = web.Application()
    stats: dict[str, int] = {"requests": 0, "errors": 0, "active": 0, "peak_active": 0}
    app[STATS] = stats
    request_log: list[ServedRequest] = []
    app[REQUEST_LOG] = request_log
    slots = asyncio.Semaphore(cfg.slots) if cfg.slots else None

    def gap_s() -> float:
        """The next inter-token gap, given how many sequences are being generated now."""
        return (cfg.itl_ms + cfg.itl_ms_per_active * max(0, stats["active"] - 1)) / 1000

    def check(request: web.Request, body: dict[str, Any]) -> web.Response | None:
        authorization = request.headers.get("Authorization")
        if cfg.api_key is not None and authorization != f"Bearer {cfg.api_key}":
            return _error(
                401, "Incorrect API key provided.", "invalid_request_error", "invalid_api_key"
            )
        model = body.get("model")
        if cfg.models and model not in cfg.models:
            return _error(
                404,
                f"The model `{model}` does not exist.",
                "invalid_request_error",
                "model_not_found",
            )
        if cfg.error_rate and rng.random() < cfg.error_rate:
            stats["errors"] += 1
            headers = {}
            if cfg.retry_after_s is not None:
                headers["Retry-After"] = f"{cfg.retry_after_s:g}"
            kind = "rate_limit_error" if cfg.error_status == 429 else "server_error"
            resp = _error(cfg.error_status, "injected error", kind)
            resp.headers.update(headers)
            return resp
        return None

    async def models(request: web.Request) -> web.Response:
        names = cfg.models or ["mock-model"]
        data = [{"id": n, "object": "model", "created": 0, "owned_by": "llmpick"} for n in names]
        return web.json_response({"object": "list", "data": data})

    async def pause_until(deadline: float) -> None:
        coarse = deadline - (0.0012 if cfg.precise else 0.0) - time.perf_counter()
        if coarse > 0:
            await asyncio.sleep(coarse)
        while cfg.precise and time.perf_counter() < deadline:
            await asyncio.sleep(0)

    async def complete(request: web.Request, chat: bool) -> web.StreamResponse:
        received = time.perf_counter()
        status = 599  # a handler cut short (client gone) counts as not served
        try:
            response = await answer(request, chat, received)
            status = response.status
            return response
        finally:
            request_log.append(ServedRequest(received, time.perf_counter(), status))

    async def answer(request: web.Request, chat: bool, start: float) -> web.StreamResponse:
        # the configured delays count from the request's arrival (`start`)
        stats["requests"] += 1
        try:
            body = await request.json()
        except json.JSONDecodeError:
            return _error(400, "request body is not JSON", "invalid_request_error")
        refusal = check(request, body)
        if refusal is not None:
            return refusal
        if chat:
            prompt = "\n".join(str(m.get("content", "")) for m in body.get("messages", []))
        else:
            prompt = str(body.get("prompt", ""))
        n_prompt = fake_prompt_tokens(prompt)
        limit = body.get("max_tokens") or body.get("max_completion_tokens") or cfg.tokens
        n_out = min(cfg.tokens, int(limit))
        if n_prompt + n_out > cfg.context_window:
            return _error(
                400,
                f"This model's maximum context length is {cfg.context_window} tokens. However, "
                f"you requested {n_prompt + n_out} tokens.",
                "invalid_request_error",
                "context_length_exceeded",
            )
        if slots is not None:
            await slots.acquire()
            start = time.perf_counter()  # queued requests start when a slot frees up
        stats["active"] += 1
        stats["peak_active"] = max(stats["peak_active"], stats["active"])
        try:
            return await generate(request, body, chat, start, n_prompt, n_out)
        finally:
            stats["active"] -= 1
            if slots is not None:
                slots.release()

    async def generate(
        request: web.Request,
        body: dict[str, Any],
        chat: bool,
        start: float,
        n_prompt: int,
        n_out: int,
    ) -> web.StreamResponse:
        finish = "length" if n_out < cfg.tokens else "stop"
        model = body.get("model") or "mock-model"
        ident = f"cmpl-{stats['requests']}"
        usage = {
            "prompt_tokens": n_prompt,
            "completion_tokens": n_out,
            "total_tokens": n_prompt + n_out,
        }
        if not body.get("stream"):
            await pause_until(start + cfg.ttft_ms / 1000 + gap_s() * max(0, n_out - 1))
            text = "".join(fake_token(i) for i in range(n_out))
            choice: dict[str, Any] = {"index": 0, "finish_reason": finish}
            if chat:
                choice["message"] = {"role": "assistant", "content": text}
            else:
                choice["text"] = text
            obj = "chat.completion" if chat else "text_completion"
            return web.json_response(
                {
                    "id": ident,
                    "object": obj,
                    "created": int(time.time()),
                    "model": model,
                    "choices": [choice],
                    "usage": usage,
                }
            )

        resp = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        await resp.prepare(request)
        obj = "chat.completion.chunk" if chat else "text_completion"

        def chunk(text: str | None, finish_reason: str | None) -> bytes:
            if chat:
                delta = {} if text is None else {"content": text}
                choice = {"index": 0, "delta": delta, "finish_reason": finish_reason}
            else:
                choice = {"index": 0, "text": text or "", "finish_reason": finish_reason}
            payload = {
                "id": ident,
                "object": obj,
                "created": 0,
                "model": model,
                "choices": [choice],
            }
            return b"data: " + json.dumps(payload).encode() + b"\n\n"

        try:
            if chat:  # the role-only first chunk real servers send (empty: not the first token)
                first = {
                    "id": ident,
                    "object": obj,
                    "created": 0,
                    "model": model,
                    "choices": [
                        {
                            "index": 0,
                            "delta": {"role": "assistant", "content": ""},
                            "finish_reason": None,
                        }
                    ],
                }
                await resp.write(b"data: " + json.dumps(first).encode() + b"\n\n")
            deadline = start + cfg.ttft_ms / 1000
            for i in range(n_out):
                if i:
                    deadline += gap_s()  # absolute deadlines: delays do not drift
                await pause_until(deadline)
                await resp.write(chunk(fake_token(i), None))
            await resp.write(chunk(None, finish))
            if (body.get("stream_options") or {}).get("include_usage"):
                tail: dict[str, Any] = {
                    "id": ident,
                    "object": obj,
                    "created": 0,
                    "model": model,
                    "choices": [],
                    "usage": usage,
                }
                await resp.write(b"data: " + json.dumps(tail).encode() + b"\n\n")
            await resp.write(b"data: [DONE]\n\n")
            await resp.write_eof()
        except ConnectionResetError:  # the client went away (or a proxy cut the stream)
            pass
        return resp

    async def chat_completions(request: web.Request) -> web.StreamResponse:
        return await complete(request, chat=True)

    async def completions(request: web.Request) -> web.StreamResponse:
        return await complete(request, chat=False)

    async def health(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def requests_seen(request: web.Request) -> web.Response:
        count, span, rate = served_rate(request_log)
        rows = [[r.received_s, r.finished_s, r.status] for r in request_log]
        body = {"served": count, "span_s": span, "rate": rate, "requests": rows}
        return web.json_response(body)

    async def clear_requests(request: web.Request) -> web.Response:
        request_log.clear()
        return web.json_response({"cleared": True})

    app.router.add_get("/v1/models", models)
    app.router.add_post("/v1/chat/completions", chat_completions)
    app.router.add_post("/v1/completions", completions)
    app.router.add_get("/health", health)
    app.router.add_get("/mock/requests", requests_seen)
    if cfg.advertise_slots and cfg.slots:

        async def props(request: web.Request) -> web.Response:
            return web.json_response({"total_slots": cfg.slots})

        app.router.add_get("/props", props)
    app.router.add_delete("/mock/requests", clear_requests)
    return app


def main(argv: list[str] | None = None) -> None:
    """Serve the mock until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1", help="Address to listen on.")
    parser.add_argument("--port", type=int, default=8000, help="Port to listen on.")
    parser.add_argument("--ttft-ms", type=float, default=0.0, help="Delay before the 1st token.")
    parser.add_argument("--itl-ms", type=float, default=0.0, help="Delay between tokens.")
    parser.add_argument("--tokens", type=int, default=16, help="Tokens per answer.")
    parser.add_argument("--models", default="", help="Comma-separated names (empty: any).")
    parser.add_argument("--api-key-env", default=None, help="Env var with a key to require.")
    parser.add_argument("--error-rate", type=float, default=0.0, help="Share of failed requests.")
    parser.add_argument("--error-status", type=int, default=500, help="Status of those failures.")
    parser.add_argument("--retry-after-s", type=float, default=None, help="Retry-After to send.")
    parser.add_argument("--seed", type=int, default=0, help="Seed for error injection.")
    parser.add_argument(
        "--coarse", action="store_true", help="Skip the CPU-costly sub-millisecond timing."
    )
    parser.add_argument(
        "--itl-ms-per-active", type=float, default=0.0, help="Gap added per other sequence."
    )
    parser.add_argument("--slots", type=int, default=None, help="Most sequences at once.")
    args = parser.parse_args(argv)
    import os

    config = MockServerConfig(
        ttft_ms=args.ttft_ms,
        itl_ms=args.itl_ms,
        tokens=args.tokens,
        models=[m for m in args.models.split(",") if m],
        api_key=os.environ.get(args.api_key_env) if args.api_key_env else None,
        error_rate=args.error_rate,
        error_status=args.error_status,
        retry_after_s=args.retry_after_s,
        seed=args.seed,
        precise=not args.coarse,
        itl_ms_per_active=args.itl_ms_per_active,
        slots=args.slots,
    )
    web.run_app(
        create_mock_app(config),
        host=args.host,
        port=args.port,
        access_log=None,
        print=lambda *_: print(f"mock server on http://{args.host}:{args.port}/v1"),
    )


if __name__ == "__main__":
    main()
