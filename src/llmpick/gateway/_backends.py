"""The models behind the gateway, each reached one of two ways.

- OpenAI-compatible servers are passed through: the client's JSON goes upstream with only the
  model name (and, when guardrails apply, the redacted text) changed, over kept-alive
  connections (`_upstream`, a lean HTTP/1.1 client), and the upstream's bytes come back as
  they are. Each SSE event is parsed only to learn
  its text, finish reason and usage (for accounting, checks and cut-stream detection).
- Anthropic, Gemini and in-process llama.cpp go through llmpick's providers (`create_provider`),
  which translate the request and the answer; the gateway encodes their text as OpenAI chunks.

Both give the router the same two calls: `complete` (one whole answer) and `stream` (events,
with a first-token deadline and a stall deadline). Failures are `BackendError`s that say whether
another backend may be tried (`fallback`) and whether the client's own request was at fault.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from llmpick.gateway._config import Backend
from llmpick.gateway._upstream import (
    UpstreamClosed,
    UpstreamConnectTimeout,
    UpstreamError,
    UpstreamPool,
    UpstreamResponse,
)
from llmpick.providers import (
    BadRequestError,
    ContextOverflowError,
    GenerateParams,
    Message,
    Provider,
    ProviderError,
    Role,
    create_provider,
    provider_class,
)

__all__ = [
    "Answer",
    "BackendError",
    "Event",
    "GatewayBackend",
    "OpenAIPassThrough",
    "ProviderBackend",
    "build_backend",
    "request_text",
]


@dataclass(slots=True)
class Event:
    """One piece of a streamed answer. `raw` is the upstream's own SSE event when passed through."""

    text: str = ""
    finish: str | None = None
    usage: dict[str, Any] | None = None
    raw: bytes | None = None
    payload: dict[str, Any] | None = None
    more: bool = False  # another event arrived with this one: hold the write until the last


@dataclass(slots=True)
class Answer:
    """A whole answer; `raw` is the upstream body, forwarded as is when nothing is rewritten."""

    text: str
    finish: str
    input_tokens: int | None
    output_tokens: int | None
    usage_source: str
    model: str
    raw: bytes | None = None
    payload: dict[str, Any] | None = None


class BackendError(Exception):
    """One attempt failed. `fallback`: another backend may be tried; `status`: for the client."""

    def __init__(
        self,
        message: str,
        *,
        kind: str = "upstream_error",
        status: int = 502,
        fallback: bool = True,
        body: bytes | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.status = status
        self.fallback = fallback
        self.body = body  # the upstream's own error body, for a client error passed back


@dataclass
class StreamState:
    """What a stream has delivered so far (for accounting when it is cut)."""

    text: list[str] = field(default_factory=list)
    usage: dict[str, Any] | None = None
    finish: str | None = None
    first_token_at: float | None = None


class _Failures:
    """Whatever reaching a backend can raise, as the `BackendError` the router acts on: the one
    mapping for `complete` and `stream` of both kinds of backend.

    `timeout`: what a deadline passing means here (called only then, so it may read the
    stream's state). `phase`: "request", a pass-through call until its answer or its stream
    begins; "stream", a pass-through stream under way (a broken connection or a bad chunk cuts
    it); "provider", an llmpick provider's call (it raises `ProviderError`s; anything else is
    a bug and passes through). A `BackendError` raised inside passes through unchanged.
    """

    __slots__ = ("config", "phase", "timeout")

    def __init__(
        self,
        config: Backend,
        timeout: Callable[[], str],
        phase: Literal["request", "stream", "provider"],
    ) -> None:
        self.config = config
        self.timeout = timeout
        self.phase = phase

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, _: Any) -> None:
        if exc is None or isinstance(exc, BackendError):
            return
        error = self._translate(exc)
        if error is not None:
            raise error from None

    def _translate(self, exc: BaseException) -> BackendError | None:
        if isinstance(exc, TimeoutError):
            return BackendError(self.timeout(), kind="timeout")
        if self.phase == "provider":
            return _provider_error(exc) if isinstance(exc, ProviderError) else None
        if self.phase == "stream":
            if isinstance(exc, UpstreamError):
                return BackendError("the upstream stream was cut off", kind="stream_error")
            if isinstance(exc, OSError):
                return BackendError(f"connection to the backend failed: {type(exc).__name__}")
            return None
        if isinstance(exc, UpstreamConnectTimeout):
            return BackendError(
                f"cannot connect within {self.config.connect_timeout_s:g} s", kind="timeout"
            )
        if isinstance(exc, UpstreamClosed):
            return BackendError(f"the backend {exc}")
        if isinstance(exc, UpstreamError):
            return BackendError(f"malformed answer from the backend: {exc}")
        if isinstance(exc, OSError):
            return BackendError(f"cannot reach the backend: {type(exc).__name__}")
        return None


