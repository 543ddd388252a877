"""What every wire protocol shares: the request and answer types, server-sent events, and the
typed error for an HTTP status. Pure: no sockets, no clocks, no environment variables.

Errors raised here name no provider (the connection layer adds it with `ProviderError.locate`),
and every excerpt of a server's text goes through the caller's `redact` *before* it is cut, so
a cut can never leave the first characters of a key behind.
"""

from __future__ import annotations

import email.utils
import json
import math
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterable, AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from llmpick.providers import _errors as errors
from llmpick.providers._types import FinishReason, Message, Prompt, Usage

# Public through `llmpick.providers.wire`, which re-exports every name here.

# Removes secrets from a text (the key a server echoed, a key in a URL) before it is shown.
Redact = Callable[[str], str]
# Longest excerpt of a server's own text in an error message.
EXCERPT_CHARS = 300


def no_redact(text: str) -> str:
    """The identity `Redact`, for callers that hold no secret."""
    return text


def excerpt(text: str | bytes, redact: Redact = no_redact, limit: int = EXCERPT_CHARS) -> str:
    """`text` with secrets removed, *then* cut to `limit` characters (never the other way)."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    text = redact(text.strip())
    return text if len(text) <= limit else text[:limit] + "..."


@dataclass(frozen=True, slots=True)
class WireRequest:
    """One request of a protocol, apart from the connection.

    `path` is relative to the endpoint's base URL and `query` is kept apart from it (the base
    URL may carry its own query). `headers` are the protocol's own (versions, content types):
    never a secret, which the protocol's `auth_headers(key)` adds at send time.
    """

    path: str
    body: dict[str, Any]
    stream: bool
    headers: Mapping[str, str] = field(default_factory=dict)
    query: tuple[tuple[str, str], ...] = ()


@dataclass(slots=True)
class Completion:
    """What one answer said, in llmpick's terms: text, how it ended, usage. No timings.

    `finish_reason` is None when the answer did not say how it ended; `usage` is None when the
    server reported no token counts (the connection then counts or estimates them).
    """

    text: str
    finish_reason: FinishReason | None
    raw_finish_reason: str | None = None
    usage: Usage | None = None
    model: str | None = None


class StreamState(ABC):
    """The state of one streamed answer: feed it each server-sent event, in order.

    `feed` returns the event's new text ("" when it carried none) and raises a typed
    `ProviderError` for an error event or a malformed one (with the text so far as
    `partial_text`). Once `complete` is true the protocol's end marker has arrived and the
    reader may stop. `finish()` gives the answer, or raises `StreamError` for a stream that was
    cut off before it said how it ended.
    """

    __slots__ = ("_redact", "complete", "model", "pieces")

    def __init__(self, redact: Redact = no_redact) -> None:
        self._redact = redact
        self.pieces: list[str] = []
        self.complete = False
        self.model: str | None = None

    @property
    def text(self) -> str:
        """The text received so far."""
        return "".join(self.pieces)

    @abstractmethod
    def feed(self, event: str, data: str) -> str:
        """Take one event (`event` is "message" when unnamed); return its new text."""

    @abstractmethod
    def finish(self) -> Completion:
        """The answer, once the body has ended."""

    def _load(self, data: str) -> dict[str, Any]:
        """Parse one event's JSON object; anything else is a `StreamError`."""
        return load_json_object(data, self._redact, "stream event", self.text)

    def _cut_off(self, missing: str) -> errors.StreamError:
        return errors.StreamError(f"stream cut off mid-way (no {missing})", partial_text=self.text)


def load_json_object(
    data: str | bytes, redact: Redact = no_redact, what: str = "response body", partial: str = ""
) -> dict[str, Any]:
    """`data` parsed as a JSON object; otherwise a `StreamError` quoting (redacted) `data`."""
    try:
        payload = json.loads(data)
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        raise errors.StreamError(
            f"malformed {what}: {excerpt(data, redact, 120)!r}", partial_text=partial
        )
    return payload


@dataclass(frozen=True, slots=True)
class WireFormat:
    """One protocol's pure functions, as the generic HTTP connection uses them.

    `build_request(model, prompt, params, **options)` takes the protocol's own options as
    keywords (named like the provider config's fields that hold them).
    """

    name: str
    build_request: Callable[..., WireRequest]
    auth_headers: Callable[[str], dict[str, str]]
    stream_state: Callable[[Redact], StreamState]
    parse_body: Callable[[bytes, Redact], Completion]
    models_path: str
    parse_models: Callable[[Mapping[str, Any]], list[str]]


def model_ids(payload: Mapping[str, Any]) -> list[str]:
    """Sorted ids of a `{"data": [{"id": ...}, ...]}` model list (OpenAI's and Anthropic's)."""
    return sorted(str(m.get("id")) for m in payload.get("data", []) if isinstance(m, dict))


