"""What a load test sends: the spec's own prompts, answered at production length.

Capacity in requests/s only transfers to the cost model if the test requests look like
production ones, so the prompts come from the spec's dataset (built exactly as the evaluation
builds them, template and mode included) and `max_tokens` is the volume's mean answer length.
Without a dataset, prompts are filler text of the volume's mean prompt length.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmpick._errors import LlmpickError
from llmpick.catalog import Catalog, load_catalog
from llmpick.evaluation import FieldMapping, PromptBuilder, load_dataset
from llmpick.evaluation._candidates import plan_candidates
from llmpick.providers import GenerateParams, Message, Prompt
from llmpick.providers._resolve import candidate_provider_config
from llmpick.spec import Candidate, LoadedSpec, Spec

__all__ = ["LoadTestError", "LoadTestPlan", "plan_load_test"]

_FILLER_TEXT = (
    "the customer writes about an order that arrived late and asks for a refund of the "
    "shipping fee while also mentioning a billing question about last month invoice"
)


class LoadTestError(LlmpickError):
    """The load test cannot start (unknown candidate, nothing to load, no endpoint)."""


@dataclass(frozen=True)
class LoadTestPlan:
    """Everything needed to load-test one candidate: where, as whom, and with which requests."""

    candidate: str
    provider_config: dict[str, Any]
    endpoint: str
    model: str
    catalog_id: str | None
    prompts: list[Prompt]
    params: GenerateParams
    workload: dict[str, Any]


def plan_load_test(
    loaded: LoadedSpec,
    label: str,
    *,
    output_tokens: int | None = None,
    max_concurrency: int = 64,
    catalog: Catalog | None = None,
) -> LoadTestPlan:
    """Resolve candidate `label` of the spec to a served endpoint and build its requests.

    Only candidates with an `endpoint` can be load-tested: a vendor API's capacity is not
    yours to size, and an in-process llama.cpp model serves one request at a time.
    """
    spec = loaded.spec
    candidate = _find(spec, label)
    if candidate.endpoint is None:
        kind = "a local GGUF run in-process" if candidate.gguf else "reached through its vendor"
        raise LoadTestError(
            f"candidate {label!r} is {kind}; a load test measures a serving endpoint you run "
            "(vLLM, llama.cpp server, TGI): give the candidate an `endpoint:` with its base_url"
        )
    config = candidate_provider_config(candidate, loaded.base_dir).model_dump()
    # Every request counts: no retries hiding errors, no client-side throttling.
    config.update(max_retries=0, adaptive_concurrency=False, max_concurrency=max_concurrency)
    catalog = catalog or load_catalog()
    reference = candidate.catalog_id or candidate.model
    entry = catalog.find(reference) if reference else None
    volume = spec.needs.volume
    answer_tokens = output_tokens or max(1, round(volume.mean_output_tokens))
    prompts, source = _prompts(loaded, candidate, catalog, round(volume.mean_input_tokens))
    temperature = spec.dataset.temperature if spec.dataset is not None else 0.0
    return LoadTestPlan(
        candidate=label,
        provider_config=config,
        endpoint=candidate.endpoint.base_url,
        model=candidate.endpoint.model,
        catalog_id=entry.id if entry else None,
        prompts=prompts,
        params=GenerateParams(max_tokens=answer_tokens, temperature=temperature),
        workload={
            "prompts": len(prompts),
            "prompt_source": source,
            "max_output_tokens": answer_tokens,
            "volume_mean_input_tokens": volume.mean_input_tokens,
            "volume_mean_output_tokens": volume.mean_output_tokens,
        },
    )


def _find(spec: Spec, label: str) -> Candidate:
    for candidate in spec.candidates:
        if candidate.label == label:
            return candidate
    labels = ", ".join(c.label for c in spec.candidates) or "none"
    raise LoadTestError(f"no candidate named {label!r}; the spec has: {labels}")


def _prompts(
    loaded: LoadedSpec, candidate: Candidate, catalog: Catalog, mean_input_tokens: int
) -> tuple[list[Prompt], str]:
    dataset = loaded.spec.dataset
    if dataset is None:
        count = 64
        return [_filler(i, mean_input_tokens) for i in range(count)], (
            f"{count} filler prompts of about {mean_input_tokens} tokens (the spec has no dataset)"
        )
    path = dataset.path if dataset.path.is_absolute() else loaded.base_dir / dataset.path
    items = load_dataset(
        path,
        FieldMapping(
            input_field=dataset.input_field,
            expected_field=dataset.expected_field,
            id_field=dataset.id_field,
            category_field=dataset.category_field,
        ),
        format=dataset.format,
        skip_bad_rows=True,
    ).items
    planned = plan_candidates(
        [candidate], dataset, catalog, Path(loaded.base_dir), only=[candidate.label]
    )[0]
    builder = PromptBuilder(
        template=planned.template,
        mode=planned.prompt_mode,
        system_prompt=dataset.system_prompt,
        few_shot=[(s.input, s.output) for s in dataset.few_shot],
        input_field=dataset.input_field,
    )
    return [builder.build(item) for item in items], f"{len(items)} prompts from {dataset.path}"


def _filler(index: int, tokens: int) -> Prompt:
    filler = _FILLER_TEXT.split()
    words = [f"Request {index}:"]
    words.extend(filler[i % len(filler)] for i in range(max(tokens - 3, 1)))
    return [Message("user", " ".join(words))]
