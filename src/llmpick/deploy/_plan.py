"""A deployment plan: every serving flag chosen from the memory-fit estimate, with its reason.

The same `fit_model` that `llmpick fit` prints decides the quantization, the cards, the context
and how many sequences run at once, so a generated manifest never disagrees with `fit`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from llmpick._errors import LlmpickError
from llmpick.catalog import CatalogEntry, load_catalog
from llmpick.hardware import FitReport, fit_model, parse_hardware

__all__ = ["DeployError", "DeploymentPlan", "Setting", "plan_deployment"]

_CONCURRENCY_STEPS = (256, 128, 64, 32, 16, 8, 4, 2, 1)
_LLAMACPP_SLOTS = 4


class DeployError(LlmpickError):
    """No deployment can be written: an API model, or one that does not fit the hardware."""


@dataclass(frozen=True)
class Setting:
    """One serving flag, its value and why (the fit's numbers)."""

    name: str
    value: str
    reason: str


@dataclass
class DeploymentPlan:
    model_id: str
    served_model: str
    hardware: str
    device_kind: str
    device_count: int
    runtime: str
    quantization: str
    context_tokens: int
    max_sequences: int
    gpu_memory_utilization: float
    kv_cache_dtype: str
    fit: FitReport
    settings: list[Setting] = field(default_factory=list)
    bundled: bool = False
    port: int = 8000

    @property
    def gpus(self) -> int:
        return self.device_count if self.device_kind == "gpu" else 0


def _weights_repo(entry: CatalogEntry) -> str:
    """The Hugging Face repository the weights are published under (an alias such as
    meta-llama/Llama-3.3-70B-Instruct), else the catalog id."""
    for alias in entry.aliases:
        if re.match(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$", alias) and any(ch.isupper() for ch in alias):
            return alias
    return entry.id


def plan_deployment(
    model: str,
    hardware: str,
    *,
    context_tokens: int = 4096,
    quantization: str | None = None,
    kv_cache_dtype: str = "fp16",
    gpu_memory_utilization: float = 0.9,
    port: int = 8000,
) -> DeploymentPlan:
    """The plan for serving `model` (a catalog id) on `hardware`; raises `DeployError` with the
    smallest hardware that fits when it does not."""
    entry = load_catalog().get(model)
    if not entry.open_weights or entry.architecture is None:
        raise DeployError(
            f"{entry.id} is a closed API model: there is nothing to host; put it behind "
            "`llmpick gateway` instead (the gateway config is what deploys it)"
        )
    spec = parse_hardware(hardware)
    if quantization is None and entry.local is not None:
        quantization = entry.local.quantization  # a bundled GGUF ships in one format
    arch = entry.architecture

    def fit(quant: str | None, concurrency: int = 1) -> FitReport:
        return fit_model(
            arch,
            spec,
            context_tokens=context_tokens,
            concurrency=concurrency,
            quantization=quant,
            kv_cache_dtype=kv_cache_dtype,
            gpu_memory_utilization=gpu_memory_utilization,
            model_name=entry.id,
        )

    report = fit(quantization)
    if not report.fits and quantization is None and report.best_quantization:
        # No format pinned: serve at the most precise one that fits, as `fit` recommends.
        report = fit(report.best_quantization)
    if not report.fits:
        smallest = (
            f"; the smallest that fits: {report.suggested_hardware}"
            if (report.suggested_hardware)
            else ""
        )
        raise DeployError(f"{entry.id} does not fit {spec.label}: {report.reason}{smallest}")
    quant = report.quantization
    sequences, at = 1, report
    for concurrency in _CONCURRENCY_STEPS:
        trial = fit(quant, concurrency)
        if trial.fits:
            sequences, at = concurrency, trial
            break
    if report.runtime == "llamacpp" and sequences > _LLAMACPP_SLOTS:
        # llama.cpp on CPU shares a few cores between its slots: more only queue.
        sequences = _LLAMACPP_SLOTS
    if entry.is_local:
        sequences = 1  # llama-cpp-python's server (`llmpick serve`) runs one sequence at a time
    card = at.per_card
    gb = 1e9
    memory = (
        f"{card.weights_bytes / gb:.1f} GB weights + {card.kv_cache_bytes / gb:.1f} GB KV cache "
        f"for {sequences} x {context_tokens:,} tokens + {card.overhead_bytes / gb:.1f} GB "
        f"overhead = {card.total_bytes / gb:.1f} GB of {card.available_bytes / gb:.1f} GB per card"
    )
    plan = DeploymentPlan(
        model_id=entry.id,
        served_model=_weights_repo(entry),
        hardware=spec.label,
        device_kind=spec.device.kind,
        device_count=spec.count,
        runtime=report.runtime,
        quantization=quant,
        context_tokens=context_tokens,
        max_sequences=sequences,
        gpu_memory_utilization=gpu_memory_utilization,
        kv_cache_dtype=kv_cache_dtype,
        fit=at,
        bundled=entry.is_local,
        port=port,
    )
    plan.settings = [
        Setting("quantization", quant, f"the most precise format that fits: {report.reason}"),
        Setting(
            "tensor parallel size",
            str(spec.count),
            f"the weights are split over the {spec.count} card(s) of {spec.label}",
        ),
        Setting(
            "max model length",
            str(context_tokens),
            "the context asked for (`--context`); the model supports "
            f"{entry.limits.context_window_tokens:,} tokens"
            if entry.limits and entry.limits.context_window_tokens
            else "the context asked for (`--context`)",
        ),
        Setting(
            "max concurrent sequences",
            str(sequences),
            f"the most whose KV caches fit beside the weights: {memory}"
            + (
                " (llama.cpp: at most a few slots share the CPU; llama-cpp-python's server "
                "serves one at a time)"
                if report.runtime == "llamacpp"
                else ""
            ),
        ),
        Setting(
            "GPU memory utilization",
            f"{gpu_memory_utilization:g}",
            "the share of each card the server may use (the rest is the CUDA context and peaks)",
        ),
        Setting("KV-cache dtype", kv_cache_dtype, "as sized by the fit"),
        Setting(
            "prefix caching",
            "on",
            "prompts that share a system prompt and examples reuse their cached prefix",
        ),
    ]
    if at.tight:
        plan.settings.append(Setting("warning", "tight fit", "; ".join(at.notes)))
    return plan
