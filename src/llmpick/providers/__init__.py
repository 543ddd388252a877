"""One async interface to open and closed models: OpenAI-compatible servers, Anthropic, Gemini,
and llama.cpp in-process for the models that ship on PyPI.

    from llmpick.providers import GenerateParams, Message, resolve_provider

    async with resolve_provider("local/smollm2-135m-instruct") as provider:
        response = await provider.generate([Message("user", "Capital of France?")])
        print(response.text, response.ttft_s, response.output_tokens_per_s)

The wire protocols (request building and answer parsing, both ways round, with no connection)
are public in `llmpick.providers.wire`, for a gateway that translates between them. The HTTP
connection that runs them is `HttpProvider` (imported on first use: it loads aiohttp); a new
vendor is a wire module, an `HttpProvider` subclass naming it, and `register_provider`.
"""

from __future__ import annotations

import typing as _typing

from llmpick._redact import redact_url
from llmpick.providers import wire
from llmpick.providers._base import (
    Provider,
    ProviderConfig,
    TextCallback,
    create_provider,
    provider_class,
    provider_kinds,
    register_provider,
)
from llmpick.providers._cost import PriceSheet, cost_usd
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
    UnexpectedResponseError,
)
from llmpick.providers._local_models import (
    BUNDLED_MODELS,
    BundledModel,
    is_installed,
    resolve_gguf,
)
from llmpick.providers._resolve import (
    VENDOR_ENDPOINTS,
    VendorEndpoint,
    candidate_provider_config,
    provider_config_for,
    resolve_provider,
)
from llmpick.providers._transformers import load_causal_lm
from llmpick.providers._types import (
    FinishReason,
    GenerateParams,
    Message,
    Prompt,
    Response,
    Role,
    Timings,
    Usage,
    UsageSource,
)

if _typing.TYPE_CHECKING:
    from llmpick.providers._http import HttpProvider, HttpProviderConfig

__all__ = [
    "BUNDLED_MODELS",
    "VENDOR_ENDPOINTS",
    "AuthenticationError",
    "BadRequestError",
    "BundledModel",
    "ContentFilterError",
    "ContextOverflowError",
    "FinishReason",
    "GenerateParams",
    "HttpProvider",
    "HttpProviderConfig",
    "Message",
    "ModelNotFoundError",
    "PriceSheet",
    "Prompt",
    "Provider",
    "ProviderConfig",
    "ProviderConnectionError",
    "ProviderError",
    "ProviderSetupError",
    "ProviderTimeoutError",
    "RateLimitError",
    "Response",
    "Role",
    "ServerError",
    "StreamError",
    "TextCallback",
    "Timings",
    "UnexpectedResponseError",
    "Usage",
    "UsageSource",
    "VendorEndpoint",
    "candidate_provider_config",
    "cost_usd",
    "create_provider",
    "is_installed",
    "load_causal_lm",
    "provider_class",
    "provider_config_for",
    "provider_kinds",
    "redact_url",
    "register_provider",
    "resolve_gguf",
    "resolve_provider",
    "wire",
]

_LAZY = {"HttpProvider", "HttpProviderConfig"}


def __getattr__(name: str) -> _typing.Any:
    # The HTTP connection loads aiohttp; most importers of this package never need it.
    if name in _LAZY:
        from llmpick.providers import _http

        return getattr(_http, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
