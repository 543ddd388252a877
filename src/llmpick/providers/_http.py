"""The HTTP connection every wire protocol runs on: the aiohttp session, request URLs, timeouts
(connect, first token, idle, total), retries' inputs, adaptive concurrency and rate limits per
endpoint, timings, and keeping keys out of every output.

`HttpProvider` is generic: a vendor is a wire module (`llmpick.providers.wire.<protocol>`: request
building and answer parsing, pure) plus a small subclass naming it and building its request with
the vendor's options.

aiohttp rather than httpx: on a small machine a bare aiohttp streaming loop handles about five
times the requests per second of an httpx one, and the evaluation runner and load tests sit on
this layer.
"""

from __future__ import annotations

import asyncio
import os
import time
import weakref
from collections import deque
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any, ClassVar
from urllib.parse import urlencode, urlsplit, urlunsplit

import aiohttp
import yarl
from pydantic import Field

from llmpick._redact import REDACTED, redact_url, url_secrets
from llmpick.providers import _errors as errors
from llmpick.providers._base import Provider, ProviderConfig, TextCallback
from llmpick.providers._tokens import count_tokens_async
from llmpick.providers._types import GenerateParams, Prompt, Response, Timings, Usage
from llmpick.providers.wire import (
    Completion,
    SseReader,
    StreamState,
    WireFormat,
    WireRequest,
    error_for_status,
    excerpt,
    parse_retry_after,
)

__all__ = [
    "EndpointLimiter",
    "HttpProvider",
    "HttpProviderConfig",
    "Secret",
    "parse_retry_after",
]


class HttpProviderConfig(ProviderConfig):
    """Connection settings of a provider reached over HTTP."""

    base_url: str = Field(
        description="Server root, e.g. https://api.openai.com/v1 (a query string is kept apart "
        "from the request path, and its secrets are redacted wherever the URL is shown)."
    )
    api_key_env: str | None = Field(
        None, description="Name of the environment variable holding the API key (never the key)."
    )
    headers: dict[str, str] = Field(
        default_factory=dict, description="Extra request headers (not for secrets)."
    )
    connect_timeout_s: float = Field(10.0, gt=0, description="Time allowed to connect.")
    first_token_timeout_s: float = Field(
        60.0,
        gt=0,
        description="Streaming: longest wait from sending the request to the first text "
        "(a stalled request gives up its concurrency slot then).",
    )
    idle_timeout_s: float = Field(
        30.0, gt=0, description="Streaming: longest silence between two pieces of text."
    )
    total_timeout_s: float = Field(300.0, gt=0, description="Longest time for a whole attempt.")
    max_concurrency: int = Field(64, ge=1, description="Most requests in flight to this endpoint.")
    min_concurrency: int = Field(1, ge=1, description="Adaptive concurrency never goes lower.")
    adaptive_concurrency: bool = Field(
        True, description="Start low, grow on success, halve on 429 (per endpoint)."
    )
    requests_per_minute: float | None = Field(None, gt=0, description="Client-side request cap.")
    use_env_proxy: bool = Field(
        False, description="Honour HTTP(S)_PROXY / NO_PROXY (costs a thread hop per request)."
    )
    tokens_per_minute: float | None = Field(
        None, gt=0, description="Client-side cap on input + max output tokens."
    )
    tokenizer: str | None = Field(
        None,
        description="Counts tokens when the server reports none: a .gguf path, a tokenizer.json "
        "path, a local catalog id (local/...), or tiktoken:<encoding>.",
    )

    # The config fields passed as keywords to the protocol's `build_request`.
    wire_options: ClassVar[tuple[str, ...]] = ()

    def __repr_args__(self) -> Any:
        # A key in the URL's query or user info stays out of reprs and logs.
        for name, value in super().__repr_args__():
            yield name, redact_url(value) if name == "base_url" else value


