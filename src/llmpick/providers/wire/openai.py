"""The OpenAI chat-completions and completions protocol, both ways round.

Client side (what `OpenAIProvider` sends to OpenAI, vLLM, llama.cpp, Ollama, ...):
`build_request`, `auth_headers`, `parse_body`, `OpenAIStream`, `parse_models`.

Server side (what a gateway that speaks OpenAI to its clients needs): `parse_request` turns an
incoming body into the neutral request, `render_response` / `ChunkRenderer` turn a neutral answer
back into OpenAI's JSON or stream chunks, `render_error` turns a `ProviderError` into OpenAI's
error body. With these and another protocol's `build_request`, a gateway forwards an OpenAI
request to an Anthropic or Gemini backend:

    request = openai.parse_request(body)
    upstream = anthropic.build_request(backend_model, request.prompt, request.params)
    ...  # send it, feed the events to anthropic.AnthropicStream
    return openai.render_response(stream.finish(), request_id="chatcmpl-1", model=request.model)

Reference: https://platform.openai.com/docs/api-reference/chat
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from llmpick.providers import _errors as errors
from llmpick.providers._types import FinishReason, GenerateParams, Message, Prompt, Role, Usage
from llmpick.providers.wire._common import (
    Completion,
    Redact,
    StreamState,
    WireFormat,
    WireRequest,
    excerpt,
    load_json_object,
    model_ids,
    no_redact,
)

__all__ = [
    "FINISH_REASONS",
    "WIRE",
    "ChatRequest",
    "ChunkRenderer",
    "OpenAIStream",
    "auth_headers",
    "build_request",
    "parse_body",
    "parse_models",
    "parse_request",
    "render_error",
    "render_response",
    "usage_of",
]

Mode = Literal["auto", "chat", "completion"]

# The vendor's word -> llmpick's; OpenAI-compatible servers use a few words of their own.
FINISH_REASONS: dict[str, FinishReason] = {
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


# Client side ---------------------------------------------------------------------------------


def build_request(
    model: str,
    prompt: Prompt,
    params: GenerateParams,
    *,
    mode: Mode = "auto",
    include_usage: bool = True,
    max_tokens_field: Literal["max_tokens", "max_completion_tokens"] = "max_tokens",
) -> WireRequest:
    """The request for `prompt`: chat for messages, completions for a raw prompt (`mode`
    "auto"). `include_usage` asks for token counts in streams; OpenAI's reasoning models need
    `max_tokens_field="max_completion_tokens"`. `params.extra` is merged into the body as-is."""
    chat = mode == "chat" or (mode == "auto" and not isinstance(prompt, str))
    body: dict[str, Any] = {"model": model, "temperature": params.temperature}
    if chat:
        if isinstance(prompt, str):
            body["messages"] = [{"role": "user", "content": prompt}]
        else:
            body["messages"] = [{"role": m.role, "content": m.content} for m in prompt]
    else:
        body["prompt"] = (
            prompt if isinstance(prompt, str) else "\n\n".join(m.content for m in prompt)
        )
    if params.max_tokens is not None:
        body[max_tokens_field if chat else "max_tokens"] = params.max_tokens
    if params.top_p is not None:
        body["top_p"] = params.top_p
    if params.stop:
        body["stop"] = list(params.stop)
    if params.seed is not None:
        body["seed"] = params.seed
    if params.stream:
        body["stream"] = True
        if include_usage:
            body["stream_options"] = {"include_usage": True}
    body.update(params.extra)
    return WireRequest("/chat/completions" if chat else "/completions", body, params.stream)


def auth_headers(key: str) -> dict[str, str]:
    """The header that carries the key."""
    return {"Authorization": f"Bearer {key}"}


def usage_of(reported: Mapping[str, Any] | None) -> Usage | None:
    """The server's `usage` object as `Usage`; None when it reported no output count."""
    if not reported or reported.get("completion_tokens") is None:
        return None
    details = reported.get("prompt_tokens_details") or {}
    return Usage(
        input_tokens=int(reported.get("prompt_tokens") or 0),
        output_tokens=int(reported["completion_tokens"]),
        source="server",
        cached_input_tokens=details.get("cached_tokens"),
    )