def request_text(body: dict[str, Any]) -> str:
    """All the prompt text of a chat or completion request (for estimates and checks)."""
    if "messages" in body:
        return "\n".join(_content_text(m.get("content")) for m in body["messages"])
    prompt = body.get("prompt", "")
    return prompt if isinstance(prompt, str) else "\n".join(map(str, prompt))


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            str(p.get("text", ""))
            for p in content
            if isinstance(p, dict) and p.get("type") == "text"
        )
    return ""


class GatewayBackend(ABC):
    """One configured backend: `complete` and `stream` an OpenAI-shaped request body."""

    def __init__(self, config: Backend) -> None:
        self.config = config
        self.name = config.name
        self._slots = asyncio.Semaphore(config.max_concurrency)

    @abstractmethod
    async def complete(self, body: dict[str, Any], chat: bool) -> Answer:
        """The whole answer to `body` (a chat or completion request)."""

    @abstractmethod
    def stream(
        self, body: dict[str, Any], chat: bool, state: StreamState
    ) -> AsyncGenerator[Event, None]:
        """The answer as events; raises `BackendError` (a first-token timeout among them)."""

    async def start(self) -> None:  # noqa: B027 (optional hook)
        """Called once when the gateway starts."""

    async def aclose(self) -> None:  # noqa: B027 (optional hook)
        """Release connections and loaded models."""

    @property
    def ready(self) -> bool:
        return True

    # What each deadline passing means, for `_Failures`.

    def _no_answer(self) -> str:
        return f"no answer within {self.config.total_timeout_s:g} s"

    def _no_first_token(self) -> str:
        return f"no first token within {self.config.first_token_timeout_s:g} s"

    def _stalled(self) -> str:
        return f"the stream stalled for {self.config.stall_timeout_s:g} s"


# OpenAI-compatible pass-through --------------------------------------------------------------


_JSON = "application/json"


def _status_error(status: int, raw: bytes) -> BackendError:
    """A non-2xx upstream answer: the client's fault (passed back) or the backend's (fall back)."""
    try:
        detail = json.loads(raw).get("error", {})
        message = detail.get("message") if isinstance(detail, dict) else str(detail)
    except (ValueError, AttributeError):
        message = raw[:200].decode("utf-8", "replace")
    text = f"HTTP {status} from upstream: {message or ''}".strip()
    if status in (400, 413, 422):
        return BackendError(
            text, kind="invalid_request_error", status=status, fallback=False, body=raw
        )
    return BackendError(text, status=502 if status < 500 else status)


