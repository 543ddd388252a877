"""Model calls made on a scorer's behalf (the LLM judge): cached like the candidates' calls,
priced from the catalog, one provider per judge model reused across items. Like the candidates'
calls, a judge call another process is making (claimed by its cache key) is waited for and read
from the cache, not made twice."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Mapping
from typing import Any

from llmpick.catalog import Catalog, CatalogEntry
from llmpick.evaluation._candidates import call_cost_usd, provider_config_for
from llmpick.evaluation._prompts import prompt_for_cache
from llmpick.evaluation._scorers import ModelCall
from llmpick.providers import (
    GenerateParams,
    Prompt,
    Provider,
    ProviderSetupError,
    Response,
    create_provider,
)
from llmpick.store import CachedAnswer, RunLease, Store, StoreError, cache_key

__all__ = ["IDENTITY_KEYS", "ModelCaller", "answer_of", "identity_of"]

# The provider settings that decide which model answers (cache keys and run fingerprints).
IDENTITY_KEYS = ("kind", "base_url", "model", "model_path", "prompt_mode", "mode")
# Settings that decide it too but only some configs have (a tuned model's adapter): part of
# the identity only when set, so every other model's keys stay what they were.
OPTIONAL_IDENTITY_KEYS = ("base_model", "adapter_key")


def identity_of(config: Mapping[str, Any]) -> dict[str, Any]:
    """What decides which model answers a call with `config` (cache keys, run fingerprints)."""
    identity = {k: config.get(k) for k in IDENTITY_KEYS}
    identity.update({k: config[k] for k in OPTIONAL_IDENTITY_KEYS if config.get(k) is not None})
    return identity


def answer_of(response: Response) -> CachedAnswer:
    usage = response.usage
    return CachedAnswer(
        text=response.text,
        finish_reason=response.finish_reason,
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cached_input_tokens=usage.cached_input_tokens,
        usage_source=usage.source,
        ttft_s=response.ttft_s,
        e2e_s=response.e2e_s,
        tpot_s=response.tpot_s,
        output_tokens_per_s=response.output_tokens_per_s,
    )


class ModelCaller:
    """`ScorerEnv`: cached, costed calls to any model, providers reused across items."""

    def __init__(
        self,
        store: Store,
        catalog: Catalog,
        use_cache: bool = True,
        lease: RunLease | None = None,
    ) -> None:
        self._store = store
        self._catalog = catalog
        self._use_cache = use_cache
        self._lease = lease  # claims calls under this holder (None: no claims)
        self._providers: dict[str, tuple[Provider, CatalogEntry | None, dict[str, Any]]] = {}

    async def call_model(
        self, model: str | Mapping[str, Any], prompt: Prompt, params: GenerateParams
    ) -> ModelCall:
        ref = json.dumps(model, sort_keys=True, default=str)
        if ref not in self._providers:
            config, entry, reason = provider_config_for(model, self._catalog)
            if config is None or reason is not None:
                raise ProviderSetupError(f"judge {ref}: {reason}")
            self._providers[ref] = (create_provider(config), entry, config)
        provider, entry, config = self._providers[ref]
        identity = identity_of(config)
        key = cache_key(identity, prompt_for_cache(prompt), params.output_affecting())
        claimed = False
        if self._use_cache:
            hit, claimed = await self._cached_or_claimed(key)
            if hit is not None:
                return _model_call(CachedAnswer.from_json(hit), entry)
        try:
            answer = answer_of(await provider.generate(prompt, params))
            with contextlib.suppress(StoreError):  # the cache only saves a repeat call
                self._store.cache_put(key, answer.to_json())
        finally:
            if claimed and self._lease is not None:
                with contextlib.suppress(StoreError):  # else it expires with the run's lease
                    self._store.release_claims([key], self._lease.holder)
        return _model_call(answer, entry)

    async def _cached_or_claimed(self, key: str) -> tuple[str | None, bool]:
        """The cached answer, or (None, whether we claimed the call): waits while another
        process is making the same call."""
        delay_s = 0.05
        while True:
            hit = self._store.cache_get_many([key]).get(key)
            if hit is not None:
                return hit, False
            if self._lease is None:
                return None, False
            if self._store.claim_calls([key], self._lease):
                return None, True
            await asyncio.sleep(delay_s)
            delay_s = min(delay_s * 2, 1.0)

    async def aclose(self) -> None:
        for provider, _, _ in self._providers.values():
            await provider.aclose()


def _model_call(answer: CachedAnswer, entry: CatalogEntry | None) -> ModelCall:
    return ModelCall(
        answer.text,
        call_cost_usd(entry, answer.input_tokens, answer.output_tokens, answer.cached_input_tokens),
        answer.input_tokens,
        answer.output_tokens,
    )
