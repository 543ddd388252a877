"""Local servers that speak Anthropic's Messages API and Google's Gemini API, as their public
references describe them (streaming event order, usage fields, error bodies), so the adapters
are tested unchanged against what the vendors send.

Sources: https://docs.anthropic.com/en/api/messages-streaming ,
https://docs.anthropic.com/en/api/errors , https://ai.google.dev/api/generate-content ,
https://ai.google.dev/gemini-api/docs/troubleshooting
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from llmpick.testing._tokens_text import fake_prompt_tokens, fake_token

__all__ = ["VendorServerConfig", "create_anthropic_app", "create_gemini_app"]


@dataclass
class VendorServerConfig:
    """Behaviour shared by both vendor servers."""

    api_key: str = "test-key"
    models: list[str] = field(default_factory=lambda: ["test-model"])
    tokens: int = 8
    ttft_ms: float = 0.0
    itl_ms: float = 0.0
    context_window: int = 4096
    # A prompt containing this word is refused (content filter paths).
    blocked_word: str = "forbidden"
    # A prompt containing this word gets an error event mid-stream (Anthropic) / a cut stream.
    overload_word: str = "overload"


async def _pace(start: float, cfg: VendorServerConfig, i: int) -> None:
    delay = start + (cfg.ttft_ms + cfg.itl_ms * i) / 1000 - time.perf_counter()
    if delay > 0:
        await asyncio.sleep(delay)


def _sse(event: str | None, payload: dict[str, Any]) -> bytes:
    head = f"event: {event}\n" if event else ""
    return (head + "data: " + json.dumps(payload) + "\n\n").encode()


# Anthropic -----------------------------------------------------------------------------------


def _anthropic_error(status: int, kind: str, message: str) -> web.Response:
    body = {"type": "error", "error": {"type": kind, "message": message}}
    return web.json_response(body, status=status, headers={"request-id": "req_test"})


def create_anthropic_app(config: VendorServerConfig | None = None) -> web.Application:
    """`POST /v1/messages` (streamed or not) and `GET /v1/models`."""
    cfg = config or VendorServerConfig()
    app = web.Application()

    def auth(request: web.Request) -> web.Response | None:
        if request.headers.get("x-api-key") != cfg.api_key:
            return _anthropic_error(401, "authentication_error", "invalid x-api-key")
        if not request.headers.get("anthropic-version"):
            return _anthropic_error(
                400, "invalid_request_error", "anthropic-version header is required"
            )
        return None

    async def models(request: web.Request) -> web.Response:
        refusal = auth(request)
        if refusal is not None:
            return refusal
        data = [
            {"type": "model", "id": m, "display_name": m, "created_at": "2025-01-01T00:00:00Z"}
            for m in cfg.models
        ]
        return web.json_response(
            {"data": data, "has_more": False, "first_id": None, "last_id": None}
        )

    async def messages(request: web.Request) -> web.StreamResponse:
        refusal = auth(request)
        if refusal is not None:
            return refusal
        body = await request.json()
        if body.get("model") not in cfg.models:
            return _anthropic_error(404, "not_found_error", f"model: {body.get('model')}")
        if "max_tokens" not in body:
            return _anthropic_error(400, "invalid_request_error", "max_tokens: Field required")
        prompt = str(body.get("system", "")) + "".join(
            str(m.get("content", "")) for m in body.get("messages", [])
        )
        n_in = fake_prompt_tokens(prompt)
        if n_in > cfg.context_window:
            return _anthropic_error(
                400,
                "invalid_request_error",
                f"prompt is too long: {n_in} tokens > {cfg.context_window} maximum",
            )
        n_out = min(cfg.tokens, int(body["max_tokens"]))
        stop_reason = "max_tokens" if n_out < cfg.tokens else "end_turn"
        if cfg.blocked_word in prompt:
            n_out, stop_reason = 1, "refusal"
        ident = "msg_test"
        usage_start = {
            "input_tokens": n_in,
            "output_tokens": 1,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
        }
        start = time.perf_counter()
        if not body.get("stream"):
            text = "".join(fake_token(i) for i in range(n_out))
            return web.json_response(
                {
                    "id": ident,
                    "type": "message",
                    "role": "assistant",
                    "model": body["model"],
                    "content": [{"type": "text", "text": text}],
                    "stop_reason": stop_reason,
                    "stop_sequence": None,
                    "usage": {
                        "input_tokens": n_in,
                        "output_tokens": n_out,
                        "cache_creation_input_tokens": 0,
                        "cache_read_input_tokens": 0,
                    },
                }
            )
        resp = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        await resp.prepare(request)
        await resp.write(
            _sse(
                "message_start",
                {
                    "type": "message_start",
                    "message": {
                        "id": ident,
                        "type": "message",
                        "role": "assistant",
                        "model": body["model"],
                        "content": [],
                        "stop_reason": None,
                        "stop_sequence": None,
                        "usage": usage_start,
                    },
                },
            )
        )
        await resp.write(
            _sse(
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": 0,
                    "content_block": {"type": "text", "text": ""},
                },
            )
        )
        await resp.write(_sse("ping", {"type": "ping"}))
        for i in range(n_out):
            await _pace(start, cfg, i)
            if cfg.overload_word in prompt and i == n_out // 2:
                await resp.write(
                    _sse(
                        "error",
                        {
                            "type": "error",
                            "error": {"type": "overloaded_error", "message": "Overloaded"},
                        },
                    )
                )
                await resp.write_eof()
                return resp
            await resp.write(
                _sse(
                    "content_block_delta",
                    {
                        "type": "content_block_delta",
                        "index": 0,
                        "delta": {"type": "text_delta", "text": fake_token(i)},
                    },
                )
            )
        await resp.write(_sse("content_block_stop", {"type": "content_block_stop", "index": 0}))
        await resp.write(
            _sse(
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                    "usage": {"output_tokens": n_out},
                },
            )
        )
        await resp.write(_sse("message_stop", {"type": "message_stop"}))
        await resp.write_eof()
        return resp

    app.router.add_get("/v1/models", models)
    app.router.add_post("/v1/messages", messages)
    return app


# Gemini --------------------------------------------------------------------------------------


def _gemini_error(status: int, state: str, message: str, reason: str | None = None) -> web.Response:
    error: dict[str, Any] = {"code": status, "message": message, "status": state}
    if reason:
        error["details"] = [
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": reason,
                "domain": "googleapis.com",
            }
        ]
    return web.json_response({"error": error}, status=status)


def create_gemini_app(config: VendorServerConfig | None = None) -> web.Application:
    """`POST /v1beta/models/{model}:generateContent|streamGenerateContent` and `GET .../models`."""
    cfg = config or VendorServerConfig()
    app = web.Application()

    def auth(request: web.Request) -> web.Response | None:
        key = request.headers.get("x-goog-api-key") or request.query.get("key")
        if key != cfg.api_key:
            # Gemini answers a bad key with 400 INVALID_ARGUMENT, reason API_KEY_INVALID.
            return _gemini_error(
                400,
                "INVALID_ARGUMENT",
                "API key not valid. Please pass a valid API key.",
                "API_KEY_INVALID",
            )
        return None

    async def models(request: web.Request) -> web.Response:
        refusal = auth(request)
        if refusal is not None:
            return refusal
        return web.json_response(
            {
                "models": [
                    {
                        "name": f"models/{m}",
                        "displayName": m,
                        "supportedGenerationMethods": ["generateContent"],
                    }
                    for m in cfg.models
                ]
            }
        )

    async def generate(request: web.Request) -> web.StreamResponse:
        refusal = auth(request)
        if refusal is not None:
            return refusal
        model, _, method = request.match_info["target"].partition(":")
        if method not in ("generateContent", "streamGenerateContent"):
            return _gemini_error(404, "NOT_FOUND", f"method {method} not found")
        if model not in cfg.models:
            return _gemini_error(
                404,
                "NOT_FOUND",
                f"models/{model} is not found for API version v1beta, or is not supported for "
                f"{method}. Call ListModels to see the list of available models.",
            )
        body = await request.json()
        generation = body.get("generationConfig") or {}
        system = "".join(
            p.get("text", "") for p in (body.get("systemInstruction") or {}).get("parts", [])
        )
        prompt = system + "".join(
            p.get("text", "") for c in body.get("contents", []) for p in c.get("parts", [])
        )
        n_in = fake_prompt_tokens(prompt)
        if n_in > cfg.context_window:
            return _gemini_error(
                400,
                "INVALID_ARGUMENT",
                f"The input token count ({n_in}) exceeds the maximum number of tokens allowed "
                f"({cfg.context_window}).",
            )
        limit = int(generation.get("maxOutputTokens") or cfg.tokens)
        n_out = min(cfg.tokens, limit)
        finish = "MAX_TOKENS" if n_out < cfg.tokens else "STOP"
        if cfg.blocked_word in prompt:
            blocked = {
                "promptFeedback": {"blockReason": "SAFETY"},
                "usageMetadata": {"promptTokenCount": n_in, "totalTokenCount": n_in},
                "modelVersion": model,
            }
            if method == "generateContent":
                return web.json_response(blocked)
            resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
            await resp.prepare(request)
            await resp.write(_sse(None, blocked))
            await resp.write_eof()
            return resp

        def usage(out: int) -> dict[str, int]:
            return {
                "promptTokenCount": n_in,
                "candidatesTokenCount": out,
                "totalTokenCount": n_in + out,
            }

        def response(text: str, finish_reason: str | None, out: int) -> dict[str, Any]:
            candidate: dict[str, Any] = {
                "content": {"parts": [{"text": text}], "role": "model"},
                "index": 0,
            }
            if finish_reason:
                candidate["finishReason"] = finish_reason
            return {
                "candidates": [candidate],
                "usageMetadata": usage(out),
                "modelVersion": model,
                "responseId": "resp_test",
            }

        start = time.perf_counter()
        if method == "generateContent":
            return web.json_response(
                response("".join(fake_token(i) for i in range(n_out)), finish, n_out)
            )
        if request.query.get("alt") != "sse":
            return _gemini_error(400, "INVALID_ARGUMENT", "this test server streams only alt=sse")
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        for i in range(n_out):
            await _pace(start, cfg, i)
            last = i == n_out - 1
            if cfg.overload_word in prompt and i == n_out // 2:
                await resp.write_eof()  # ends without a finishReason: a cut stream
                return resp
            await resp.write(_sse(None, response(fake_token(i), finish if last else None, i + 1)))
        await resp.write_eof()
        return resp

    app.router.add_get("/v1beta/models", models)
    app.router.add_post("/v1beta/models/{target}", generate)
    return app