def parse_body(raw: bytes, redact: Redact = no_redact) -> Completion:
    """A whole (non-streamed) chat or completions answer."""
    payload = load_json_object(raw, redact)
    try:
        choice = payload["choices"][0]
        message = choice.get("message")
    except (KeyError, IndexError, TypeError, AttributeError):
        raise errors.UnexpectedResponseError(
            f"the answer has no choices: {excerpt(raw, redact, 120)!r}"
        ) from None
    text = (message.get("content") if message else choice.get("text")) or ""
    raw_finish = choice.get("finish_reason") or "stop"
    return Completion(
        text=text,
        finish_reason=FINISH_REASONS.get(raw_finish, "other"),
        raw_finish_reason=raw_finish,
        usage=usage_of(payload.get("usage")),
        model=payload.get("model"),
    )


class OpenAIStream(StreamState):
    """A streamed chat or completions answer: `choices[0].delta.content` (or `.text`) pieces,
    a `finish_reason`, an optional usage chunk, then `data: [DONE]`."""

    __slots__ = ("_raw_finish", "_usage")

    def __init__(self, redact: Redact = no_redact) -> None:
        super().__init__(redact)
        self._raw_finish: str | None = None
        self._usage: Mapping[str, Any] | None = None

    def feed(self, event: str, data: str) -> str:
        if data == "[DONE]":
            self.complete = True
            return ""
        payload = self._load(data)
        if "error" in payload:
            err = payload["error"]
            message = err.get("message") if isinstance(err, dict) else str(err)
            raise errors.StreamError(
                f"error inside the stream: {excerpt(str(message), self._redact)}",
                partial_text=self.text,
            )
        text = ""
        choices = payload.get("choices")
        if choices:
            choice = choices[0]
            delta = choice.get("delta")
            text = (delta.get("content") if delta else choice.get("text")) or ""
            if text:
                self.pieces.append(text)
            if choice.get("finish_reason"):
                self._raw_finish = choice["finish_reason"]
        if payload.get("usage"):
            self._usage = payload["usage"]
        if payload.get("model"):
            self.model = payload["model"]
        return text

    def finish(self) -> Completion:
        raw_finish = self._raw_finish
        if raw_finish is None:
            if not self.complete:
                raise self._cut_off("[DONE]")
            raise errors.StreamError(
                "the stream ended without a finish reason (cut off, or replaced by another "
                "request on a server that interrupts streams)",
                partial_text=self.text,
            )
        return Completion(
            text=self.text,
            finish_reason=FINISH_REASONS.get(raw_finish, "other"),
            raw_finish_reason=raw_finish,
            usage=usage_of(self._usage),
            model=self.model,
        )


# Model ids from `GET /models`, sorted.
parse_models = model_ids


# What the generic HTTP connection runs.
WIRE = WireFormat(
    "openai", build_request, auth_headers, OpenAIStream, parse_body, "/models", parse_models
)


# Server side (a gateway speaking OpenAI to its clients) --------------------------------------


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """An incoming OpenAI request in llmpick's terms.

    `chat` is False for `/completions` (a raw prompt). `passthrough` holds the body's fields
    llmpick does not model (`n`, `user`, `logprobs`, tools, ...): forward them only to another
    OpenAI-compatible backend (as `GenerateParams.extra`); other protocols would reject them.
    """

    model: str
    prompt: Prompt
    params: GenerateParams
    chat: bool = True
    include_usage: bool = False
    passthrough: dict[str, Any] = field(default_factory=dict)


_KNOWN_FIELDS = frozenset(
    {
        "model",
        "messages",
        "prompt",
        "max_tokens",
        "max_completion_tokens",
        "temperature",
        "top_p",
        "stop",
        "seed",
        "stream",
        "stream_options",
    }
)
_ROLES: dict[str, Role] = {
    "system": "system",
    "developer": "system",
    "user": "user",
    "assistant": "assistant",
}


