"""Any OpenAI-compatible server: OpenAI, vLLM, SGLang, llama.cpp, Ollama, TGI, LM Studio,
OpenRouter, Together, Groq, ... Chat and completions, streamed with usage when the server sends it.

Servers that send no usage in streams (llama.cpp's Python server, older TGI) get counted with the
configured `tokenizer` (labelled "tokenizer"), or else estimated from chunks and characters
(labelled "estimate").
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
    ModelNotFoundError,
    ProviderError,
    StreamError,
)
from llmpick.providers._http import (
    HttpProvider,
    HttpProviderConfig,
    iter_sse,
    load_event_json,
)
from llmpick.providers._tokens import count_tokens_async
from llmpick.providers._types import (
    FinishReason,
    GenerateParams,
    Prompt,
    Response,
    Timings,
    Usage,
)

__all__ = ["OpenAIConfig", "OpenAIProvider"]


class OpenAIConfig(HttpProviderConfig):
    """An OpenAI-compatible endpoint."""

    kind: Literal["openai"] = "openai"
    base_url: str = "https://api.openai.com/v1"
    mode: Literal["auto", "chat", "completion"] = Field(
        "auto", description="auto: chat for messages, completions for a raw prompt."
    )
    include_usage: bool = Field(True, description="Ask for usage in streams (stream_options).")
    max_tokens_field: Literal["max_tokens", "max_completion_tokens"] = Field(
        "max_tokens", description="OpenAI's reasoning models need max_completion_tokens."
    )
    tokenizer: str | None = Field(
        None,
        description="Counts tokens when the server reports none: a .gguf path, a tokenizer.json "
        "path, a local catalog id (local/...), or tiktoken:<encoding>.",
    )


_FINISH: dict[str, FinishReason] = {
    "stop": "stop",
    "eos": "stop",
    "eos_token": "stop",
    "stop_sequence": "stop",
    "end_turn": "stop",
    "length": "length",
    "max_tokens": "length",
    "content_filter": "content_filter",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
}


class OpenAIProvider(HttpProvider):
    """Chat completions (`/chat/completions`) and completions (`/completions`)."""

    kind = "openai"
    config_class = OpenAIConfig
    config: OpenAIConfig

    def _headers(self) -> dict[str, str]:
        if self.config.api_key_env:
            return {"Authorization": f"Bearer {self.api_key()}"}
        return {}

    def _body(self, prompt: Prompt, params: GenerateParams) -> tuple[str, dict[str, Any]]:
        chat = self.config.mode == "chat" or (
            self.config.mode == "auto" and not isinstance(prompt, str)
        )
        body: dict[str, Any] = {"model": self.model, "temperature": params.temperature}
        if chat:
            if isinstance(prompt, str):
                body["messages"] = [{"role": "user", "content": prompt}]
            else:
                body["messages"] = [{"role": m.role, "content": m.content} for m in prompt]
        else:
            if not isinstance(prompt, str):
                prompt = "\n\n".join(m.content for m in prompt)
            body["prompt"] = prompt
        if params.max_tokens is not None:
            body[self.config.max_tokens_field if chat else "max_tokens"] = params.max_tokens
        if params.top_p is not None:
            body["top_p"] = params.top_p
        if params.stop:
            body["stop"] = list(params.stop)
        if params.seed is not None:
            body["seed"] = params.seed
        if params.stream:
            body["stream"] = True
            if self.config.include_usage:
                body["stream_options"] = {"include_usage": True}
        body.update(params.extra)
        return ("/chat/completions" if chat else "/completions"), body

    async def _generate_once(
        self, prompt: Prompt, params: GenerateParams, emit: TextCallback | None
    ) -> Response:
        path, body = self._body(prompt, params)
        timings = Timings(request_sent=time.perf_counter())
        pieces: list[str] = []
        state: dict[str, Any] = {"finish": None, "usage": None, "model": self.model, "done": False}
        try:
            async with self.post(self.base_url + path, body, self._headers(), timings) as resp:
                with self.map_transport_errors(lambda: "".join(pieces)):
                    if params.stream:
                        await self._read_stream(resp, timings, pieces, state, emit)
                    else:
                        await self._read_whole(resp, timings, pieces, state, emit)
        except ModelNotFoundError as exc:
            raise await self._with_available_models(exc) from None
        timings.completed = time.perf_counter()
        text = "".join(pieces)
        raw_finish = state["finish"]
        if raw_finish is None:
            raise self.error(
                StreamError,
                "the stream ended without a finish reason (cut off, or replaced by another "
                "request on a server that interrupts streams)",
                partial_text=text,
            )
        finish = _FINISH.get(raw_finish, "other")
        if finish == "content_filter":
            raise self.error(
                ContentFilterError, "the answer was stopped by a content filter", partial_text=text
            )
        usage = await self._usage(prompt, text, len(timings.chunk_times), state["usage"])
        return Response(
            text=text,
            finish_reason=finish,
            usage=usage,
            timings=timings,
            model=state["model"],
            provider=self.kind,
            raw_finish_reason=raw_finish,
        )

    async def _read_stream(
        self,
        resp: aiohttp.ClientResponse,
        timings: Timings,
        pieces: list[str],
        state: dict[str, Any],
        emit: TextCallback | None,
    ) -> None:
        async for _event, data in iter_sse(resp):
            if data == "[DONE]":
                state["done"] = True
                break
            payload = load_event_json(data, pieces, self)
            if "error" in payload:
                err = payload["error"]
                message = err.get("message") if isinstance(err, dict) else str(err)
                raise self.error(
                    StreamError, f"error inside the stream: {message}", partial_text="".join(pieces)
                )
            choices = payload.get("choices")
            if choices:
                choice = choices[0]
                delta = choice.get("delta")
                text = (delta.get("content") if delta else choice.get("text")) or ""
                if text:
                    timings.mark_content(time.perf_counter())
                    pieces.append(text)
                    if emit is not None:
                        emit(text)
                if choice.get("finish_reason"):
                    state["finish"] = choice["finish_reason"]
            if payload.get("usage"):
                state["usage"] = payload["usage"]
            if payload.get("model"):
                state["model"] = payload["model"]
        if not state["done"] and state["finish"] is None:
            raise self.error(
                StreamError, "stream cut off mid-way (no [DONE])", partial_text="".join(pieces)
            )

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
            choice = payload["choices"][0]
        except (ValueError, KeyError, IndexError, TypeError):
            raise self.error(StreamError, f"malformed response body: {raw[:120]!r}") from None
        message = choice.get("message")
        text = (message.get("content") if message else choice.get("text")) or ""
        if text:
            timings.mark_content(time.perf_counter())
            pieces.append(text)
            if emit is not None:
                emit(text)
        state["finish"] = choice.get("finish_reason") or "stop"
        state["usage"] = payload.get("usage")
        state["model"] = payload.get("model") or self.model

    async def _usage(
        self, prompt: Prompt, text: str, chunks: int, reported: dict[str, Any] | None
    ) -> Usage:
        if reported and reported.get("completion_tokens") is not None:
            details = reported.get("prompt_tokens_details") or {}
            return Usage(
                input_tokens=int(reported.get("prompt_tokens") or 0),
                output_tokens=int(reported["completion_tokens"]),
                source="server",
                cached_input_tokens=details.get("cached_tokens"),
            )
        prompt_text = prompt if isinstance(prompt, str) else "\n".join(m.content for m in prompt)
        if self.config.tokenizer:
            counts = await count_tokens_async(self.config.tokenizer, [prompt_text, text])
            if counts is not None:
                return Usage(counts[0], counts[1], "tokenizer")
        # Streaming servers send about one token per chunk; characters/4 covers the rest.
        output = chunks if chunks else (len(text) + 3) // 4
        return Usage(len(prompt_text) // 4 + 1, output, "estimate")

    async def list_models(self) -> list[str]:
        """Ids from `GET /models`."""
        async with self.session().get(
            self.base_url + "/models",
            headers={**self.config.headers, **self._headers()},
            timeout=aiohttp.ClientTimeout(total=10),
        ) as resp:
            if resp.status >= 400:
                raise await self.status_error(resp)
            payload = await resp.json(content_type=None)
        return sorted(str(m.get("id")) for m in payload.get("data", []) if isinstance(m, dict))

    async def _with_available_models(self, exc: ModelNotFoundError) -> ProviderError:
        available = await self.available_models()
        if not available:
            return exc
        return self.error(
            ModelNotFoundError,
            f"model {self.model!r} not found (HTTP {exc.status})",
            status=exc.status,
            available=available,
        )
