"""Google's Gemini protocol: `models/{model}:generateContent` and
`:streamGenerateContent?alt=sse`.

Each SSE event is a whole GenerateContentResponse; there is no end marker, so a stream is
complete only when a candidate carries a `finishReason`. Usage is in `usageMetadata`
(promptTokenCount, candidatesTokenCount, thoughtsTokenCount, cachedContentTokenCount).
The key travels in the `x-goog-api-key` header, never in the URL (URLs end up in logs).
Source: https://ai.google.dev/api/generate-content
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from llmpick.providers._types import FinishReason, GenerateParams, Prompt, Usage
from llmpick.providers.wire import _common as common

__all__ = [
    "FINISH_REASONS",
    "WIRE",
    "GeminiStream",
    "auth_headers",
    "build_request",
    "parse_body",
    "parse_models",
]

FINISH_REASONS: dict[str, FinishReason] = {
    "STOP": "stop",
    "MAX_TOKENS": "length",
    "SAFETY": "content_filter",
    "RECITATION": "content_filter",
    "BLOCKLIST": "content_filter",
    "PROHIBITED_CONTENT": "content_filter",
    "SPII": "content_filter",
}


def build_request(model: str, prompt: Prompt, params: GenerateParams) -> common.WireRequest:
    """The generateContent (or, streaming, streamGenerateContent) request for `prompt`."""
    system, turns = common.split_system(common.as_messages(prompt))
    generation: dict[str, Any] = {"temperature": params.temperature}
    if params.max_tokens is not None:
        generation["maxOutputTokens"] = params.max_tokens
    if params.top_p is not None:
        generation["topP"] = params.top_p
    if params.stop:
        generation["stopSequences"] = list(params.stop)
    if params.seed is not None:
        generation["seed"] = params.seed
    body: dict[str, Any] = {
        "contents": [
            {"role": "model" if m.role == "assistant" else "user", "parts": [{"text": m.content}]}
            for m in turns
        ],
        "generationConfig": generation,
    }
    if system:
        body["systemInstruction"] = {"parts": [{"text": system}]}
    body.update(params.extra)
    name = model if model.startswith("models/") else f"models/{model}"
    if params.stream:
        return common.WireRequest(
            f"/{name}:streamGenerateContent", body, True, query=(("alt", "sse"),)
        )
    return common.WireRequest(f"/{name}:generateContent", body, False)


def auth_headers(key: str) -> dict[str, str]:
    """The header that carries the key."""
    return {"x-goog-api-key": key}


class GeminiStream(common.StreamState):
    """A streamed answer: each event a whole GenerateContentResponse; the first candidate's
    text parts (thoughts left out) are the answer."""

    __slots__ = ("_block", "_finish", "_usage")

    def __init__(self, redact: common.Redact = common.no_redact) -> None:
        super().__init__(redact)
        self._finish: str | None = None
        self._block: str | None = None
        self._usage: Mapping[str, Any] | None = None

    def feed(self, event: str, data: str) -> str:
        return self.take(self._load(data))

    def take(self, payload: Mapping[str, Any]) -> str:
        """Take one GenerateContentResponse (an event, or a whole non-streamed answer)."""
        feedback = payload.get("promptFeedback") or {}
        if feedback.get("blockReason"):
            self._block = feedback["blockReason"]
        text = ""
        for candidate in (payload.get("candidates") or [])[:1]:
            parts = (candidate.get("content") or {}).get("parts") or []
            text = "".join(p.get("text", "") for p in parts if not p.get("thought"))
            if text:
                self.pieces.append(text)
            if candidate.get("finishReason"):
                self._finish = candidate["finishReason"]
        if payload.get("usageMetadata"):
            self._usage = payload["usageMetadata"]
        if payload.get("modelVersion"):
            self.model = payload["modelVersion"]
        return text

    def finish(self) -> common.Completion:
        if self._block:
            return common.Completion(self.text, "content_filter", f"prompt blocked: {self._block}")
        if self._finish is None:
            raise self._cut_off("finishReason")
        usage = None
        if self._usage:
            meta = self._usage
            usage = Usage(
                input_tokens=int(meta.get("promptTokenCount") or 0),
                # Thinking tokens are billed as output.
                output_tokens=int(meta.get("candidatesTokenCount") or 0)
                + int(meta.get("thoughtsTokenCount") or 0),
                source="server",
                cached_input_tokens=meta.get("cachedContentTokenCount"),
            )
        finish = FINISH_REASONS.get(self._finish, "other")
        return common.Completion(self.text, finish, self._finish, usage, self.model)


def parse_body(raw: bytes, redact: common.Redact = common.no_redact) -> common.Completion:
    """A whole (non-streamed) GenerateContentResponse."""
    state = GeminiStream(redact)
    state.take(common.load_json_object(raw, redact))
    return state.finish()


def parse_models(payload: Mapping[str, Any]) -> list[str]:
    """Model names (without the `models/` prefix) from `GET /models`, sorted."""
    names = (str(m.get("name", "")) for m in payload.get("models", []) if isinstance(m, dict))
    return sorted(n.removeprefix("models/") for n in names if n)


# What the generic HTTP connection runs.
WIRE = common.WireFormat(
    "gemini", build_request, auth_headers, GeminiStream, parse_body, "/models", parse_models
)
