"""Turn a catalog id into a ready provider: the vendor's endpoint and key variable, or the
bundled llama.cpp model, with any endpoint settings from a spec laid over the defaults.

    provider = resolve_provider("openai/gpt-4o-mini")                   # reads OPENAI_API_KEY
    provider = resolve_provider("qwen/qwen3-8b", {"base_url": "http://127.0.0.1:8000/v1"})
    provider = resolve_provider("local/smollm2-135m-instruct")          # in-process, offline
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from llmpick.providers._base import Provider, ProviderConfig, create_provider, provider_class
from llmpick.providers._errors import ProviderSetupError
from llmpick.providers._local_models import BUNDLED_MODELS

if TYPE_CHECKING:
    from llmpick.catalog import CatalogEntry

__all__ = [
    "VENDOR_ENDPOINTS",
    "VendorEndpoint",
    "candidate_provider_config",
    "provider_config_for",
    "resolve_provider",
]


@dataclass(frozen=True)
class VendorEndpoint:
    """Where a vendor's API lives and which environment variable holds its key."""

    protocol: str
    base_url: str
    api_key_env: str


# Keyed by the vendor part of catalog ids (`<vendor>/<model>`) and by common hosts' names.
VENDOR_ENDPOINTS: dict[str, VendorEndpoint] = {
    "openai": VendorEndpoint("openai", "https://api.openai.com/v1", "OPENAI_API_KEY"),
    "anthropic": VendorEndpoint("anthropic", "https://api.anthropic.com", "ANTHROPIC_API_KEY"),
    "google": VendorEndpoint(
        "gemini", "https://generativelanguage.googleapis.com/v1beta", "GEMINI_API_KEY"
    ),
    "xai": VendorEndpoint("openai", "https://api.x.ai/v1", "XAI_API_KEY"),
    "mistral": VendorEndpoint("openai", "https://api.mistral.ai/v1", "MISTRAL_API_KEY"),
    "deepseek": VendorEndpoint("openai", "https://api.deepseek.com/v1", "DEEPSEEK_API_KEY"),
    "qwen": VendorEndpoint(
        "openai", "https://dashscope-intl.aliyuncs.com/compatible-mode/v1", "DASHSCOPE_API_KEY"
    ),
    "cohere": VendorEndpoint("openai", "https://api.cohere.ai/compatibility/v1", "COHERE_API_KEY"),
    "groq": VendorEndpoint("openai", "https://api.groq.com/openai/v1", "GROQ_API_KEY"),
    "together": VendorEndpoint("openai", "https://api.together.xyz/v1", "TOGETHER_API_KEY"),
    "openrouter": VendorEndpoint("openai", "https://openrouter.ai/api/v1", "OPENROUTER_API_KEY"),
    "fireworks": VendorEndpoint(
        "openai", "https://api.fireworks.ai/inference/v1", "FIREWORKS_API_KEY"
    ),
}


def _catalog_entry(model_id: str) -> CatalogEntry | None:
    try:
        from llmpick.catalog import load_catalog
    except ImportError:
        return None
    return load_catalog().find(model_id)


def provider_config_for(
    model_id: str,
    endpoint: Mapping[str, Any] | None = None,
    *,
    entry: CatalogEntry | None = None,
) -> ProviderConfig:
    """The provider config for a catalog id, with `endpoint` settings laid over the defaults.

    `endpoint` may set `kind`, `base_url`, `api_key_env`, `model` (the served name) and any
    other field of that kind's config (timeouts, concurrency, `n_threads`, ...). A model served
    by your own vLLM/llama.cpp/Ollama server needs only `base_url`.
    """
    overrides = dict(endpoint or {})
    entry = entry or _catalog_entry(model_id)
    canonical = entry.id if entry is not None else model_id
    if "base_url" not in overrides and (
        canonical in BUNDLED_MODELS or (entry is not None and entry.local is not None)
    ):
        return provider_class("llamacpp").config_class.model_validate(
            {"kind": "llamacpp", "model": canonical, **overrides}
        )
    vendor, _, name = canonical.partition("/")
    defaults: dict[str, Any] = {}
    known = VENDOR_ENDPOINTS.get(vendor)
    if known is not None:
        defaults = {
            "kind": known.protocol,
            "base_url": known.base_url,
            "api_key_env": known.api_key_env,
        }
    if entry is not None and entry.api_protocol:
        defaults["kind"] = entry.api_protocol
    defaults["model"] = (entry.api_model if entry is not None else None) or name or canonical
    if "base_url" in overrides and known is not None and "api_key_env" not in overrides:
        # Your own server for an open model: the vendor's key does not belong there.
        defaults.pop("api_key_env", None)
        defaults["kind"] = "openai"
    config = {**defaults, **overrides}
    if "kind" not in config or "base_url" not in config:
        raise ProviderSetupError(
            f"no endpoint known for {model_id!r}: give the server that runs it, e.g. "
            f"endpoint base_url: http://127.0.0.1:8000/v1 (any OpenAI-compatible server)"
        )
    cls = provider_class(config["kind"])
    return cls.config_class.model_validate(config)


def resolve_provider(
    model_id: str,
    endpoint: Mapping[str, Any] | None = None,
    *,
    entry: CatalogEntry | None = None,
) -> Provider:
    """A provider for a catalog id (see `provider_config_for`). Nothing is contacted yet."""
    return create_provider(provider_config_for(model_id, endpoint, entry=entry))


# An endpoint's timeouts, named alike in the spec and in every HTTP provider's config.
TIMEOUT_FIELDS = ("connect_timeout_s", "first_token_timeout_s", "idle_timeout_s", "total_timeout_s")


def candidate_provider_config(candidate: Any, base_dir: Any = None) -> ProviderConfig:
    """The provider config for a spec candidate (catalog `model`, `endpoint` or `gguf`)."""
    extra: dict[str, Any] = {}
    if getattr(candidate, "max_concurrency", None):
        extra["max_concurrency"] = candidate.max_concurrency
    endpoint = getattr(candidate, "endpoint", None)
    if endpoint is not None:
        config: dict[str, Any] = {
            "kind": endpoint.protocol,
            "base_url": endpoint.base_url,
            "model": endpoint.model,
            "api_key_env": endpoint.api_key_env,
        }
        for name in TIMEOUT_FIELDS:
            if getattr(endpoint, name, None) is not None:
                config[name] = getattr(endpoint, name)
        if endpoint.protocol == "openai" and getattr(candidate, "prompt_mode", None):
            config["mode"] = candidate.prompt_mode
        return provider_class(endpoint.protocol).config_class.model_validate({**config, **extra})
    gguf = getattr(candidate, "gguf", None)
    if gguf is not None:
        from pathlib import Path

        extra.pop("max_concurrency", None)
        if getattr(candidate, "prompt_mode", None):
            extra["prompt_mode"] = candidate.prompt_mode
        if gguf.path is not None:
            path = Path(gguf.path)
            if base_dir is not None and not path.is_absolute():
                path = Path(base_dir) / path
            return provider_class("llamacpp").config_class.model_validate(
                {
                    "kind": "llamacpp",
                    "model": candidate.name or path.stem,
                    "model_path": str(path),
                    **extra,
                }
            )
        for model_id, bundled in BUNDLED_MODELS.items():
            if bundled.package == gguf.package:
                return provider_config_for(model_id, extra)
        raise ProviderSetupError(
            f"no bundled model in package {gguf.package!r}; known: "
            + ", ".join(sorted({b.package for b in BUNDLED_MODELS.values()}))
        )
    return provider_config_for(candidate.model, extra)