class Secret:
    """An API key that shows as `***` in reprs, f-strings and logs."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def redact(self, text: str) -> str:
        """`text` with every occurrence of the key replaced by `***`."""
        return text.replace(self._value, REDACTED) if self._value else text


# Adaptive concurrency and rate limits --------------------------------------------------------


class _Bucket:
    """A token bucket refilled continuously; holds ten seconds' worth of the per-minute rate."""

    def __init__(self, per_minute: float) -> None:
        self.rate_per_s = per_minute / 60.0
        self.capacity = max(1.0, per_minute / 6.0)
        self.level = self.capacity
        self.updated = time.monotonic()

    def _refill(self) -> None:
        now = time.monotonic()
        self.level = min(self.capacity, self.level + (now - self.updated) * self.rate_per_s)
        self.updated = now

    async def take(self, amount: float) -> None:
        amount = min(amount, self.capacity)  # a request larger than the bucket waits for a full one
        while True:
            self._refill()
            if self.level >= amount:
                self.level -= amount
                return
            await asyncio.sleep((amount - self.level) / self.rate_per_s)


class EndpointLimiter:
    """Admission to one endpoint: adaptive concurrency (AIMD with slow start), `Retry-After`
    pauses shared by all callers (never longer than `max_pause_s`, whatever the server asks),
    and optional requests/min and tokens/min buckets."""

    def __init__(
        self,
        max_concurrency: int,
        min_concurrency: int = 1,
        adaptive: bool = True,
        requests_per_minute: float | None = None,
        tokens_per_minute: float | None = None,
        max_pause_s: float = 30.0,
    ) -> None:
        self.max_concurrency = max_concurrency
        self.min_concurrency = min(min_concurrency, max_concurrency)
        self.adaptive = adaptive
        self.max_pause_s = max_pause_s
        self.limit = float(min(max_concurrency, 4) if adaptive else max_concurrency)
        self.limit = max(self.limit, float(self.min_concurrency))
        self.slow_start = adaptive
        self.in_flight = 0
        self.paused_until = 0.0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._requests = _Bucket(requests_per_minute) if requests_per_minute else None
        self._tokens = _Bucket(tokens_per_minute) if tokens_per_minute else None

    async def acquire(self, estimated_tokens: int = 0) -> None:
        while True:
            pause = self.paused_until - time.monotonic()
            if pause > 0:
                await asyncio.sleep(pause)
                continue
            if self.in_flight < int(self.limit):
                break
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
                raise
        self.in_flight += 1
        try:
            if self._requests is not None:
                await self._requests.take(1)
            if self._tokens is not None and estimated_tokens:
                await self._tokens.take(estimated_tokens)
        except BaseException:
            self.release()
            raise

    def release(self) -> None:
        self.in_flight -= 1
        self._wake()

    def record(self, error: errors.ProviderError | None) -> None:
        """Adapt to an attempt's outcome: grow on success, halve on 429."""
        if isinstance(error, errors.RateLimitError):
            if error.retry_after_s:
                pause = min(error.retry_after_s, self.max_pause_s)
                self.paused_until = max(self.paused_until, time.monotonic() + pause)
            if self.adaptive:
                self.slow_start = False
                self.limit = max(float(self.min_concurrency), self.limit / 2)
        elif error is None and self.adaptive and self.limit < self.max_concurrency:
            step = 1.0 if self.slow_start else 1.0 / self.limit
            self.limit = min(float(self.max_concurrency), self.limit + step)
            self._wake()

    def _wake(self) -> None:
        free = int(self.limit) - self.in_flight
        while free > 0 and self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                free -= 1


# Limiters are shared by every provider talking to the same endpoint, within one event loop.
_LIMITERS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, EndpointLimiter]] = (
    weakref.WeakKeyDictionary()
)


def _limiter_for(config: HttpProviderConfig) -> EndpointLimiter:
    per_loop = _LIMITERS.setdefault(asyncio.get_running_loop(), {})
    key = config.base_url.rstrip("/")
    limiter = per_loop.get(key)
    if limiter is None:
        limiter = per_loop[key] = EndpointLimiter(
            config.max_concurrency,
            config.min_concurrency,
            config.adaptive_concurrency,
            config.requests_per_minute,
            config.tokens_per_minute,
            max_pause_s=config.backoff_max_s,
        )
    return limiter


# Timeouts ------------------------------------------------------------------------------------


