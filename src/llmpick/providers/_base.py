"""The one async interface to every model, and the registry that maps a `kind` to it.

A provider is built from a pydantic config whose `kind` picks the implementation:

    provider = create_provider({"kind": "openai", "model": "gpt-4o-mini"})
    async with provider:
        response = await provider.generate([Message("user", "Hi")], GenerateParams(max_tokens=16))

`Provider.generate` owns retries (exponential backoff with jitter, `Retry-After` honoured) and
admission (concurrency and rate limits); implementations only write `_generate_once`, one attempt.
Implementations are imported on first use, so the base install works without optional packages.
"""

from __future__ import annotations

import asyncio
import random
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, Field

from llmpick._registry import LazyRegistry
from llmpick.providers._errors import ProviderError, ProviderSetupError, StreamError
from llmpick.providers._types import GenerateParams, Prompt, Response

__all__ = [
    "Provider",
    "ProviderConfig",
    "TextCallback",
    "create_provider",
    "provider_class",
    "provider_kinds",
    "register_provider",
]

# Called with each non-empty piece of text as it streams in (e.g. to print it).
TextCallback = Callable[[str], None]


class ProviderConfig(BaseModel):
    """Settings shared by every provider kind. Subclasses add their own and narrow `kind`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str = Field(description="Which implementation: openai, anthropic, gemini, llamacpp.")
    model: str = Field(description="The model name the server expects (or a local model id).")
    max_retries: int = Field(4, ge=0, description="Retries after the first attempt.")
    backoff_initial_s: float = Field(0.5, ge=0, description="First retry delay (doubles).")
    backoff_max_s: float = Field(30.0, ge=0, description="Longest delay between attempts.")
    retry_interrupted_streams: bool = Field(
        True, description="Retry a stream cut mid-way when none of it was shown to the caller."
    )


class Provider(ABC):
    """One model behind one endpoint. Use as an async context manager, or call `aclose()`."""

    kind: ClassVar[str]
    config_class: ClassVar[type[ProviderConfig]] = ProviderConfig
    # Whether calls run on this machine's own CPU/GPU (a model loaded in-process): runners run
    # such candidates one call at a time, apart from the network ones. The safe default for a
    # provider that does not say; network providers set False.
    in_process: ClassVar[bool] = True

    def __init__(self, config: ProviderConfig) -> None:
        self.config = config

    @property
    def model(self) -> str:
        return self.config.model

    def __repr__(self) -> str:
        return f"<{type(self).__name__} kind={self.kind!r} model={self.model!r}>"

    async def generate(
        self,
        prompt: Prompt,
        params: GenerateParams | None = None,
        *,
        on_text: TextCallback | None = None,
    ) -> Response:
        """Run one call, streaming text to `on_text`; retry what is worth retrying.

        Raises a `ProviderError` subclass when the call fails for good; a stream that breaks
        after text reached `on_text` is never retried (the caller already showed it). The
        response's (or error's) `attempts` counts the attempts made, so a caller can count
        requests sent rather than calls.
        """
        params = params or GenerateParams()
        attempt = 0
        while True:
            shown: list[bool] = []  # becomes [True] once text reached `on_text`
            emit = None if on_text is None else _tracking(on_text, shown)
            try:
                async with self._admission(prompt, params):
                    response = await self._generate_once(prompt, params, emit)
            except ProviderError as error:
                self._on_outcome(error)
                # A setup error is raised before anything is sent.
                error.attempts = attempt + (0 if isinstance(error, ProviderSetupError) else 1)
                if not self._should_retry(error, attempt, bool(shown)):
                    raise
                await asyncio.sleep(self._retry_delay(attempt, error))
                attempt += 1
                continue
            self._on_outcome(None)
            response.attempts = attempt + 1
            return response

    @abstractmethod
    async def _generate_once(
        self, prompt: Prompt, params: GenerateParams, emit: TextCallback | None
    ) -> Response:
        """One attempt. Call `emit` (None: nobody listens) with each non-empty text piece as
        it arrives; raise `ProviderError`s."""

    def sampling_settings(self, params: GenerateParams) -> dict[str, Any]:
        """The sampling settings calls with `params` run with, as a run records them. Here:
        what the request sends; an endpoint applies its own defaults to the rest (a runtime
        that knows them, like in-process llama.cpp, lists every one)."""
        sent = {"temperature": params.temperature, "top_p": params.top_p, "seed": params.seed}
        return {
            **{k: v for k, v in sent.items() if v is not None},
            **dict(params.extra),
            "unsent": "the endpoint's defaults",
        }

    async def list_models(self) -> list[str]:
        """Model names the endpoint offers now; empty when it cannot say."""
        return []

    async def aclose(self) -> None:  # noqa: B027 (optional hook)
        """Release connections, threads and loaded models."""

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # Hooks for subclasses -------------------------------------------------------------------

    @asynccontextmanager
    async def _admission(self, prompt: Prompt, params: GenerateParams) -> AsyncIterator[None]:
        """Wait for a concurrency slot / rate-limit budget. Default: no limit."""
        yield

    def _on_outcome(self, error: ProviderError | None) -> None:  # noqa: B027 (optional hook)
        """Told about every attempt's outcome (adaptive concurrency listens here)."""

    def _should_retry(self, error: ProviderError, attempt: int, shown: bool) -> bool:
        if not error.retryable or attempt >= self.config.max_retries:
            return False
        if isinstance(error, StreamError):
            return self.config.retry_interrupted_streams and not shown
        return not shown

    def _retry_delay(self, attempt: int, error: ProviderError) -> float:
        """Exponential backoff with full jitter; a server's `Retry-After` is a lower bound."""
        cfg = self.config
        ceiling = min(cfg.backoff_max_s, cfg.backoff_initial_s * (2**attempt))
        delay = random.uniform(ceiling / 2, ceiling)
        if error.retry_after_s is not None:
            delay = max(delay, min(error.retry_after_s, cfg.backoff_max_s))
        return delay


