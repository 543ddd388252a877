"""Anthropic's Messages API (`POST /v1/messages`), streamed as server-sent events.

Event order (Anthropic's streaming reference): message_start (input usage), content_block_start,
ping, content_block_delta (text_delta) ..., content_block_stop, message_delta (stop_reason and
cumulative output usage), message_stop. An `error` event may arrive mid-stream (e.g. overloaded).
Source: https://docs.anthropic.com/en/api/messages-streaming
"""

from __future__ import annotations

import json
import time
from typing import Any, Literal

import aiohttp
from pydantic import Field

from llmpick.providers._base import TextCallback
from llmpick.providers._errors import (
    ContentFilterError,
    ContextOverflowError,
    ModelNotFoundError,
    ProviderError,
    ServerError,
    StreamError,
)
from llmpick.providers._http import (
    HttpProvider,
    HttpProviderConfig,
    as_messages,
    iter_sse,
    load_event_json,
    split_system,
)
from llmpick.providers._types import FinishReason, GenerateParams, Prompt, Response, Timings, Usage

__all__ = ["AnthropicConfig", "AnthropicProvider"]


class AnthropicConfig(HttpProviderConfig):
    """Anthropic's API, or a server speaking its Messages protocol."""

    kind: Literal["anthropic"] = "anthropic"
    base_url: str = "https://api.anthropic.com"
    api_key_env: str | None = "ANTHROPIC_API_KEY"
    anthropic_version: str = Field("2023-06-01", description="The `anthropic-version` header.")
    default_max_tokens: int = Field(1024, ge=1, description="Sent when params give none.")


_FINISH: dict[str, FinishReason] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}


