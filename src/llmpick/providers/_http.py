"""What every HTTP provider shares: the aiohttp session, timeouts, SSE parsing, error mapping,
adaptive concurrency and rate limits per endpoint, and keeping the API key out of every output.

aiohttp rather than httpx: on a small machine a bare aiohttp streaming loop handles about five
times the requests per second of an httpx one, and the evaluation runner and load tests sit on
this layer.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import os
import time
import weakref
from collections import deque
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import aiohttp
from pydantic import Field

from llmpick.providers._base import Provider, ProviderConfig
from llmpick.providers._errors import (
    AuthenticationError,
    BadRequestError,
    ContentFilterError,
    ContextOverflowError,
    ModelNotFoundError,
    ProviderConnectionError,
    ProviderError,
    ProviderSetupError,
    ProviderTimeoutError,
    RateLimitError,
    ServerError,
    StreamError,
)
from llmpick.providers._types import GenerateParams, Message, Prompt, Timings

__all__ = [
    "EndpointLimiter",
    "HttpProvider",
    "HttpProviderConfig",
    "Secret",
    "iter_sse",
    "parse_retry_after",
]


class HttpProviderConfig(ProviderConfig):
    """Connection settings of a provider reached over HTTP."""

    base_url: str = Field(description="Server root, e.g. https://api.openai.com/v1.")
    api_key_env: str | None = Field(
        None, description="Name of the environment variable holding the API key (never the key)."
    )
    headers: dict[str, str] = Field(
        default_factory=dict, description="Extra request headers (not for secrets)."
    )
    connect_timeout_s: float = Field(10.0, gt=0, description="Time allowed to connect.")
    read_timeout_s: float = Field(120.0, gt=0, description="Longest silence between two reads.")
    total_timeout_s: float = Field(600.0, gt=0, description="Longest time for a whole attempt.")
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
        return text.replace(self._value, "***") if self._value else text


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
    pauses shared by all callers, and optional requests/min and tokens/min buckets."""

    def __init__(
        self,
        max_concurrency: int,
        min_concurrency: int = 1,
        adaptive: bool = True,
        requests_per_minute: float | None = None,
        tokens_per_minute: float | None = None,
    ) -> None:
        self.max_concurrency = max_concurrency
        self.min_concurrency = min(min_concurrency, max_concurrency)
        self.adaptive = adaptive
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

    def record(self, error: ProviderError | None) -> None:
        """Adapt to an attempt's outcome: grow on success, halve on 429."""
        if isinstance(error, RateLimitError):
            if error.retry_after_s:
                self.paused_until = max(self.paused_until, time.monotonic() + error.retry_after_s)
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
        )
    return limiter


# SSE -----------------------------------------------------------------------------------------


async def iter_sse(response: aiohttp.ClientResponse) -> AsyncIterator[tuple[str, str]]:
    """Yield `(event, data)` for each server-sent event; `event` is "message" when unnamed."""
    event = "message"
    data: list[str] = []
    async for raw in response.content:
        line = raw.decode("utf-8").rstrip("\r\n")
        if not line:
            if data:
                yield event, "\n".join(data)
            event, data = "message", []
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if name == "data":
            data.append(value)
        elif name == "event":
            event = value
    if data:  # a final event without its blank line
        yield event, "\n".join(data)


def load_event_json(data: str, pieces: list[str], provider: HttpProvider) -> dict[str, Any]:
    """Parse one SSE payload; anything but a JSON object is a `StreamError` keeping `pieces`."""
    try:
        payload = json.loads(data)
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        raise provider.error(
            StreamError, f"malformed stream event: {data[:120]!r}", partial_text="".join(pieces)
        )
    return payload


def parse_retry_after(headers: Any) -> float | None:
    """Seconds to wait from `retry-after-ms` / `Retry-After` (seconds or an HTTP date)."""
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


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


