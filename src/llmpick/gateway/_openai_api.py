"""The client side of the gateway: OpenAI's request checks, answer and stream chunk shapes,
and OpenAI-style errors, so any OpenAI client works against it unchanged."""

from __future__ import annotations

import json
import time
from typing import Any

from aiohttp import web

__all__ = [
    "ClientError",
    "chunk",
    "completion",
    "error_response",
    "read_body",
    "replay",
    "sse",
    "validate_request",
    "wants_usage",
]


def error_response(
    status: int, message: str, kind: str, code: str | None = None, request_id: str = ""
) -> web.Response:
    """An OpenAI-style error body."""
    body = {"error": {"message": message, "type": kind, "param": None, "code": code}}
    headers = {"x-request-id": request_id} if request_id else None
    return web.json_response(body, status=status, headers=headers)


class ClientError(Exception):
    """The client's request is unusable; becomes an OpenAI-style 4xx."""

    def __init__(self, status: int, message: str, kind: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.kind, self.code = status, kind, code


def wants_usage(body: dict[str, Any]) -> bool:
    options = body.get("stream_options")
    return isinstance(options, dict) and bool(options.get("include_usage"))


def sse(payload: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(payload, separators=(",", ":")).encode() + b"\n\n"


def chunk(
    request_id: str,
    model: str,
    chat: bool,
    *,
    text: str | None = None,
    finish: str | None = None,
    usage: dict[str, Any] | None = None,
    empty: bool = False,
) -> dict[str, Any]:
    """One OpenAI stream chunk (chat or text completion)."""
    choices: list[dict[str, Any]] = []
    if not empty:
        if chat:
            delta = {"content": text} if text is not None else {}
            choices.append({"index": 0, "delta": delta, "finish_reason": finish})
        else:
            choices.append({"index": 0, "text": text or "", "finish_reason": finish})
    chunk: dict[str, Any] = {
        "id": request_id,
        "object": "chat.completion.chunk" if chat else "text_completion",
        "created": int(time.time()),
        "model": model,
        "choices": choices,
    }
    if usage is not None:
        chunk["usage"] = usage
    return chunk


def replay(
    text: str, finish: str, usage: dict[str, Any], wants_usage: bool
) -> list[tuple[str | None, str | None, dict[str, Any] | None]]:
    parts: list[tuple[str | None, str | None, dict[str, Any] | None]] = [(text, None, None)]
    parts.append((None, finish, None))
    if wants_usage:
        parts.append((None, None, usage))
    return parts


def completion(
    request_id: str, model: str, chat: bool, text: str, finish: str, usage: dict[str, Any]
) -> dict[str, Any]:
    choice: dict[str, Any] = {"index": 0, "finish_reason": finish}
    if chat:
        choice["message"] = {"role": "assistant", "content": text}
    else:
        choice["text"] = text
    return {
        "id": request_id,
        "object": "chat.completion" if chat else "text_completion",
        "created": int(time.time()),
        "model": model,
        "choices": [choice],
        "usage": usage,
    }


async def read_body(request: web.Request, limit: int) -> dict[str, Any]:
    if request.content_length is not None and request.content_length > limit:
        raise ClientError(
            413, f"request body over {limit} bytes", "invalid_request_error", "request_too_large"
        )
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise ClientError(
            413, f"request body over {limit} bytes", "invalid_request_error", "request_too_large"
        ) from None
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ClientError(
            400, "the request body is not valid JSON", "invalid_request_error"
        ) from None
    if not isinstance(body, dict):
        raise ClientError(400, "the request body must be a JSON object", "invalid_request_error")
    return body


def validate_request(body: dict[str, Any], chat: bool, max_tokens_cap: int | None) -> None:
    """The fields the gateway relies on, checked before anything is forwarded."""

    def bad(message: str, param: str) -> ClientError:
        return ClientError(400, message, "invalid_request_error", f"invalid_{param}")

    if not isinstance(body.get("model"), str) or not body["model"]:
        raise bad("`model` is required (a string)", "model")
    if chat:
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise bad("`messages` must be a non-empty list", "messages")
        for i, m in enumerate(messages):
            if not isinstance(m, dict) or not isinstance(m.get("role"), str):
                raise bad(f"messages[{i}] must be an object with a `role`", "messages")
            if not isinstance(m.get("content"), str | list | None):
                raise bad(f"messages[{i}].content must be a string or a list of parts", "messages")
    elif not isinstance(body.get("prompt"), str | list):
        raise bad("`prompt` is required (a string)", "prompt")
    if "stream" in body and not isinstance(body["stream"], bool):
        raise bad("`stream` must be true or false", "stream")
    for name in ("max_tokens", "max_completion_tokens"):
        value = body.get(name)
        if value is None:
            continue
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise bad(f"`{name}` must be a positive integer", name)
        if max_tokens_cap is not None and value > max_tokens_cap:
            raise bad(f"`{name}` is over this gateway's limit of {max_tokens_cap}", name)