class _StallGuard:
    """Ends a streamed attempt that waits too long for its first text or falls silent after it.

    One timer per attempt, re-armed only when it fires (nothing runs per chunk): it reads the
    arrival times the attempt records anyway (`Timings`). Expiry moves `scope`'s deadline to
    now, so the attempt ends with a `TimeoutError` and gives up its concurrency slot.
    """

    __slots__ = ("_handle", "_loop", "_scope", "expired", "first_token_s", "idle_s", "timings")

    def __init__(
        self, scope: asyncio.Timeout, timings: Timings, first_token_s: float, idle_s: float
    ) -> None:
        self._loop = asyncio.get_running_loop()
        self._scope = scope
        self.timings = timings
        self.first_token_s = first_token_s
        self.idle_s = idle_s
        self.expired: str | None = None
        self._handle = self._loop.call_later(min(first_token_s, idle_s), self._check)

    def _check(self) -> None:
        now = time.perf_counter()
        t = self.timings
        if t.last_token is None:
            wait = t.request_sent + self.first_token_s - now
            kind = f"no text {self.first_token_s:g} s after the request (first-token timeout)"
        else:
            wait = t.last_token + self.idle_s - now
            kind = f"no text for {self.idle_s:g} s mid-answer (idle timeout)"
        if wait > 0:
            self._handle = self._loop.call_later(min(wait, self.idle_s), self._check)
            return
        self.expired = kind
        self._scope.reschedule(self._loop.time())

    def cancel(self) -> None:
        self._handle.cancel()


# The provider --------------------------------------------------------------------------------