class OpenAIPassThrough(GatewayBackend):
    """Any OpenAI-compatible server, its bytes forwarded over kept-alive connections."""

    def __init__(self, config: Backend) -> None:
        super().__init__(config)
        assert config.endpoint is not None
        self.endpoint = config.endpoint
        headers = dict(self.endpoint.headers)
        if self.endpoint.api_key_env:
            key = os.environ.get(self.endpoint.api_key_env)
            if key:
                headers["Authorization"] = f"Bearer {key}"
        self._pool = UpstreamPool(
            self.endpoint.base_url, connect_timeout_s=config.connect_timeout_s, headers=headers
        )
        self._paths = {True: "/chat/completions", False: "/completions"}

    async def aclose(self) -> None:
        self._pool.close()

    def _upstream_body(self, body: dict[str, Any], stream: bool) -> bytes:
        out = dict(body)
        out["model"] = self.endpoint.model
        if stream:
            out["stream"] = True
            # Always ask for usage: the gateway accounts tokens; the client sees it only if asked.
            out["stream_options"] = {**(body.get("stream_options") or {}), "include_usage": True}
        else:
            out.pop("stream", None)
            out.pop("stream_options", None)
        return json.dumps(out).encode()

    async def complete(self, body: dict[str, Any], chat: bool) -> Answer:
        data = self._upstream_body(body, stream=False)
        async with self._slots:
            response: UpstreamResponse | None = None
            try:
                with _Failures(self.config, self._no_answer, "request"):
                    async with asyncio.timeout(self.config.total_timeout_s):
                        response = await self._pool.post(self._paths[chat], data, _JSON)
                        raw = await response.read()
            finally:
                if response is not None:
                    response.close()  # no-op once whole; closes the socket when not
        status = response.status
        if status >= 300:
            raise _status_error(status, raw)
        try:
            payload = json.loads(raw)
            choice = payload["choices"][0]
        except (ValueError, KeyError, IndexError, TypeError):
            raise BackendError("malformed answer from the backend") from None
        message = choice.get("message")
        text = (message.get("content") if message else choice.get("text")) or ""
        usage = payload.get("usage") or {}
        reported = usage.get("completion_tokens") is not None
        return Answer(
            text=text,
            finish=choice.get("finish_reason") or "stop",
            input_tokens=usage.get("prompt_tokens") if reported else len(request_text(body)) // 4,
            output_tokens=usage.get("completion_tokens") if reported else (len(text) + 3) // 4,
            usage_source="server" if reported else "estimate",
            model=str(payload.get("model") or self.endpoint.model),
            raw=raw,
            payload=payload,
        )

    async def stream(
        self, body: dict[str, Any], chat: bool, state: StreamState
    ) -> AsyncGenerator[Event, None]:
        data = self._upstream_body(body, stream=True)
        loop = asyncio.get_running_loop()
        # No `yield` inside a timeout block: the deadline would strike the consumer's code.
        started = loop.time()
        deadline = started + self.config.first_token_timeout_s
        total_deadline = started + self.config.total_timeout_s
        async with self._slots:
            resp: UpstreamResponse | None = None
            with _Failures(self.config, self._no_first_token, "request"):
                async with asyncio.timeout_at(min(deadline, total_deadline)):
                    resp = await self._pool.post(self._paths[chat], data, _JSON)
                    if resp.status >= 300:
                        try:
                            raw = await resp.read()
                        finally:
                            resp.close()
                        raise _status_error(resp.status, raw)
            done = False
            # Take whatever the network delivered, then parse every whole line in it: events
            # that arrived together leave together (`more`), one write to the client for each
            # read from upstream instead of one per event.
            partial = b""

            def stream_timeout() -> str:
                if loop.time() >= total_deadline:
                    return f"no whole answer within {self.config.total_timeout_s:g} s"
                if state.first_token_at is None and state.finish is None:
                    return self._no_first_token()
                return self._stalled()

            # `closing`: a no-op once whole (the connection is reused); closes it if not.
            with (
                _Failures(self.config, stream_timeout, "stream"),
                contextlib.closing(resp),
            ):
                while not done:
                    async with asyncio.timeout_at(min(deadline, total_deadline)):
                        data_read = await resp.next_piece()
                    if not data_read:
                        break
                    lines = (partial + data_read).split(b"\n")
                    partial = lines.pop()
                    events = []
                    for line in lines:
                        if not line.startswith(b"data:"):
                            continue
                        event = _parse_event(line)
                        if event is None:
                            done = True
                            break
                        events.append(event)
                    for i, event in enumerate(events):
                        if event.usage:
                            state.usage = event.usage
                        if event.text:
                            if state.first_token_at is None:
                                state.first_token_at = time.perf_counter()
                            state.text.append(event.text)
                        if event.finish:
                            state.finish = event.finish
                        # The stream's last read goes out with the gateway's own tail in one
                        # write, after the loop.
                        event.more = done or i < len(events) - 1
                        yield event
                    if state.first_token_at is not None or state.finish:
                        deadline = loop.time() + self.config.stall_timeout_s
                if not done and partial.startswith(b"data:") and _parse_event(partial) is None:
                    done = True  # `[DONE]` as the very last bytes, with no newline after it
                if not done and state.finish is None:
                    raise BackendError("the upstream stream was cut off", kind="stream_error")


def _parse_event(line: bytes) -> Event | None:
    """One `data:` line of an OpenAI stream as an event; None for `[DONE]`."""
    chunk = line[5:].strip()
    if chunk == b"[DONE]":
        return None
    try:
        payload = json.loads(chunk)
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        raise BackendError("malformed stream event", kind="stream_error")
    if "error" in payload:
        raise BackendError("error inside the upstream stream", kind="stream_error")
    event = Event(raw=b"data: " + chunk + b"\n\n", payload=payload)
    choices = payload.get("choices")
    if choices:
        choice = choices[0]
        delta = choice.get("delta")
        event.text = (delta.get("content") if delta else choice.get("text")) or ""
        event.finish = choice.get("finish_reason")
    if payload.get("usage"):
        event.usage = payload["usage"]
    return event


# Through llmpick's providers (Anthropic, Gemini, llama.cpp in-process) ------------------------


def _messages(body: dict[str, Any]) -> list[Message] | str:
    if "messages" not in body:
        return request_text(body)
    out = []
    for m in body["messages"]:
        role: Role = m.get("role") if m.get("role") in ("system", "user", "assistant") else "user"
        out.append(Message(role, _content_text(m.get("content"))))
    return out


def _params(body: dict[str, Any], stream: bool) -> GenerateParams:
    stop = body.get("stop") or ()
    limit = body.get("max_completion_tokens") or body.get("max_tokens")
    return GenerateParams(
        max_tokens=int(limit) if limit is not None else 256,
        temperature=float(body.get("temperature") or 0.0),
        top_p=body.get("top_p"),
        stop=(stop,) if isinstance(stop, str) else tuple(stop),
        seed=body.get("seed"),
        stream=stream,
    )