def _tracking(on_text: TextCallback, shown: list[bool]) -> TextCallback:
    def emit(text: str) -> None:
        if not shown:
            shown.append(True)
        on_text(text)

    return emit


# Registry ------------------------------------------------------------------------------------

_REGISTRY: LazyRegistry[Provider] = LazyRegistry(
    Provider,
    "provider kind",
    ProviderSetupError,
    {
        "openai": "llmpick.providers._openai:OpenAIProvider",
        "anthropic": "llmpick.providers._anthropic:AnthropicProvider",
        "gemini": "llmpick.providers._gemini:GeminiProvider",
        "llamacpp": "llmpick.providers._llamacpp:LlamaCppProvider",
        "transformers": "llmpick.providers._transformers:TransformersProvider",
    },
)


def register_provider(kind: str, target: str | type[Provider]) -> None:
    """Add or replace a provider kind; `target` is a class or a lazy "module:Class" path."""
    _REGISTRY.register(kind, target)


def provider_kinds() -> list[str]:
    """The registered kinds, sorted."""
    return _REGISTRY.kinds()


def provider_class(kind: str) -> type[Provider]:
    """The implementation for `kind`, imported on first use."""
    return _REGISTRY.get(kind)


def create_provider(config: ProviderConfig | Mapping[str, Any]) -> Provider:
    """Build a provider from its config (a config object, or a mapping with a `kind` key)."""
    if isinstance(config, Mapping):
        kind = config.get("kind")
        if not isinstance(kind, str):
            raise ProviderSetupError(
                f"provider config needs a `kind`; available: {', '.join(provider_kinds())}"
            )
        cls = provider_class(kind)
        config = cls.config_class.model_validate(dict(config))
    else:
        cls = provider_class(config.kind)
        if not isinstance(config, cls.config_class):
            config = cls.config_class.model_validate(config.model_dump())
    return cls(config)