class HttpProvider(Provider):
    """A model behind an HTTP endpoint, speaking the protocol of `wire`.

    Subclasses set `kind`, `config_class` (whose `wire_options` name the fields passed to the
    protocol's `build_request`) and `wire`; everything else (sending, streaming, timeouts,
    errors, usage when the server reports none, model listing) is here, once for every protocol.
    """

    config: HttpProviderConfig
    config_class = HttpProviderConfig
    wire: ClassVar[WireFormat]
    in_process = False

    def __init__(self, config: ProviderConfig) -> None:
        super().__init__(config)
        self._session: aiohttp.ClientSession | None = None
        env = self.config.api_key_env
        value = os.environ.get(env) if env else None
        self._key: Secret | None = Secret(value) if value else None
        self._url_secrets = url_secrets(self.config.base_url)
        parts = urlsplit(self.config.base_url)
        self._base = (parts.scheme, parts.netloc, parts.path.rstrip("/"), parts.query)
        self._urls: dict[tuple[str, tuple[tuple[str, str], ...]], yarl.URL] = {}
        self._wire_options = {name: getattr(self.config, name) for name in self.config.wire_options}

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} kind={self.kind!r} model={self.model!r} "
            f"base_url={self.shown_url!r}>"
        )

    @property
    def base_url(self) -> str:
        return self.config.base_url.rstrip("/")

    @property
    def shown_url(self) -> str:
        """The base URL as it may be shown or stored: secrets in it replaced by `***`."""
        return redact_url(self.base_url)

    def build_request(self, prompt: Prompt, params: GenerateParams) -> WireRequest:
        """The protocol's request for one call, with this provider's wire options."""
        return self.wire.build_request(self.model, prompt, params, **self._wire_options)

    def protocol_headers(self) -> dict[str, str]:
        """The protocol's own headers, the same on every request (e.g. a version); no secrets."""
        return dict(self.build_request("", GenerateParams(stream=False)).headers)

    # Secrets ----------------------------------------------------------------------------------

    def redact(self, text: str) -> str:
        """`text` without the API key or any secret of the base URL."""
        if self._key is not None:
            text = self._key.redact(text)
        for secret in self._url_secrets:
            text = text.replace(secret, REDACTED)
        return text

    def error(
        self, cls: type[errors.ProviderError], message: str, **kw: Any
    ) -> errors.ProviderError:
        """An error of `cls` naming this provider, with secrets scrubbed from the message."""
        if "partial_text" in kw:
            kw["partial_text"] = self.redact(kw["partial_text"])
        return cls(self.redact(message), provider=self.kind, model=self.model, **kw)

    def api_key(self) -> str:
        """The key, for the auth header only. Raises a setup error naming the variable."""
        if self._key is None:
            env = self.config.api_key_env
            self._key = Secret(os.environ.get(env, "")) if env else None
            if self._key is None or not self._key.reveal():
                self._key = None
                raise self.error(
                    errors.ProviderSetupError,
                    f"no API key: set the environment variable {env} (export {env}=...)",
                )
        return self._key.reveal()

    def _auth_headers(self) -> dict[str, str]:
        return self.wire.auth_headers(self.api_key()) if self.config.api_key_env else {}

    # Connection -------------------------------------------------------------------------------

    def url(self, path: str, query: tuple[tuple[str, str], ...] = ()) -> yarl.URL:
        """The request URL: the base URL's path + `path`, the base URL's query + `query`."""
        key = (path, query)
        url = self._urls.get(key)
        if url is None:
            scheme, netloc, base_path, base_query = self._base
            joined = "&".join(q for q in (base_query, urlencode(query)) if q)
            url = yarl.URL(urlunsplit((scheme, netloc, base_path + path, joined, "")))
            self._urls[key] = url
        return url

    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            cfg = self.config
            # Silences are timed by `_StallGuard` (first token, then idle), not per socket read.
            timeout = aiohttp.ClientTimeout(
                total=cfg.total_timeout_s, sock_connect=cfg.connect_timeout_s
            )
            self._session = aiohttp.ClientSession(
                timeout=timeout,
                connector=aiohttp.TCPConnector(limit=0, ttl_dns_cache=300),
                trust_env=self.config.use_env_proxy,
                raise_for_status=False,
            )
        return self._session

    async def aclose(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    # Admission --------------------------------------------------------------------------------

    @asynccontextmanager
    async def _admission(self, prompt: Prompt, params: GenerateParams) -> AsyncIterator[None]:
        limiter = _limiter_for(self.config)
        estimate = _estimate_tokens(prompt) + (params.max_tokens or 0)
        await limiter.acquire(estimate if self.config.tokens_per_minute else 0)
        try:
            yield
        finally:
            limiter.release()

    def _on_outcome(self, error: errors.ProviderError | None) -> None:
        _limiter_for(self.config).record(error)

    # One attempt ------------------------------------------------------------------------------

    async def _generate_once(
        self, prompt: Prompt, params: GenerateParams, emit: TextCallback | None
    ) -> Response:
        request = self.build_request(prompt, params)
        headers = {**self.config.headers, **request.headers, **self._auth_headers()}
        url = self.url(request.path, request.query)
        timings = Timings(request_sent=time.perf_counter())
        state = self.wire.stream_state(self.redact) if request.stream else None
        guard: _StallGuard | None = None
        try:
            async with asyncio.timeout(None) as scope:
                if state is not None:
                    guard = _StallGuard(
                        scope,
                        timings,
                        self.config.first_token_timeout_s,
                        self.config.idle_timeout_s,
                    )
                try:
                    async with self.post(url, request.body, headers, timings) as resp:
                        with self.map_transport_errors(state):
                            if state is not None and _is_event_stream(resp):
                                completion = await self._read_stream(resp, state, timings, emit)
                            else:
                                completion = await self._read_whole(resp, request, timings, emit)
                finally:
                    if guard is not None:
                        guard.cancel()
        except TimeoutError:
            if guard is None or guard.expired is None:
                raise
            raise self.error(
                errors.ProviderTimeoutError,
                guard.expired,
                partial_text=state.text if state is not None else "",
            ) from None
        except errors.ModelNotFoundError as exc:
            raise await self._with_available_models(exc) from None
        timings.completed = time.perf_counter()
        if completion.finish_reason == "content_filter":
            raise self.error(
                errors.ContentFilterError,
                f"the answer was stopped by a content filter ({completion.raw_finish_reason})",
                partial_text=completion.text,
            )
        usage = completion.usage or await self._counted_usage(
            prompt, completion.text, len(timings.chunk_times)
        )
        return Response(
            text=completion.text,
            finish_reason=completion.finish_reason or "other",
            usage=usage,
            timings=timings,
            model=completion.model or self.model,
            provider=self.kind,
            raw_finish_reason=completion.raw_finish_reason,
        )

    async def _read_stream(
        self,
        resp: aiohttp.ClientResponse,
        state: StreamState,
        timings: Timings,
        emit: TextCallback | None,
    ) -> Completion:
        reader = SseReader()
        feed = state.feed
        mark = timings.mark_content
        async for event, data in reader.read(resp.content):
            text = feed(event, data)
            if text:
                mark(time.perf_counter())
                if emit is not None:
                    emit(text)
            if state.complete:
                break
        if reader.events == 0 and reader.junk is not None:
            # Not a stream cut short: a body of something else (plain text, a page).
            raise self.error(
                errors.UnexpectedResponseError,
                f"the server answered {resp.content_type}, not an event stream: "
                f"{excerpt(reader.junk, self.redact, 120)!r}",
            )
        return state.finish()

    async def _read_whole(
        self,
        resp: aiohttp.ClientResponse,
        request: WireRequest,
        timings: Timings,
        emit: TextCallback | None,
    ) -> Completion:
        ctype = resp.content_type
        if "html" in ctype or ctype.endswith("xml"):
            raise self.error(
                errors.UnexpectedResponseError,
                f"the server answered {ctype}, not "
                + ("an event stream" if request.stream else "a JSON answer")
                + f": {excerpt(await resp.content.read(2048), self.redact, 120)!r}",
            )
        raw = await resp.read()
        try:
            completion = self.wire.parse_body(raw, self.redact)
        except errors.ProviderError as exc:
            if not (request.stream or isinstance(exc, errors.StreamError)):
                raise
            # Asked for a stream (or JSON) and got something that is not the protocol's answer.
            wanted = "an event stream" if request.stream else "JSON"
            raise self.error(
                errors.UnexpectedResponseError,
                f"the server answered {ctype}, not {wanted}: {excerpt(raw, self.redact, 120)!r}",
            ) from None
        if completion.text:
            timings.mark_content(time.perf_counter())
            if emit is not None:
                emit(completion.text)
        return completion

    async def _counted_usage(self, prompt: Prompt, text: str, chunks: int) -> Usage:
        """Token counts when the server reported none: the configured tokenizer, else an
        estimate (streaming servers send about one token per chunk; characters/4 otherwise)."""
        prompt_text = prompt if isinstance(prompt, str) else "\n".join(m.content for m in prompt)
        if self.config.tokenizer:
            counts = await count_tokens_async(self.config.tokenizer, [prompt_text, text])
            if counts is not None:
                return Usage(counts[0], counts[1], "tokenizer")
        output = chunks if chunks else (len(text) + 3) // 4
        return Usage(len(prompt_text) // 4 + 1, output, "estimate")

    @asynccontextmanager
    async def post(
        self, url: yarl.URL | str, body: dict[str, Any], headers: dict[str, str], timings: Timings
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        """POST JSON; yields the response once its headers arrive with a 2xx status.

        Sets `timings.request_sent` and `timings.first_byte`; maps non-2xx statuses and
        connection failures to typed errors.
        """
        with self.map_transport_errors(None):
            timings.request_sent = time.perf_counter()
            async with self.session().post(url, json=body, headers=headers) as response:
                timings.first_byte = time.perf_counter()
                if response.status >= 400:
                    raise await self.status_error(response)
                yield response

    @contextmanager
    def map_transport_errors(self, state: StreamState | None) -> Iterator[None]:
        """Turn aiohttp/timeout exceptions into typed errors naming this provider, and name it
        in the wire functions' errors; `state` holds the text so far."""

        def partial() -> str:
            return state.text if state is not None else ""

        try:
            yield
        except errors.ProviderError as exc:
            if not exc.provider:
                exc.partial_text = self.redact(exc.partial_text)
                exc.locate(self.kind, self.model)
            raise
        except aiohttp.ServerTimeoutError as exc:
            raise self.error(
                errors.ProviderTimeoutError,
                f"could not connect within {self.config.connect_timeout_s:g} s (connect timeout,"
                f" {type(exc).__name__})",
                partial_text=partial(),
            ) from None
        except TimeoutError:
            # aiohttp's total timeout. (The stall guard's expiry arrives as a cancellation,
            # which passes through here and becomes a TimeoutError only at its scope.)
            raise self.error(
                errors.ProviderTimeoutError,
                f"the attempt took longer than {self.config.total_timeout_s:g} s (total timeout)",
                partial_text=partial(),
            ) from None
        except (aiohttp.ClientPayloadError, aiohttp.ServerDisconnectedError) as exc:
            text = partial()
            if text:
                raise self.error(
                    errors.StreamError,
                    f"stream cut off mid-way ({type(exc).__name__})",
                    partial_text=text,
                ) from None
            raise self.error(
                errors.ProviderConnectionError,
                f"connection closed by the server ({type(exc).__name__})",
            ) from None
        except (aiohttp.ClientError, OSError) as exc:
            raise self.error(
                errors.ProviderConnectionError,
                f"cannot reach {self.shown_url}: {type(exc).__name__}: {exc}",
                partial_text=partial(),
            ) from None
        except UnicodeDecodeError:
            raise self.error(
                errors.StreamError, "stream is not valid UTF-8", partial_text=partial()
            ) from None

    async def status_error(self, response: aiohttp.ClientResponse) -> errors.ProviderError:
        """The typed error for a non-2xx response, with the server's own message (secrets
        removed before it is cut) and, for a long `Retry-After`, what was asked and what
        llmpick waits instead."""
        try:
            raw = (await response.content.read(64 * 1024)).decode("utf-8", "replace")
        except (aiohttp.ClientError, TimeoutError):
            raw = ""
        env = self.config.api_key_env
        hint = (
            f"check the key in {env}" if env else "this server needs an API key: set `api_key_env`"
        )
        error = error_for_status(
            response.status, raw, response.headers, redact=self.redact, auth_hint=hint
        )
        if isinstance(error, errors.ModelNotFoundError):
            error.detail = f"model {self.model!r} not found: {error.detail}"
        asked, cap = error.retry_after_s, self.config.backoff_max_s
        if asked is not None and asked > cap:
            asked_text = "indefinitely" if asked == float("inf") else f"{asked:g} s"
            error.detail += (
                f" (the server asked to wait {asked_text}; llmpick waits at most {cap:g} s "
                "between attempts: backoff_max_s)"
            )
        return error.locate(self.kind, self.model)

    # Models -----------------------------------------------------------------------------------

    async def list_models(self) -> list[str]:
        """Model names the endpoint offers now (the protocol's model list)."""
        headers = {**self.config.headers, **self.protocol_headers(), **self._auth_headers()}
        with self.map_transport_errors(None):
            async with self.session().get(
                self.url(self.wire.models_path),
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=10),
            ) as resp:
                if resp.status >= 400:
                    raise await self.status_error(resp)
                payload = await resp.json(content_type=None)
        return self.wire.parse_models(payload if isinstance(payload, dict) else {})

    async def available_models(self) -> list[str]:
        """What the endpoint offers, for an unknown-model error; empty if it cannot say.

        The listing is only a hint in an error message, so its own failure is swallowed."""
        try:
            return await self.list_models()
        except (errors.ProviderError, aiohttp.ClientError, TimeoutError, ValueError):
            return []

    async def _with_available_models(self, exc: errors.ModelNotFoundError) -> errors.ProviderError:
        available = await self.available_models()
        if not available:
            return exc
        return self.error(
            errors.ModelNotFoundError,
            f"model {self.model!r} not found (HTTP {exc.status})",
            status=exc.status,
            available=available,
        )


def _is_event_stream(resp: aiohttp.ClientResponse) -> bool:
    """Whether to read the body as server-sent events: anything but HTML, XML or JSON (some
    servers label their streams text/plain or nothing at all)."""
    ctype = resp.content_type
    return not ("html" in ctype or "json" in ctype or ctype.endswith("xml"))


def _estimate_tokens(prompt: Prompt) -> int:
    if isinstance(prompt, str):
        return len(prompt) // 4 + 1
    return sum(len(m.content) for m in prompt) // 4 + 4 * len(prompt)