def _provider_error(exc: ProviderError) -> BackendError:
    client_fault = isinstance(exc, BadRequestError | ContextOverflowError)
    return BackendError(
        str(exc),
        kind="invalid_request_error" if client_fault else "upstream_error",
        status=400 if client_fault else 502,
        fallback=not client_fault,
    )


class ProviderBackend(GatewayBackend):
    """A backend reached through an llmpick provider, which owns the vendor's wire format."""

    def __init__(self, config: Backend) -> None:
        super().__init__(config)
        self.provider: Provider = create_provider(_provider_config(config))
        self._loaded = config.local is None

    async def start(self) -> None:
        load = getattr(self.provider, "load", None)
        if load is not None:
            await load()
        self._loaded = True

    @property
    def ready(self) -> bool:
        return self._loaded

    async def complete(self, body: dict[str, Any], chat: bool) -> Answer:
        async with self._slots:
            with _Failures(self.config, self._no_answer, "provider"):
                async with asyncio.timeout(self.config.total_timeout_s):
                    response = await self.provider.generate(_messages(body), _params(body, False))
        return Answer(
            text=response.text,
            finish=response.finish_reason,
            input_tokens=response.usage.input_tokens,
            output_tokens=response.usage.output_tokens,
            usage_source=response.usage.source,
            model=self.config.name,
        )

    async def stream(
        self, body: dict[str, Any], chat: bool, state: StreamState
    ) -> AsyncGenerator[Event, None]:
        queue: asyncio.Queue[str | None] = asyncio.Queue()
        async with self._slots:
            task = asyncio.create_task(
                self.provider.generate(
                    _messages(body), _params(body, True), on_text=queue.put_nowait
                )
            )
            task.add_done_callback(lambda _: queue.put_nowait(None))
            loop = asyncio.get_running_loop()
            deadline = loop.time() + self.config.first_token_timeout_s

            def stream_timeout() -> str:
                first = state.first_token_at is None
                return self._no_first_token() if first else self._stalled()

            try:
                with _Failures(self.config, stream_timeout, "provider"):
                    while True:
                        async with asyncio.timeout_at(deadline):
                            text = await queue.get()
                        if text is None:
                            break
                        if state.first_token_at is None:
                            state.first_token_at = time.perf_counter()
                        state.text.append(text)
                        deadline = loop.time() + self.config.stall_timeout_s
                        yield Event(text=text)
                    response = await task
            finally:
                if not task.done():
                    task.cancel()  # a deadline, an error or the client gone: stop generating
        usage = {
            "prompt_tokens": response.usage.input_tokens,
            "completion_tokens": response.usage.output_tokens,
            "total_tokens": response.usage.total_tokens,
        }
        state.usage = usage
        state.finish = response.finish_reason
        yield Event(finish=response.finish_reason, usage=usage)

    async def aclose(self) -> None:
        await self.provider.aclose()


def _provider_config(config: Backend) -> dict[str, Any]:
    if config.local is not None:
        local = config.local
        out: dict[str, Any] = {"kind": "llamacpp", "model": local.model, "n_ctx": local.n_ctx}
        if local.model_path:
            out["model_path"] = local.model_path
        if local.n_threads:
            out["n_threads"] = local.n_threads
        return out
    endpoint = config.endpoint
    assert endpoint is not None
    values: dict[str, Any] = {
        "kind": endpoint.protocol,
        "model": endpoint.model,
        "base_url": endpoint.base_url,
        "api_key_env": endpoint.api_key_env,
        "headers": endpoint.headers,
        "max_retries": 0,  # the router owns retries: at most one attempt per backend
        "connect_timeout_s": config.connect_timeout_s,
        "total_timeout_s": config.total_timeout_s,
        "max_concurrency": config.max_concurrency,
        "adaptive_concurrency": False,
        # The gateway keeps its own first-token and stall deadlines; the provider's are a
        # backstop, under whichever names its config has.
        "first_token_timeout_s": config.first_token_timeout_s,
        "idle_timeout_s": config.stall_timeout_s,
        "read_timeout_s": max(config.stall_timeout_s, config.first_token_timeout_s),
    }
    known = provider_class(endpoint.protocol).config_class.model_fields
    return {k: v for k, v in values.items() if k in known}


def build_backend(config: Backend) -> GatewayBackend:
    """The backend object for a config entry."""
    if config.endpoint is not None and config.endpoint.protocol == "openai":
        return OpenAIPassThrough(config)
    return ProviderBackend(config)
