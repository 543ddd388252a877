"""Typed errors of model calls. Messages never contain an API key.

```
LlmpickError
└── ProviderError                 (provider, model, status, partial_text)
    ├── ProviderSetupError        missing key env var, missing package, bad model file
    ├── AuthenticationError       401 / 403: key missing, wrong or without access
    ├── ModelNotFoundError        404: lists what the server offers
    ├── ContextOverflowError      prompt + max_tokens exceed the context window
    ├── ContentFilterError        the vendor refused or stopped for safety
    ├── BadRequestError           any other 4xx the caller must fix
    ├── RateLimitError            429 (retried; raised once retries are spent)   [retryable]
    ├── ServerError               5xx / overloaded (retried)                     [retryable]
    ├── ProviderConnectionError   could not connect / connection reset           [retryable]
    ├── ProviderTimeoutError      connect, first-token, idle or total timeout    [retryable]
    ├── UnexpectedResponseError   not the protocol's answer (an HTML page, JSON for a stream)
    └── StreamError               a stream cut off mid-way or malformed; keeps partial_text
```
Every error carries `attempts`: how many attempts (HTTP requests, for HTTP providers) the call
made before it failed for good; 0 when it failed before sending anything.
"""

from __future__ import annotations

from typing import Self

from llmpick._errors import LlmpickError

__all__ = [
    "AuthenticationError",
    "BadRequestError",
    "ContentFilterError",
    "ContextOverflowError",
    "ModelNotFoundError",
    "ProviderConnectionError",
    "ProviderError",
    "ProviderSetupError",
    "ProviderTimeoutError",
    "RateLimitError",
    "ServerError",
    "StreamError",
    "UnexpectedResponseError",
]


class ProviderError(LlmpickError):
    """A model call failed. `partial_text` keeps whatever streamed before the failure."""

    retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        provider: str = "",
        model: str = "",
        status: int | None = None,
        partial_text: str = "",
        retry_after_s: float | None = None,
    ) -> None:
        where = f"{provider}:{model}" if provider or model else ""
        super().__init__(f"{where}: {message}" if where else message)
        self.detail = message
        self.provider = provider
        self.model = model
        self.status = status
        self.partial_text = partial_text
        self.retry_after_s = retry_after_s
        self.attempts = 1

    def locate(self, provider: str, model: str) -> Self:
        """Name the provider and model in the message (the wire functions raise without them)."""
        self.provider, self.model = provider, model
        self.args = (f"{provider}:{model}: {self.detail}",)
        return self


class ProviderSetupError(ProviderError):
    """The provider cannot be used as configured (no key, package not installed, bad file)."""

    def __init__(self, message: str, **kw: object) -> None:
        super().__init__(message, **kw)  # type: ignore[arg-type]
        self.attempts = 0  # raised before anything was sent


class AuthenticationError(ProviderError):
    """The server rejected the key (401) or the key lacks access (403)."""


class ModelNotFoundError(ProviderError):
    """The server does not serve this model; `available` lists what it does serve, if known."""

    def __init__(self, message: str, *, available: list[str] | None = None, **kw: object) -> None:
        self.available = list(available or [])
        if self.available:
            shown = ", ".join(self.available[:20])
            more = f" (+{len(self.available) - 20} more)" if len(self.available) > 20 else ""
            message = f"{message}; the server offers: {shown}{more}"
        super().__init__(message, **kw)  # type: ignore[arg-type]


class ContextOverflowError(ProviderError):
    """The prompt plus `max_tokens` does not fit the model's context window."""


class ContentFilterError(ProviderError):
    """The vendor's safety filter blocked the prompt or stopped the answer."""


class BadRequestError(ProviderError):
    """The server rejected the request as malformed (a 4xx other than the ones above)."""


class RateLimitError(ProviderError):
    """429 Too Many Requests; `retry_after_s` is the server's hint when it sent one."""

    retryable = True


class ServerError(ProviderError):
    """The server failed (5xx, overloaded)."""

    retryable = True


class ProviderConnectionError(ProviderError):
    """No connection could be made, or it broke before the response started."""

    retryable = True


class ProviderTimeoutError(ProviderError):
    """A connect, first-token, idle (silence between chunks) or total timeout expired."""

    retryable = True


class UnexpectedResponseError(ProviderError):
    """The server answered with something that is not the protocol's answer: an HTML page (a
    wrong `base_url`, a proxy's login page), or plain JSON where an event stream was asked for.
    Not retried: asking again gets the same page."""


class StreamError(ProviderError):
    """The response stream ended without its end marker, or could not be parsed.

    Retried only while nothing has been shown to the caller; `partial_text` keeps what arrived.
    """

    retryable = True
