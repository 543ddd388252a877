"""Anthropic's Messages protocol (`POST /v1/messages`), streamed as server-sent events.

Event order (Anthropic's streaming reference): message_start (input usage), content_block_start,
ping, content_block_delta (text_delta) ..., content_block_stop, message_delta (stop_reason and
cumulative output usage), message_stop. An `error` event may arrive mid-stream (e.g. overloaded).
Source: https://docs.anthropic.com/en/api/messages-streaming
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from llmpick.providers import _errors as errors
from llmpick.providers._types import FinishReason, GenerateParams, Prompt, Usage
from llmpick.providers.wire._common import (
    Completion,
    Redact,
    StreamState,
    WireFormat,
    WireRequest,
    as_messages,
    excerpt,
    load_json_object,
    model_ids,
    no_redact,
    split_system,
)

__all__ = [
    "DEFAULT_VERSION",
    "FINISH_REASONS",
    "WIRE",
    "AnthropicStream",
    "auth_headers",
    "build_request",
    "parse_body",
    "parse_models",
]

DEFAULT_VERSION = "2023-06-01"

FINISH_REASONS: dict[str, FinishReason] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}


def build_request(
    model: str,
    prompt: Prompt,
    params: GenerateParams,
    *,
    anthropic_version: str = DEFAULT_VERSION,
    default_max_tokens: int = 1024,
) -> WireRequest:
    """The Messages request for `prompt` (system messages go to `system`; a raw prompt becomes
    one user turn). Anthropic requires `max_tokens`: `default_max_tokens` when params give none."""
    system, turns = split_system(as_messages(prompt))
    body: dict[str, Any] = {
        "model": model,
        "max_tokens": params.max_tokens or default_max_tokens,
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
    return WireRequest(
        "/v1/messages", body, params.stream, {"anthropic-version": anthropic_version}
    )


def auth_headers(key: str) -> dict[str, str]:
    """The header that carries the key."""
    return {"x-api-key": key}


class _Usage:
    """Token counts gathered from message_start and message_delta."""

    __slots__ = ("cached", "input", "output", "seen")

    def __init__(self) -> None:
        self.input = self.output = 0
        self.cached: int | None = None
        self.seen = False

    def take(self, usage: Mapping[str, Any] | None) -> None:
        if not usage:
            return
        if usage.get("input_tokens") is not None:
            # With prompt caching, input_tokens excludes the cached part.
            cache_read = usage.get("cache_read_input_tokens")
            written = usage.get("cache_creation_input_tokens") or 0
            self.input = int(usage["input_tokens"]) + (cache_read or 0) + written
            self.cached = cache_read
            self.seen = True
        if usage.get("output_tokens") is not None:
            self.output = int(usage["output_tokens"])
            self.seen = True

    def result(self) -> Usage | None:
        if not self.seen:
            return None
        return Usage(self.input, self.output, "server", cached_input_tokens=self.cached)


def _finish(stop: str | None) -> FinishReason:
    return FINISH_REASONS.get(stop, "other") if stop else "other"


class AnthropicStream(StreamState):
    """A streamed Messages answer, complete at `message_stop`."""

    __slots__ = ("_stop", "_usage")

    def __init__(self, redact: Redact = no_redact) -> None:
        super().__init__(redact)
        self._stop: str | None = None
        self._usage = _Usage()

    def feed(self, event: str, data: str) -> str:
        payload = self._load(data)
        kind = payload.get("type", event)
        if kind == "content_block_delta":
            delta = payload.get("delta") or {}
            text = (delta.get("text") or "") if delta.get("type") == "text_delta" else ""
            if text:
                self.pieces.append(text)
            return text
        if kind == "message_start":
            message = payload.get("message") or {}
            self.model = message.get("model") or self.model
            self._usage.take(message.get("usage"))
        elif kind == "message_delta":
            self._stop = (payload.get("delta") or {}).get("stop_reason") or self._stop
            self._usage.take(payload.get("usage"))
        elif kind == "message_stop":
            self.complete = True
        elif kind == "error":
            raise self._error(payload.get("error") or {})
        return ""

    def _error(self, error: Mapping[str, Any]) -> errors.ProviderError:
        kind, message = error.get("type", "error"), str(error.get("message", ""))
        detail = f"error event in the stream: {kind}: {excerpt(message, self._redact)}"
        partial = self.text
        if kind in ("overloaded_error", "api_error") and not partial:
            return errors.ServerError(detail)
        if "prompt is too long" in message:
            return errors.ContextOverflowError(detail)
        return errors.StreamError(detail, partial_text=partial)

    def finish(self) -> Completion:
        if not self.complete:
            raise self._cut_off("message_stop")
        return Completion(
            self.text, _finish(self._stop), self._stop, self._usage.result(), self.model
        )


def parse_body(raw: bytes, redact: Redact = no_redact) -> Completion:
    """A whole (non-streamed) Messages answer."""
    payload = load_json_object(raw, redact)
    blocks = payload.get("content")
    if not isinstance(blocks, list):
        raise errors.UnexpectedResponseError(
            f"the answer has no content blocks: {excerpt(raw, redact, 120)!r}"
        )
    text = "".join(
        str(b.get("text", "")) for b in blocks if isinstance(b, dict) and b.get("type") == "text"
    )
    usage = _Usage()
    usage.take(payload.get("usage"))
    stop = payload.get("stop_reason")
    return Completion(text, _finish(stop), stop, usage.result(), payload.get("model"))


# Model ids from `GET /v1/models`, sorted.
parse_models = model_ids


# What the generic HTTP connection runs.
WIRE = WireFormat(
    "anthropic",
    build_request,
    auth_headers,
    AnthropicStream,
    parse_body,
    "/v1/models",
    parse_models,
)
