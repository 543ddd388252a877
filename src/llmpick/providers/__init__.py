"""One async interface to open and closed models: OpenAI-compatible servers, Anthropic, Gemini,
and llama.cpp in-process for the models that ship on PyPI.

    from llmpick.providers import GenerateParams, Message, resolve_provider

    async with resolve_provider("local/smollm2-135m-instruct") as provider:
        response = await provider.generate([Message("user", "Capital of France?")])
        print(response.text, response.ttft_s, response.output_tokens_per_s)
"""

from __future__ import annotations

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
)
from llmpick.providers._local_models import BUNDLED_MODELS, BundledModel, resolve_gguf
from llmpick.providers._resolve import (
    VENDOR_ENDPOINTS,
    VendorEndpoint,
    candidate_provider_config,
    provider_config_for,
    resolve_provider,
)
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
    "Usage",
    "UsageSource",
    "VendorEndpoint",
    "candidate_provider_config",
    "cost_usd",
    "create_provider",
    "provider_class",
    "provider_config_for",
    "provider_kinds",
    "register_provider",
    "resolve_gguf",
    "resolve_provider",
]