# Server-sent events -------------------------------------------------------------------------


class SseReader:
    """Splits a body into server-sent events (`event`, `data`); counts them, and keeps the first
    line that is not SSE, so a caller can say what the server sent instead of a stream."""

    __slots__ = ("events", "junk")

    def __init__(self) -> None:
        self.events = 0
        self.junk: str | None = None

    async def read(self, lines: AsyncIterable[bytes]) -> AsyncIterator[tuple[str, str]]:
        """Yield `(event, data)` per event of `lines` (a body split at newlines)."""
        event = "message"
        data: list[str] = []
        async for raw in lines:
            line = raw.decode("utf-8").rstrip("\r\n")
            if not line:
                if data:
                    self.events += 1
                    yield event, "\n".join(data)
                event, data = "message", []
                continue
            if line[0] == ":":
                continue
            name, _, value = line.partition(":")
            if value.startswith(" "):
                value = value[1:]
            if name == "data":
                data.append(value)
            elif name == "event":
                event = value
            elif self.junk is None and name not in ("id", "retry"):
                self.junk = line
        if data:  # a final event without its blank line
            self.events += 1
            yield event, "\n".join(data)


# Errors --------------------------------------------------------------------------------------

_CONTEXT_WORDS = (
    "context length",
    "context_length",
    "context window",
    "maximum context",
    "prompt is too long",
    "too many tokens",
    "exceeds the context",
    "n_ctx",
    "input token count",
    "requested tokens",
)
_FILTER_WORDS = ("content_filter", "content filter", "content_policy", "content policy", "safety")


def error_for_status(
    status: int,
    body: str,
    headers: Mapping[str, str],
    *,
    redact: Redact = no_redact,
    auth_hint: str = "",
) -> errors.ProviderError:
    """The typed error for a non-2xx answer of any of the vendors, quoting its own message.

    `body` is the answer's text (redacted here, before any cut); `auth_hint` is added to an
    authentication error (which key to check).
    """
    body = redact(body)
    message, code = _server_message(body)
    detail = f"HTTP {status}: {message}" if message else f"HTTP {status}"
    lowered = f"{message} {code}".lower()
    if status in (401, 403) or "api_key_invalid" in body.lower() or "api key not valid" in lowered:
        hint = f" ({auth_hint})" if auth_hint else ""
        return errors.AuthenticationError(detail + hint, status=status)
    if status == 404:
        return errors.ModelNotFoundError(detail, status=status)
    if status == 429:
        rate = errors.RateLimitError(
            detail, status=status, retry_after_s=parse_retry_after(headers)
        )
        if "insufficient_quota" in lowered or "quota exceeded" in lowered:
            rate.retryable = False  # out of credit: waiting will not help
        return rate
    if status >= 500:
        return errors.ServerError(detail, status=status, retry_after_s=parse_retry_after(headers))
    if any(word in lowered for word in _CONTEXT_WORDS):
        return errors.ContextOverflowError(detail, status=status)
    if any(word in lowered for word in _FILTER_WORDS):
        return errors.ContentFilterError(detail, status=status)
    return errors.BadRequestError(detail, status=status)


def _server_message(raw: str) -> tuple[str, str]:
    """The human message and the error code/type from an error body of any of the vendors."""
    try:
        body = json.loads(raw)
    except ValueError:
        return excerpt(raw), ""
    err = body.get("error", body) if isinstance(body, dict) else body
    if isinstance(err, str):
        return excerpt(err), ""
    if not isinstance(err, dict):
        return excerpt(raw), ""
    message = excerpt(str(err.get("message") or err.get("detail") or raw))
    code = " ".join(str(err.get(k, "")) for k in ("code", "type", "status"))
    return message, code


def parse_retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds the server asks to wait (`retry-after-ms`, or `Retry-After` in seconds or as an
    HTTP date); None when it asks nothing readable. May be huge or infinite: callers cap it."""
    ms = headers.get("retry-after-ms")
    if ms:
        seconds = _seconds(ms)
        if seconds is not None:
            return seconds / 1000
    value = headers.get("Retry-After")
    if not value:
        return None
    seconds = _seconds(value)
    if seconds is not None:
        return seconds
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _seconds(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return None if math.isnan(value) else max(0.0, value)


# Prompts -------------------------------------------------------------------------------------


def split_system(messages: Sequence[Message]) -> tuple[str | None, list[Message]]:
    """Separate system messages (Anthropic and Gemini take them apart from the turns)."""
    system = [m.content for m in messages if m.role == "system"]
    rest = [m for m in messages if m.role != "system"]
    return ("\n\n".join(system) if system else None), rest


def as_messages(prompt: Prompt) -> list[Message]:
    """A raw prompt becomes one user turn (for chat-only APIs)."""
    if isinstance(prompt, str):
        return [Message("user", prompt)]
    return list(prompt)
