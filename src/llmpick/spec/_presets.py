"""Starting points for the use cases teams name when they choose an LLM.

Each preset is a set of overrides on the spec defaults. Four lean towards open weights (their
needs are control, privacy or cost at small scale) and four towards closed APIs (their needs are
peak quality, reliability with little operations work). A preset is a draft to edit, not a verdict:
the candidates it lists are the usual contenders for that case, open and closed alike.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Literal

from llmpick.spec._models import Spec


@dataclass(frozen=True)
class Preset:
    name: str
    leaning: Literal["open", "closed"]
    summary: str
    overrides: dict[str, Any] = field(default_factory=dict)


_DATASET = {
    "path": "cases.jsonl",
    "input_field": "input",
    "expected_field": "expected",
    "template": "{{ input }}",
}

PRESETS: dict[str, Preset] = {
    p.name: p
    for p in [
        Preset(
            "on-prem-secure",
            "open",
            "Regulated data that may not leave the building; self-host on hardware you own.",
            {
                "needs": {
                    "quality": {"min_value": 0.75},
                    "control": {"needs_weights_access": True, "lock_in_tolerance": "low"},
                },
                "constraints": {
                    "data": {"may_leave_premises": False, "contains_pii": True},
                    "compliance": ["hipaa", "gdpr"],
                    "infrastructure": {"hardware": ["2xL4"], "may_rent_cloud_gpus": False},
                },
                "candidates": [
                    "meta/llama-3.1-8b-instruct",
                    "qwen/qwen2.5-7b-instruct",
                    "mistral/mistral-small-24b-instruct-2501",
                    "anthropic/claude-sonnet-5-5",
                ],
                "weights": {
                    "quality": 0.35,
                    "latency": 0.1,
                    "cost": 0.15,
                    "control": 0.25,
                    "lock_in": 0.15,
                },
            },
        ),
        Preset(
            "domain-fine-tuning",
            "open",
            "Specialise a model on your own domain data; needs weights you can train.",
            {
                "needs": {
                    "control": {"needs_fine_tuning": True, "needs_weights_access": True},
                    "volume": {"requests_per_day": 50_000},
                },
                "constraints": {"infrastructure": {"hardware": ["1xA100-80GB"]}},
                "candidates": [
                    "meta/llama-3.1-8b-instruct",
                    "qwen/qwen2.5-7b-instruct",
                    "mistral/mistral-7b-instruct-v0.3",
                    "openai/gpt-6.1-terra",
                ],
                "weights": {
                    "quality": 0.4,
                    "latency": 0.1,
                    "cost": 0.2,
                    "control": 0.2,
                    "lock_in": 0.1,
                },
            },
        ),
        Preset(
            "low-cost-experiment",
            "open",
            "A prototype on a shoestring: small models, small volume, CPU or one small GPU.",
            {
                "needs": {
                    "quality": {"min_value": 0.5},
                    "volume": {
                        "requests_per_day": 500,
                        "mean_input_tokens": 300,
                        "mean_output_tokens": 60,
                    },
                    "budget": {"usd_per_month": 200},
                    "latency": {"ttft_p95_ms": 5000, "e2e_p95_ms": 20000},
                },
                "constraints": {"infrastructure": {"hardware": ["cpu:32GB", "1xT4"]}},
                "candidates": [
                    "local/smollm2-135m-instruct",
                    "local/gemma-3-270m",
                    "qwen/qwen2.5-1.5b-instruct",
                    "openai/gpt-6-luna",
                    "google/gemini-2.5-flash-lite",
                ],
                "weights": {
                    "quality": 0.3,
                    "latency": 0.1,
                    "cost": 0.4,
                    "control": 0.1,
                    "lock_in": 0.1,
                },
            },
        ),
        Preset(
            "research-education",
            "open",
            "Teaching or research: transparency and reproducibility over raw quality.",
            {
                "needs": {"quality": {"min_value": 0.5}, "control": {"needs_weights_access": True}},
                "constraints": {"licence": {"commercial_use_required": False}},
                "candidates": [
                    "allenai/olmo-2-1124-7b-instruct",
                    "local/smollm2-135m-instruct",
                    "meta/llama-3.1-8b-instruct",
                    "qwen/qwen2.5-7b-instruct",
                    "openai/gpt-6-luna",
                ],
                "weights": {
                    "quality": 0.3,
                    "latency": 0.05,
                    "cost": 0.2,
                    "control": 0.35,
                    "lock_in": 0.1,
                },
            },
        ),
        Preset(
            "production-high-performance",
            "closed",
            "A user-facing product at scale: tight latency, high quality, high volume.",
            {
                "needs": {
                    "quality": {"min_value": 0.85},
                    "latency": {
                        "ttft_p95_ms": 600,
                        "e2e_p95_ms": 4000,
                        "min_output_tokens_per_s": 40,
                    },
                    "volume": {
                        "requests_per_day": 1_000_000,
                        "peak_to_average": 2.5,
                        "cacheable_input_share": 0.5,
                    },
                },
                "candidates": [
                    "openai/gpt-6.1-sol",
                    "anthropic/claude-sonnet-5-5",
                    "google/gemini-3.8-flash",
                    "meta/llama-3.3-70b-instruct",
                ],
                "weights": {
                    "quality": 0.4,
                    "latency": 0.25,
                    "cost": 0.2,
                    "control": 0.05,
                    "lock_in": 0.1,
                },
            },
        ),
        Preset(
            "enterprise-reliability",
            "closed",
            "Business-critical workloads: certified vendors, data residency, fallbacks.",
            {
                "needs": {
                    "quality": {"min_value": 0.8},
                    "control": {"lock_in_tolerance": "medium"},
                },
                "constraints": {
                    "data": {"contains_pii": True, "allowed_regions": ["us", "eu"]},
                    "compliance": ["soc2", "iso27001", "gdpr"],
                },
                "candidates": [
                    "openai/gpt-6.1-sol",
                    "anthropic/claude-sonnet-5-5",
                    "google/gemini-3.1-pro-preview",
                    "amazon/nova-pro",
                    "meta/llama-3.3-70b-instruct",
                ],
                "weights": {
                    "quality": 0.4,
                    "latency": 0.15,
                    "cost": 0.15,
                    "control": 0.1,
                    "lock_in": 0.2,
                },
            },
        ),
        Preset(
            "advanced-reasoning",
            "closed",
            "Hard multi-step problems (analysis, maths, code): quality first, latency relaxed.",
            {
                "needs": {
                    "quality": {"min_value": 0.9},
                    "latency": {"ttft_p95_ms": 30_000, "e2e_p95_ms": 180_000},
                    "volume": {
                        "requests_per_day": 2_000,
                        "mean_input_tokens": 3_000,
                        "mean_output_tokens": 4_000,
                    },
                },
                "constraints": {"min_context_tokens": 64_000},
                "candidates": [
                    "openai/gpt-6.2-sol",
                    "xai/grok-4.5",
                    "anthropic/claude-opus-5-5",
                    "google/gemini-3.1-pro-preview",
                    "deepseek/deepseek-r1",
                ],
                "weights": {
                    "quality": 0.6,
                    "latency": 0.05,
                    "cost": 0.2,
                    "control": 0.05,
                    "lock_in": 0.1,
                },
            },
        ),
        Preset(
            "minimal-maintenance",
            "closed",
            "A small team with no one to run GPUs: pay per token, nothing to operate.",
            {
                "needs": {"volume": {"requests_per_day": 20_000}},
                "constraints": {
                    "infrastructure": {"may_rent_cloud_gpus": True, "ops_hours_per_month": 40},
                },
                "candidates": [
                    "openai/gpt-6-luna",
                    "anthropic/claude-haiku-5-5",
                    "google/gemini-2.5-flash-lite",
                    "meta/llama-3.1-8b-instruct",
                ],
                "weights": {
                    "quality": 0.35,
                    "latency": 0.15,
                    "cost": 0.3,
                    "control": 0.05,
                    "lock_in": 0.15,
                },
            },
        ),
    ]
}


def preset_spec(name: str) -> Spec:
    """The spec a preset describes; `KeyError` lists the valid names."""
    try:
        preset = PRESETS[name]
    except KeyError:
        raise KeyError(f"unknown preset {name!r}; choose one of: {', '.join(PRESETS)}") from None
    data: dict[str, Any] = {"name": name, "description": preset.summary, "dataset": _DATASET}
    _merge(data, copy.deepcopy(preset.overrides))
    return Spec.model_validate(data)


def _merge(into: dict[str, Any], update: dict[str, Any]) -> None:
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value
