"""Google's Gemini API: `models/{model}:generateContent` and `:streamGenerateContent?alt=sse`.

Each SSE event is a whole GenerateContentResponse; there is no end marker, so a stream is
complete only when a candidate carries a `finishReason`. Usage is in `usageMetadata`
(promptTokenCount, candidatesTokenCount, thoughtsTokenCount, cachedContentTokenCount).
The key travels in the `x-goog-api-key` header, never in the URL (URLs end up in logs).
Source: https://ai.google.dev/api/generate-content
"""

from __future__ import annotations

import json
import time
from typing import Any, Literal

import aiohttp

from llmpick.providers._base import TextCallback
from llmpick.providers._errors import ContentFilterError, ModelNotFoundError, StreamError
from llmpick.providers._http import (
    HttpProvider,
    HttpProviderConfig,
    as_messages,
    iter_sse,
    load_event_json,
    split_system,
)
from llmpick.providers._types import FinishReason, GenerateParams, Prompt, Response, Timings, Usage

__all__ = ["GeminiConfig", "GeminiProvider"]


class GeminiConfig(HttpProviderConfig):
    """The Gemini API (Google AI Studio), or a server speaking its protocol."""

    kind: Literal["gemini"] = "gemini"
    base_url: str = "https://generativelanguage.googleapis.com/v1beta"
    api_key_env: str | None = "GEMINI_API_KEY"


_FINISH: dict[str, FinishReason] = {
    "STOP": "stop",
    "MAX_TOKENS": "length",
    "SAFETY": "content_filter",
    "RECITATION": "content_filter",
    "BLOCKLIST": "content_filter",
    "PROHIBITED_CONTENT": "content_filter",
    "SPII": "content_filter",
}


class GeminiProvider(HttpProvider):
    """Gemini models over generateContent / streamGenerateContent."""

    kind = "gemini"
    config_class = GeminiConfig
    config: GeminiConfig

    def _headers(self) -> dict[str, str]:
        return {"x-goog-api-key": self.api_key()} if self.config.api_key_env else {}

    def _body(self, prompt: Prompt, params: GenerateParams) -> dict[str, Any]:
        system, turns = split_system(as_messages(prompt))
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
                {
                    "role": "model" if m.role == "assistant" else "user",
                    "parts": [{"text": m.content}],
                }
                for m in turns
            ],
            "generationConfig": generation,
        }
        if system:
            body["systemInstruction"] = {"parts": [{"text": system}]}
        body.update(params.extra)
        return body

    def _model_path(self) -> str:
        name = self.model if self.model.startswith("models/") else f"models/{self.model}"
        return f"{self.base_url}/{name}"

    async def _generate_once(
        self, prompt: Prompt, params: GenerateParams, emit: TextCallback | None
    ) -> Response:
        timings = Timings(request_sent=time.perf_counter())
        pieces: list[str] = []
        state: dict[str, Any] = {"finish": None, "usage": None, "model": self.model, "block": None}
        if params.stream:
            url = self._model_path() + ":streamGenerateContent?alt=sse"
        else:
            url = self._model_path() + ":generateContent"
        try:
            async with self.post(url, self._body(prompt, params), self._headers(), timings) as resp:
                with self.map_transport_errors(lambda: "".join(pieces)):
                    if params.stream:
                        async for _event, data in iter_sse(resp):
                            payload = load_event_json(data, pieces, self)
                            self._take(payload, timings, pieces, state, emit)
                    else:
                        raw = await resp.read()
                        try:
                            payload = json.loads(raw)
                        except ValueError:
                            raise self.error(
                                StreamError, f"malformed response body: {raw[:120]!r}"
                            ) from None
                        self._take(payload, timings, pieces, state, emit)
        except ModelNotFoundError as exc:
            raise self.error(
                ModelNotFoundError,
                str(exc).split(": ", 1)[-1],
                status=exc.status,
                available=await self.available_models(),
            ) from None
        timings.completed = time.perf_counter()
        text = "".join(pieces)
        if state["block"]:
            raise self.error(
                ContentFilterError, f"the prompt was blocked ({state['block']})", partial_text=text
            )
        raw_finish = state["finish"]
        if raw_finish is None:
            raise self.error(
                StreamError, "stream cut off mid-way (no finishReason)", partial_text=text
            )
        finish = _FINISH.get(raw_finish, "other")
        if finish == "content_filter":
            raise self.error(
                ContentFilterError, f"the answer was stopped ({raw_finish})", partial_text=text
            )
        meta = state["usage"] or {}
        usage = Usage(
            input_tokens=int(meta.get("promptTokenCount") or 0),
            # Thinking tokens are billed as output.
            output_tokens=int(meta.get("candidatesTokenCount") or 0)
            + int(meta.get("thoughtsTokenCount") or 0),
            source="server",
            cached_input_tokens=meta.get("cachedContentTokenCount"),
        )
        return Response(
            text=text,
            finish_reason=finish,
            usage=usage,
            timings=timings,
            model=state["model"],
            provider=self.kind,
            raw_finish_reason=raw_finish,
        )

    def _take(
        self,
        payload: dict[str, Any],
        timings: Timings,
        pieces: list[str],
        state: dict[str, Any],
        emit: TextCallback | None,
    ) -> None:
        feedback = payload.get("promptFeedback") or {}
        if feedback.get("blockReason"):
            state["block"] = feedback["blockReason"]
        for candidate in (payload.get("candidates") or [])[:1]:
            parts = (candidate.get("content") or {}).get("parts") or []
            text = "".join(p.get("text", "") for p in parts if not p.get("thought"))
            if text:
                timings.mark_content(time.perf_counter())
                pieces.append(text)
                if emit is not None:
                    emit(text)
            if candidate.get("finishReason"):
                state["finish"] = candidate["finishReason"]
        if payload.get("usageMetadata"):
            state["usage"] = payload["usageMetadata"]
        if payload.get("modelVersion"):
            state["model"] = payload["modelVersion"]

    async def list_models(self) -> list[str]:
        """Model names (without the `models/` prefix) from `GET /models`."""
        async with self.session().get(
            self.base_url + "/models",
            headers={**self.config.headers, **self._headers()},
            timeout=aiohttp.ClientTimeout(total=10),
        ) as resp:
            if resp.status >= 400:
                raise await self.status_error(resp)
            payload = await resp.json(content_type=None)
        names = (str(m.get("name", "")) for m in payload.get("models", []) if isinstance(m, dict))
        return sorted(n.removeprefix("models/") for n in names if n)