class AnthropicProvider(HttpProvider):
    """Claude models over the Messages API."""

    kind = "anthropic"
    config_class = AnthropicConfig
    config: AnthropicConfig

    def _headers(self) -> dict[str, str]:
        headers = {"anthropic-version": self.config.anthropic_version}
        if self.config.api_key_env:
            headers["x-api-key"] = self.api_key()
        return headers

    def _body(self, prompt: Prompt, params: GenerateParams) -> dict[str, Any]:
        system, turns = split_system(as_messages(prompt))
        body: dict[str, Any] = {
            "model": self.model,
            "max_tokens": params.max_tokens or self.config.default_max_tokens,
            "messages": [{"role": m.role, "content": m.content} for m in turns],
            "temperature": params.temperature,
        }
        if system:
            body["system"] = system
        if params.top_p is not None:
            body["top_p"] = params.top_p
        if params.stop:
            body["stop_sequences"] = list(params.stop)
        if params.stream:
            body["stream"] = True
        body.update(params.extra)
        return body

    async def _generate_once(
        self, prompt: Prompt, params: GenerateParams, emit: TextCallback | None
    ) -> Response:
        timings = Timings(request_sent=time.perf_counter())
        pieces: list[str] = []
        state: dict[str, Any] = {"stop": None, "in": 0, "out": 0, "cached": None}
        state["model"] = self.model
        url = self.base_url + "/v1/messages"
        try:
            async with self.post(url, self._body(prompt, params), self._headers(), timings) as resp:
                with self.map_transport_errors(lambda: "".join(pieces)):
                    if params.stream:
                        await self._read_stream(resp, timings, pieces, state, emit)
                    else:
                        await self._read_whole(resp, timings, pieces, state, emit)
        except ModelNotFoundError as exc:
            raise self.error(
                ModelNotFoundError,
                f"model {self.model!r} not found (HTTP {exc.status})",
                status=exc.status,
                available=await self.available_models(),
            ) from None
        timings.completed = time.perf_counter()
        text = "".join(pieces)
        finish = _FINISH.get(state["stop"], "other")
        if finish == "content_filter":
            raise self.error(
                ContentFilterError, "the model refused (stop_reason: refusal)", partial_text=text
            )
        return Response(
            text=text,
            finish_reason=finish,
            usage=Usage(state["in"], state["out"], "server", cached_input_tokens=state["cached"]),
            timings=timings,
            model=state["model"],
            provider=self.kind,
            raw_finish_reason=state["stop"],
        )

    def _take_usage(self, usage: dict[str, Any] | None, state: dict[str, Any]) -> None:
        if not usage:
            return
        if usage.get("input_tokens") is not None:
            # With prompt caching, input_tokens excludes the cached part.
            cached = (usage.get("cache_read_input_tokens") or 0) + (
                usage.get("cache_creation_input_tokens") or 0
            )
            state["in"] = int(usage["input_tokens"]) + cached
            state["cached"] = usage.get("cache_read_input_tokens")
        if usage.get("output_tokens") is not None:
            state["out"] = int(usage["output_tokens"])

    async def _read_stream(
        self,
        resp: aiohttp.ClientResponse,
        timings: Timings,
        pieces: list[str],
        state: dict[str, Any],
        emit: TextCallback | None,
    ) -> None:
        stopped = False
        async for event, data in iter_sse(resp):
            payload = load_event_json(data, pieces, self)
            kind = payload.get("type", event)
            if kind == "content_block_delta":
                delta = payload.get("delta") or {}
                text = delta.get("text") or "" if delta.get("type") == "text_delta" else ""
                if text:
                    timings.mark_content(time.perf_counter())
                    pieces.append(text)
                    if emit is not None:
                        emit(text)
            elif kind == "message_start":
                message = payload.get("message") or {}
                state["model"] = message.get("model") or state["model"]
                self._take_usage(message.get("usage"), state)
            elif kind == "message_delta":
                state["stop"] = (payload.get("delta") or {}).get("stop_reason") or state["stop"]
                self._take_usage(payload.get("usage"), state)
            elif kind == "message_stop":
                stopped = True
                break
            elif kind == "error":
                raise self._stream_error(payload.get("error") or {}, "".join(pieces))
        if not stopped:
            raise self.error(
                StreamError,
                "stream cut off mid-way (no message_stop)",
                partial_text="".join(pieces),
            )

    def _stream_error(self, error: dict[str, Any], partial: str) -> ProviderError:
        kind, message = error.get("type", "error"), error.get("message", "")
        detail = f"error event in the stream: {kind}: {message}"
        if kind in ("overloaded_error", "api_error") and not partial:
            return self.error(ServerError, detail)
        if "prompt is too long" in str(message):
            return self.error(ContextOverflowError, detail)
        return self.error(StreamError, detail, partial_text=partial)

    async def _read_whole(
        self,
        resp: aiohttp.ClientResponse,
        timings: Timings,
        pieces: list[str],
        state: dict[str, Any],
        emit: TextCallback | None,
    ) -> None:
        raw = await resp.read()
        try:
            payload = json.loads(raw)
            blocks = payload["content"]
        except (ValueError, KeyError, TypeError):
            raise self.error(StreamError, f"malformed response body: {raw[:120]!r}") from None
        text = "".join(b.get("text", "") for b in blocks if b.get("type") == "text")
        if text:
            timings.mark_content(time.perf_counter())
            pieces.append(text)
            if emit is not None:
                emit(text)
        state["stop"] = payload.get("stop_reason")
        state["model"] = payload.get("model") or self.model
        self._take_usage(payload.get("usage"), state)

    async def list_models(self) -> list[str]:
        """Ids from `GET /v1/models`."""
        async with self.session().get(
            self.base_url + "/v1/models",
            headers={**self.config.headers, **self._headers()},
            timeout=aiohttp.ClientTimeout(total=10),
        ) as resp:
            if resp.status >= 400:
                raise await self.status_error(resp)
            payload = await resp.json(content_type=None)
        return sorted(str(m.get("id")) for m in payload.get("data", []) if isinstance(m, dict))