def _bad(message: str) -> errors.BadRequestError:
    return errors.BadRequestError(message, status=400)


def _number(body: Mapping[str, Any], name: str, default: float | None) -> float | None:
    value = body.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _bad(f"`{name}`: expected a number, got {value!r}")
    return float(value)


def _content(value: Any, where: str) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        texts = []
        for i, part in enumerate(value):
            if not isinstance(part, dict) or part.get("type") != "text":
                raise _bad(f"`{where}[{i}]`: only text parts are supported")
            texts.append(str(part.get("text", "")))
        return "".join(texts)
    raise _bad(f"`{where}`: expected a string or a list of text parts")


def parse_request(body: Mapping[str, Any], *, chat: bool = True) -> ChatRequest:
    """An incoming `/chat/completions` (or, with `chat=False`, `/completions`) body as a neutral
    request; a `BadRequestError` (status 400) naming the field when it is not a valid one.

    A missing `temperature` is OpenAI's default, 1.0 (not llmpick's 0), so the client gets what
    it asked for whichever backend answers."""
    if not isinstance(body, Mapping):
        raise _bad("the request body must be a JSON object")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise _bad("`model`: a model name is required")
    prompt: Prompt
    if chat:
        raw_messages = body.get("messages")
        if not isinstance(raw_messages, list) or not raw_messages:
            raise _bad("`messages`: a non-empty list of messages is required")
        messages = []
        for i, m in enumerate(raw_messages):
            role = _ROLES.get(str(m.get("role"))) if isinstance(m, dict) else None
            if role is None:
                raise _bad(f"`messages[{i}].role`: expected system, user or assistant")
            content = _content(m.get("content"), f"messages[{i}].content")
            messages.append(Message(role, content))
        prompt = messages
    else:
        raw_prompt = body.get("prompt")
        if isinstance(raw_prompt, list) and len(raw_prompt) == 1:
            raw_prompt = raw_prompt[0]
        if not isinstance(raw_prompt, str):
            raise _bad("`prompt`: expected one string")
        prompt = raw_prompt
    max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
    if max_tokens is not None and (
        isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1
    ):
        raise _bad(f"`max_tokens`: expected a whole number of at least 1, got {max_tokens!r}")
    stop = body.get("stop")
    if isinstance(stop, str):
        stop = [stop]
    if stop is not None and not (isinstance(stop, list) and all(isinstance(s, str) for s in stop)):
        raise _bad("`stop`: expected a string or a list of strings")
    seed = body.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise _bad(f"`seed`: expected a whole number, got {seed!r}")
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise _bad(f"`stream`: expected true or false, got {stream!r}")
    options = body.get("stream_options") or {}
    params = GenerateParams(
        max_tokens=max_tokens,
        temperature=_number(body, "temperature", 1.0) or 0.0,
        top_p=_number(body, "top_p", None),
        stop=tuple(stop or ()),
        seed=seed,
        stream=stream,
    )
    return ChatRequest(
        model=model,
        prompt=prompt,
        params=params,
        chat=chat,
        include_usage=bool(isinstance(options, dict) and options.get("include_usage")),
        passthrough={k: v for k, v in body.items() if k not in _KNOWN_FIELDS},
    )


_FINISH_OUT: dict[str, str] = {
    "stop": "stop",
    "length": "length",
    "content_filter": "content_filter",
    "tool_calls": "tool_calls",
    "other": "stop",
}


def _usage_json(usage: Usage) -> dict[str, Any]:
    out: dict[str, Any] = {
        "prompt_tokens": usage.input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.total_tokens,
    }
    if usage.cached_input_tokens is not None:
        out["prompt_tokens_details"] = {"cached_tokens": usage.cached_input_tokens}
    return out