class HttpProvider(Provider):
    """Base of the HTTP providers: one aiohttp session per provider, limiter per endpoint."""

    config: HttpProviderConfig
    config_class = HttpProviderConfig

    def __init__(self, config: ProviderConfig) -> None:
        super().__init__(config)
        self._session: aiohttp.ClientSession | None = None
        env = self.config.api_key_env
        value = os.environ.get(env) if env else None
        self._key: Secret | None = Secret(value) if value else None

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} kind={self.kind!r} model={self.model!r} "
            f"base_url={self.config.base_url!r}>"
        )

    @property
    def base_url(self) -> str:
        return self.config.base_url.rstrip("/")

    def error(self, cls: type[ProviderError], message: str, **kw: Any) -> ProviderError:
        """An error of `cls` naming this provider, with the key scrubbed from the message."""
        if self._key is not None:
            message = self._key.redact(message)
            if "partial_text" in kw:
                kw["partial_text"] = self._key.redact(kw["partial_text"])
        return cls(message, provider=self.kind, model=self.model, **kw)

    def api_key(self) -> str:
        """The key, for the auth header only. Raises a setup error naming the variable."""
        if self._key is None:
            env = self.config.api_key_env
            self._key = Secret(os.environ.get(env, "")) if env else None
            if self._key is None or not self._key.reveal():
                self._key = None
                raise self.error(
                    ProviderSetupError,
                    f"no API key: set the environment variable {env} (export {env}=...)",
                )
        return self._key.reveal()

    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            cfg = self.config
            timeout = aiohttp.ClientTimeout(
                total=cfg.total_timeout_s,
                sock_connect=cfg.connect_timeout_s,
                sock_read=cfg.read_timeout_s,
            )
            self._session = aiohttp.ClientSession(
                timeout=timeout,
                connector=aiohttp.TCPConnector(limit=0, ttl_dns_cache=300),
                trust_env=self.config.use_env_proxy,
                raise_for_status=False,
            )
        return self._session

    async def available_models(self) -> list[str]:
        """What the endpoint offers, for an unknown-model error; empty if it cannot say.

        The listing is only a hint in an error message, so its own failure is swallowed."""
        try:
            return await self.list_models()
        except (ProviderError, aiohttp.ClientError, TimeoutError, ValueError):
            return []

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

    def _on_outcome(self, error: ProviderError | None) -> None:
        _limiter_for(self.config).record(error)

    # Requests ---------------------------------------------------------------------------------

    @asynccontextmanager
    async def post(
        self, url: str, body: dict[str, Any], headers: dict[str, str], timings: Timings
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        """POST JSON; yields the response once its headers arrive with a 2xx status.

        Sets `timings.request_sent` and `timings.first_byte`; maps non-2xx statuses and
        connection failures to typed errors.
        """
        all_headers = {**self.config.headers, **headers}
        with self.map_transport_errors(lambda: ""):
            timings.request_sent = time.perf_counter()
            async with self.session().post(url, json=body, headers=all_headers) as response:
                timings.first_byte = time.perf_counter()
                if response.status >= 400:
                    raise await self.status_error(response)
                yield response

    @contextmanager
    def map_transport_errors(self, partial: Any) -> Iterator[None]:
        """Turn aiohttp/timeout exceptions into typed errors; `partial()` is the text so far."""
        try:
            yield
        except ProviderError:
            raise
        except aiohttp.ServerTimeoutError as exc:
            raise self.error(
                ProviderTimeoutError,
                f"no data for {self.config.read_timeout_s:g} s (read timeout) or connect timeout"
                f" ({type(exc).__name__})",
                partial_text=partial(),
            ) from None
        except TimeoutError:
            raise self.error(
                ProviderTimeoutError,
                f"the attempt took longer than {self.config.total_timeout_s:g} s (total timeout)",
                partial_text=partial(),
            ) from None
        except (aiohttp.ClientPayloadError, aiohttp.ServerDisconnectedError) as exc:
            text = partial()
            if text:
                raise self.error(
                    StreamError, f"stream cut off mid-way ({type(exc).__name__})", partial_text=text
                ) from None
            raise self.error(
                ProviderConnectionError, f"connection closed by the server ({type(exc).__name__})"
            ) from None
        except (aiohttp.ClientError, OSError) as exc:
            raise self.error(
                ProviderConnectionError,
                f"cannot reach {self.base_url}: {type(exc).__name__}: {exc}",
                partial_text=partial(),
            ) from None
        except UnicodeDecodeError:
            raise self.error(
                StreamError, "stream is not valid UTF-8", partial_text=partial()
            ) from None

    async def status_error(self, response: aiohttp.ClientResponse) -> ProviderError:
        """The typed error for a non-2xx response, with the server's own message."""
        status = response.status
        try:
            raw = (await response.content.read(64 * 1024)).decode("utf-8", "replace")
        except (aiohttp.ClientError, TimeoutError):
            raw = ""
        message, code = _server_message(raw)
        detail = f"HTTP {status}: {message}" if message else f"HTTP {status}"
        lowered = f"{message} {code}".lower()
        kw: dict[str, Any] = {"status": status}
        if (
            status in (401, 403)
            or "api_key_invalid" in raw.lower()
            or "api key not valid" in lowered
        ):
            hint = (
                f"check the key in {self.config.api_key_env}"
                if self.config.api_key_env
                else "this server needs an API key: set `api_key_env`"
            )
            return self.error(AuthenticationError, f"{detail} ({hint})", **kw)
        if status == 404:
            return self.error(ModelNotFoundError, f"model {self.model!r} not found: {detail}", **kw)
        if status == 429:
            err = self.error(
                RateLimitError, detail, retry_after_s=parse_retry_after(response.headers), **kw
            )
            if "insufficient_quota" in lowered or "quota exceeded" in lowered:
                err.retryable = False  # out of credit: waiting will not help
            return err
        if status >= 500:
            return self.error(
                ServerError, detail, retry_after_s=parse_retry_after(response.headers), **kw
            )
        if any(word in lowered for word in _CONTEXT_WORDS):
            return self.error(ContextOverflowError, detail, **kw)
        if any(word in lowered for word in _FILTER_WORDS):
            return self.error(ContentFilterError, detail, **kw)
        return self.error(BadRequestError, detail, **kw)


def _server_message(raw: str) -> tuple[str, str]:
    """The human message and the error code/type from an error body of any of the vendors."""
    try:
        body = json.loads(raw)
    except ValueError:
        return raw.strip()[:300], ""
    err = body.get("error", body) if isinstance(body, dict) else body
    if isinstance(err, str):
        return err[:300], ""
    if not isinstance(err, dict):
        return raw.strip()[:300], ""
    message = str(err.get("message") or err.get("detail") or raw.strip())[:300]
    code = " ".join(str(err.get(k, "")) for k in ("code", "type", "status"))
    return message, code


def _estimate_tokens(prompt: Prompt) -> int:
    if isinstance(prompt, str):
        return len(prompt) // 4 + 1
    return sum(len(m.content) for m in prompt) // 4 + 4 * len(prompt)


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