def render_response(
    completion: Completion,
    *,
    request_id: str,
    model: str,
    created: int | None = None,
    chat: bool = True,
) -> dict[str, Any]:
    """A neutral answer as OpenAI's `chat.completion` (or `text_completion`) body."""
    finish = _FINISH_OUT.get(completion.finish_reason or "stop", "stop")
    choice: dict[str, Any] = {"index": 0, "finish_reason": finish}
    if chat:
        choice["message"] = {"role": "assistant", "content": completion.text}
    else:
        choice["text"] = completion.text
    body: dict[str, Any] = {
        "id": request_id,
        "object": "chat.completion" if chat else "text_completion",
        "created": int(time.time()) if created is None else created,
        "model": model,
        "choices": [choice],
    }
    if completion.usage is not None:
        body["usage"] = _usage_json(completion.usage)
    return body


class ChunkRenderer:
    """OpenAI stream chunks for one answer, as SSE bytes ready to write:
    `start()` (the role chunk), `text(piece)` per piece, then `end(finish_reason, usage)`
    (the finish chunk, the usage chunk when the client asked for it, and `data: [DONE]`)."""

    __slots__ = ("_chat", "_head", "_include_usage")

    def __init__(
        self,
        *,
        request_id: str,
        model: str,
        created: int | None = None,
        chat: bool = True,
        include_usage: bool = False,
    ) -> None:
        self._chat = chat
        self._include_usage = include_usage
        self._head = {
            "id": request_id,
            "object": "chat.completion.chunk" if chat else "text_completion",
            "created": int(time.time()) if created is None else created,
            "model": model,
        }

    def _frame(self, choice: dict[str, Any] | None, usage: Usage | None = None) -> bytes:
        chunk: dict[str, Any] = {**self._head, "choices": [] if choice is None else [choice]}
        if usage is not None:
            chunk["usage"] = _usage_json(usage)
        return b"data: " + json.dumps(chunk, separators=(",", ":")).encode() + b"\n\n"

    def _choice(self, text: str, finish: str | None) -> dict[str, Any]:
        if self._chat:
            delta = {"content": text} if text else {}
            return {"index": 0, "delta": delta, "finish_reason": finish}
        return {"index": 0, "text": text, "finish_reason": finish}

    def start(self) -> bytes:
        """The first chunk (the assistant role, no text)."""
        if not self._chat:
            return b""
        return self._frame({"index": 0, "delta": {"role": "assistant"}, "finish_reason": None})

    def text(self, piece: str) -> bytes:
        """A chunk with one piece of text."""
        return self._frame(self._choice(piece, None))

    def end(self, finish_reason: FinishReason | None, usage: Usage | None = None) -> bytes:
        """The finish chunk, the usage chunk (if asked for and known), and the end marker."""
        out = self._frame(self._choice("", _FINISH_OUT.get(finish_reason or "stop", "stop")))
        if self._include_usage and usage is not None:
            out += self._frame(None, usage)
        return out + b"data: [DONE]\n\n"


_ERROR_STATUS: list[tuple[type[errors.ProviderError], int, str, str | None]] = [
    (errors.AuthenticationError, 401, "authentication_error", "invalid_api_key"),
    (errors.ModelNotFoundError, 404, "invalid_request_error", "model_not_found"),
    (errors.ContextOverflowError, 400, "invalid_request_error", "context_length_exceeded"),
    (errors.ContentFilterError, 400, "invalid_request_error", "content_filter"),
    (errors.BadRequestError, 400, "invalid_request_error", None),
    (errors.RateLimitError, 429, "rate_limit_error", "rate_limit_exceeded"),
    (errors.ProviderTimeoutError, 504, "timeout", None),
    (errors.ProviderSetupError, 500, "server_error", None),
]


def render_error(error: errors.ProviderError) -> tuple[int, dict[str, Any]]:
    """The HTTP status and OpenAI error body for a failed call (the message names no
    backend). Upstream failures (5xx, lost connections, broken streams) become 502."""
    status, kind, code = 502, "server_error", None
    for cls, cls_status, cls_kind, cls_code in _ERROR_STATUS:
        if isinstance(error, cls):
            status, kind, code = cls_status, cls_kind, cls_code
            break
    body = {"error": {"message": error.detail, "type": kind, "param": None, "code": code}}
    return status, body
