"""Does a model fit on some hardware, in which quantization, and how fast might it decode?

A fit is sized for the runtime that would serve it: vLLM on GPUs, llama.cpp on CPUs and Apple
silicon (and for a GGUF format anywhere). The runtime decides which quantizations are offered
and in which order (`RUNTIME_QUANTIZATIONS`), and how the KV cache of sliding-window layers is
allocated: vLLM keeps only the window, llama-cpp-python keeps every token (its default
``swa_full``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from llmpick.catalog._schema import Architecture
from llmpick.hardware._devices import DeviceKind, cpu_host_for, known_devices
from llmpick.hardware._hardware_string import HardwareSpec, parse_hardware
from llmpick.hardware._memory import (
    CardMemory,
    active_weight_bytes,
    kv_cache_bytes,
    runtime_overhead_bytes,
    vocab_matrix_params,
    weight_bytes,
)
from llmpick.hardware._quantization import (
    get_quantization,
    kv_cache_bytes_per_value,
)

Runtime = Literal["vllm", "llama.cpp"]

#: The formats each runtime serves, most precise first: the order `best_quantization` searches.
#: vLLM: bf16, FP8, then 4-bit AWQ/GPTQ and MXFP4 (it has no production GGUF path). llama.cpp:
#: its own GGUF types (q4_k_m before q4_1: fewer bits, but llama.cpp measures it as more
#: accurate) and MXFP4, which it runs for gpt-oss.
RUNTIME_QUANTIZATIONS: dict[Runtime, tuple[str, ...]] = {
    "vllm": ("bf16", "fp8", "awq", "gptq", "mxfp4"),
    "llama.cpp": ("bf16", "q8_0", "q6_k", "q5_k_m", "q4_k_m", "q4_1", "q4_0", "mxfp4"),
}

#: Seconds one small collective (the all-reduce of a decode step's activations, a few KB) takes
#: between cards (assumed: NCCL's small-message latency floor, which bandwidth does not move,
#: is tens of microseconds on NVLink/NVSwitch and more over PCIe; see
#: https://waynehacking8.github.io/blog/nccl-nvlink-bandwidth/ on the decode "TP wall").
#: Under tensor parallelism every layer pays two per decode step (after attention and after the
#: MLP), and a mixture of experts two more (dispatch to and gather from the experts' cards).
COLLECTIVE_LATENCY_S: dict[str, float] = {"nvlink": 20e-6, "pcie": 60e-6}

#: Less memory than this share of what a card may use left over is a tight fit: it passes, with
#: a warning (assumed: activation peaks, fragmentation and a longer prompt than planned eat
#: into the rest; vLLM's own default keeps 10% of the card back for the same reason).
HEADROOM_FRACTION = 0.10


def runtime_for(device_kind: DeviceKind, quantization: str | None) -> Runtime:
    """The runtime that would serve ``quantization`` on a ``device_kind``: llama.cpp for a GGUF
    format or off a GPU, else vLLM."""
    if quantization is not None and get_quantization(quantization).family == "gguf":
        return "llama.cpp"
    return "vllm" if device_kind == "gpu" else "llama.cpp"


#: Share of peak memory bandwidth a decode step achieves (assumed: well-tuned GPU kernels reach
#: 60-80% of peak; llama.cpp on CPU and Metal somewhat less).
DECODE_BANDWIDTH_EFFICIENCY: dict[DeviceKind, float] = {"gpu": 0.7, "apple": 0.65, "cpu": 0.6}

#: Share of peak FP16 matrix throughput prompt processing achieves (assumed: vLLM and TGI prefill
#: typically reach 40-60% model FLOPs utilisation on large batches; llama.cpp less).
PREFILL_COMPUTE_EFFICIENCY: dict[DeviceKind, float] = {"gpu": 0.5, "apple": 0.4, "cpu": 0.3}

PREFILL_ESTIMATE_LABEL = (
    "estimate, not a measurement: compute bound (peak FP16 TFLOPS x efficiency, or a CPU's "
    "measured GFLOPS per core x its cores, / 2 FLOPs per parameter per prompt token)"
)

DECODE_ESTIMATE_LABEL = (
    "estimate, not a measurement: the slower of memory-bandwidth bound (peak bandwidth x "
    "efficiency / bytes read per decode step: active weights + KV cache at full context) and "
    "compute bound (2 FLOPs per active parameter per sequence in the batch), plus the cards' "
    "collectives under tensor parallelism (assumed latency per layer); real servers are "
    "usually slower; measure before committing to hardware"
)

_SUGGESTION_COUNTS = (1, 2, 4, 8)
_NATIVE_TO_QUANT = {
    "fp32": "bf16",
    "bf16": "bf16",
    "fp16": "fp16",
    "fp8": "fp8",
    "mxfp4": "mxfp4",
    "int4": "awq",
}


@dataclass(frozen=True)
class QuantizationFit:
    """One quantization on the given hardware: memory per card and a speed estimate."""

    quantization: str
    per_card: CardMemory
    decode_tokens_per_s_estimate: float | None

    @property
    def fits(self) -> bool:
        """Whether this quantization fits on every card."""
        return self.per_card.fits


@dataclass(frozen=True)
class FitReport:
    """The answer to "does this model fit on this hardware?", with its numbers and reasons."""

    model: str
    hardware: str
    device_count: int
    quantization: str
    context_tokens: int
    concurrency: int
    kv_cache_dtype: str
    gpu_memory_utilization: float
    fits: bool
    per_card: CardMemory
    best_quantization: str | None
    options: tuple[QuantizationFit, ...]
    decode_tokens_per_s_estimate: float | None
    """Per sequence; an estimate (see ``decode_estimate_label``), never a measurement."""
    aggregate_decode_tokens_per_s_estimate: float | None
    usd_per_hour: float | None
    suggested_hardware: str | None
    reason: str
    notes: tuple[str, ...] = field(default_factory=tuple)
    decode_estimate_label: str = DECODE_ESTIMATE_LABEL
    prefill_tokens_per_s_estimate: float | None = None
    """Prompt tokens the whole replica processes per second (all cards); None when the device
    table has no FLOPS figure. Each request spends its prompt's share of this before decoding."""
    runtime: Runtime = "vllm"
    """The runtime the fit is sized for (its formats, its KV-cache allocation)."""

    @property
    def headroom_fraction(self) -> float:
        """Share of the memory a card may use that the model leaves free (negative: short)."""
        card = self.per_card
        return 1 - card.total_bytes / card.available_bytes if card.available_bytes else -1.0

    @property
    def tight(self) -> bool:
        """Fits, but with less than `HEADROOM_FRACTION` to spare."""
        return self.fits and self.headroom_fraction < HEADROOM_FRACTION

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (sizes in GB of 1e9 bytes)."""
        return {
            "model": self.model,
            "hardware": self.hardware,
            "device_count": self.device_count,
            "quantization": self.quantization,
            "context_tokens": self.context_tokens,
            "concurrency": self.concurrency,
            "kv_cache_dtype": self.kv_cache_dtype,
            "gpu_memory_utilization": self.gpu_memory_utilization,
            "fits": self.fits,
            "per_card": self.per_card.as_dict(),
            "best_quantization": self.best_quantization,
            "options": [
                {
                    "quantization": option.quantization,
                    "fits": option.fits,
                    **option.per_card.as_dict(),
                    "decode_tokens_per_s_estimate": _round(option.decode_tokens_per_s_estimate),
                }
                for option in self.options
            ],
            "decode_tokens_per_s_estimate": _round(self.decode_tokens_per_s_estimate),
            "aggregate_decode_tokens_per_s_estimate": _round(
                self.aggregate_decode_tokens_per_s_estimate
            ),
            "decode_estimate_label": self.decode_estimate_label,
            "prefill_tokens_per_s_estimate": _round(self.prefill_tokens_per_s_estimate),
            "usd_per_hour": self.usd_per_hour,
            "suggested_hardware": self.suggested_hardware,
            "reason": self.reason,
            "notes": list(self.notes),
            "runtime": self.runtime,
            "headroom_fraction": round(self.headroom_fraction, 4),
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def fit_model(
    arch: Architecture,
    hardware: HardwareSpec | str,
    *,
    context_tokens: int = 4096,
    concurrency: int = 1,
    quantization: str | None = None,
    kv_cache_dtype: str = "fp16",
    gpu_memory_utilization: float = 0.9,
    model_name: str | None = None,
    swa_full: bool | None = None,
    usd_per_hour: float | None = None,
) -> FitReport:
    """Check whether a model fits on ``hardware`` and estimate its decode speed.

    Under tensor parallelism over N cards each card holds weights/N and KV/N (KV heads are not
    split below one per card) plus its own runtime overhead; the need is compared with ONE
    card's memory x ``gpu_memory_utilization`` (vLLM's setting of the same name), never with
    the sum of cards. ``quantization`` None evaluates the model's native dtype (bf16 if
    unknown); either way ``best_quantization`` is the highest precision that fits.
    ``usd_per_hour`` overrides the table's price of one device. ``swa_full`` counts every token
    in sliding-window layers too; None: as the runtime allocates it (llama.cpp yes, vLLM no).
    Quantizations are ranked as the runtime serves them (`RUNTIME_QUANTIZATIONS`). Raises
    ValueError for an unknown quantization, KV dtype or hardware string, or a non-positive
    context.
    """
    if context_tokens < 1 or concurrency < 1:
        raise ValueError("context_tokens and concurrency must be at least 1")
    if not 0 < gpu_memory_utilization <= 1:
        raise ValueError("gpu_memory_utilization must be in (0, 1]")
    spec = parse_hardware(hardware) if isinstance(hardware, str) else hardware
    if usd_per_hour is not None:
        spec = spec.with_price(usd_per_hour)
    kv_cache_bytes_per_value(kv_cache_dtype)  # validate early, with the list of known dtypes
    name = model_name or f"a {arch.params_total_b:g}B-parameter model"
    quant_name = (
        get_quantization(quantization).name
        if quantization is not None
        else _NATIVE_TO_QUANT.get(arch.native_dtype or "bf16", "bf16")
    )
    runtime = runtime_for(spec.device.kind, quantization)
    settings = _Settings(
        context_tokens,
        concurrency,
        kv_cache_dtype,
        gpu_memory_utilization,
        runtime == "llama.cpp" if swa_full is None else swa_full,
    )
    notes: list[str] = []
    if kv_cache_bytes(arch, context_tokens=1) is None:
        notes.append(
            "KV cache not counted: the catalog lacks the attention facts (layers with "
            "kv_heads/head_dim, or kv_latent_dim for latent attention)"
        )
    evaluated = _evaluate(arch, spec, quant_name, settings)
    candidates = list(RUNTIME_QUANTIZATIONS[runtime])
    if quant_name not in candidates:
        candidates.insert(0, quant_name)
    options = tuple(
        evaluated if q == quant_name else _evaluate(arch, spec, q, settings) for q in candidates
    )
    best = next((option.quantization for option in options if option.fits), None)
    suggestion = None if evaluated.fits else _suggest_hardware(arch, spec, quant_name, settings)
    per_sequence = evaluated.decode_tokens_per_s_estimate
    if quant_name not in RUNTIME_QUANTIZATIONS[runtime]:
        notes.append(f"{quant_name} needs GPU kernels; llama.cpp on {spec.label} cannot run it")
    card = evaluated.per_card
    spare = card.available_bytes - card.total_bytes
    if evaluated.fits and spare < HEADROOM_FRACTION * card.available_bytes:
        notes.append(
            f"tight: only {_gb(spare)} ({spare / card.available_bytes:.1%}) to spare per card, "
            f"under the {HEADROOM_FRACTION:.0%} headroom kept for activation peaks and longer "
            "prompts; a larger card, more cards or a smaller quantization leaves room"
        )
    return FitReport(
        model=name,
        hardware=spec.label,
        device_count=spec.count,
        quantization=quant_name,
        context_tokens=context_tokens,
        concurrency=concurrency,
        kv_cache_dtype=kv_cache_dtype,
        gpu_memory_utilization=gpu_memory_utilization,
        fits=evaluated.fits,
        per_card=evaluated.per_card,
        best_quantization=best,
        options=options,
        decode_tokens_per_s_estimate=per_sequence,
        aggregate_decode_tokens_per_s_estimate=(
            None if per_sequence is None else per_sequence * concurrency
        ),
        usd_per_hour=spec.usd_per_hour,
        suggested_hardware=suggestion,
        reason=_reason(name, spec, evaluated, options, best, suggestion),
        notes=tuple(notes),
        prefill_tokens_per_s_estimate=prefill_tokens_per_s(arch, spec),
        runtime=runtime,
    )


def compute_flops(spec: HardwareSpec, phase: str = "prompt") -> float | None:
    """Effective FLOP/s of the whole replica in prompt processing (``phase="prompt"``) or in
    decoding (``"decode"``); None where the table has no figure.

    GPUs and Apple silicon: peak FP16 TFLOPS x cards x `PREFILL_COMPUTE_EFFICIENCY` (assumed).
    CPUs: the measured GFLOPS per core x the cores of the cloud host priced for that memory size
    (`cpu_host_for`): a ``cpu:<N>GB`` machine is taken to have that host's vCPUs."""
    device = spec.device
    if device.kind == "cpu":
        per_core = (
            device.prompt_gflops_per_core if phase == "prompt" else device.decode_gflops_per_core
        )
        host = cpu_host_for(device.memory_gb)
        if per_core is None or host is None:
            return None
        return host.vcpus * per_core * 1e9
    if device.fp16_tflops is None:
        return None
    return spec.count * device.fp16_tflops * 1e12 * PREFILL_COMPUTE_EFFICIENCY[device.kind]


def interconnect_seconds_per_step(arch: Architecture, spec: HardwareSpec) -> float:
    """Time a decode step spends in collectives between cards (0 on one card): two all-reduces
    per layer under tensor parallelism, two more per layer for a mixture of experts, each at
    `COLLECTIVE_LATENCY_S` of the cards' interconnect (an assumption)."""
    if spec.count < 2 or spec.device.kind != "gpu" or arch.layers is None:
        return 0.0
    moe = arch.params_active_b is not None and arch.params_active_b < arch.params_total_b
    per_layer = 4 if moe else 2
    return arch.layers * per_layer * COLLECTIVE_LATENCY_S[spec.device.interconnect]


def prefill_tokens_per_s(arch: Architecture, spec: HardwareSpec) -> float | None:
    """Prompt tokens per second on ``spec`` (all cards), compute bound: a forward pass costs
    about 2 FLOPs per active parameter per token, whatever the weights' storage format (they
    are dequantized to FP16 for the matrix products). The vocabulary matrix is left out: a
    prompt computes logits for its last token only."""
    flops = compute_flops(spec, "prompt")
    if flops is None:
        return None
    active = min(arch.params_active_b or arch.params_total_b, arch.params_total_b) * 1e9
    per_token = 2 * max(active - vocab_matrix_params(arch), 0.1 * active)
    return flops / per_token


@dataclass(frozen=True)
class _Settings:
    context_tokens: int
    concurrency: int
    kv_cache_dtype: str
    gpu_memory_utilization: float
    swa_full: bool


def _evaluate(
    arch: Architecture, spec: HardwareSpec, quant_name: str, settings: _Settings
) -> QuantizationFit:
    quant = get_quantization(quant_name)
    cards = spec.count
    weights = weight_bytes(arch, quant)
    kv_total = (
        kv_cache_bytes(
            arch,
            context_tokens=settings.context_tokens,
            concurrency=settings.concurrency,
            kv_cache_dtype=settings.kv_cache_dtype,
            swa_full=settings.swa_full,
        )
        or 0
    )
    kv_heads = arch.kv_heads or arch.attention_heads or cards
    kv_shards = max(1, min(cards, kv_heads))  # a KV head is replicated, not split, beyond that
    if arch.kv_latent_dim is not None:
        kv_shards = 1  # one latent shared by all heads: every tensor-parallel rank holds it all
    weights_per_card = weights // cards
    kv_per_card = kv_total // kv_shards
    utilization = 1.0 if spec.device.kind == "apple" else settings.gpu_memory_utilization
    per_card = CardMemory(
        weights_bytes=weights_per_card,
        kv_cache_bytes=kv_per_card,
        overhead_bytes=runtime_overhead_bytes(arch, weights_per_card, spec.device.kind),
        available_bytes=int(spec.device.memory_bytes * utilization),
    )
    read_per_step = active_weight_bytes(arch, quant) / cards + kv_per_card
    bandwidth = spec.device.bandwidth_gbps * 1e9 * DECODE_BANDWIDTH_EFFICIENCY[spec.device.kind]
    memory_s = read_per_step / bandwidth
    # A decode step also multiplies every active weight with each sequence in the batch:
    # small on a GPU until batches get large, the limit on CPU cores.
    flops = compute_flops(spec, "decode")
    active = min(arch.params_active_b or arch.params_total_b, arch.params_total_b) * 1e9
    compute_s = settings.concurrency * 2 * active / flops if flops else 0.0
    step_s = max(memory_s, compute_s) + interconnect_seconds_per_step(arch, spec)
    decode = 1 / step_s if step_s > 0 else None
    return QuantizationFit(quant_name, per_card, decode)


def _suggest_hardware(
    arch: Architecture, spec: HardwareSpec, quant_name: str, settings: _Settings
) -> str | None:
    """The GPU setup with the fewest cards, then the lowest price, that fits (same vendor as
    the given GPU; fewer cards mean less parallelism to run)."""
    same_vendor = spec.device.kind == "gpu"
    best: tuple[int, float, str] | None = None
    for device in known_devices():
        if device.kind != "gpu" or device.usd_per_hour is None:
            continue
        if same_vendor and device.vendor != spec.device.vendor:
            continue
        for count in _SUGGESTION_COUNTS:
            candidate = HardwareSpec(count=count, device=device)
            if _evaluate(arch, candidate, quant_name, settings).fits:
                key = (count, device.usd_per_hour * count, candidate.label)
                best = key if best is None or key < best else best
                break
    return None if best is None else best[2]


def _gb(n_bytes: float) -> str:
    value = n_bytes / 1e9
    return (
        f"{value:.0f} GB"
        if value >= 10
        else f"{value:.1f} GB"
        if value >= 1
        else (f"{n_bytes / 1e6:.0f} MB")
    )


def _reason(
    name: str,
    spec: HardwareSpec,
    evaluated: QuantizationFit,
    options: tuple[QuantizationFit, ...],
    best: str | None,
    suggestion: str | None,
) -> str:
    card = evaluated.per_card
    where = f"on {spec.label} ({_gb(card.available_bytes)} usable per card)"
    if spec.device.kind != "gpu":
        where = f"on {spec.label} ({_gb(card.available_bytes)} usable)"
    per = " per card" if spec.count > 1 or spec.device.kind == "gpu" else ""
    if evaluated.fits:
        speed = evaluated.decode_tokens_per_s_estimate
        speed_text = f"; decode ~{speed:.0f} tok/s per sequence (estimate)" if speed else ""
        return (
            f"{name} in {evaluated.quantization} fits {where}: needs {_gb(card.total_bytes)}{per}"
            f" (weights {_gb(card.weights_bytes)}, KV {_gb(card.kv_cache_bytes)}, overhead "
            f"{_gb(card.overhead_bytes)}){speed_text}"
        )
    head = f"{name} in {evaluated.quantization} needs {_gb(card.total_bytes)}{per} {where}"
    if best is not None:
        best_option = next(option for option in options if option.quantization == best)
        return f"{head}; {best} would need {_gb(best_option.per_card.total_bytes)} and fits"
    smallest = min(options, key=lambda option: option.per_card.total_bytes)
    tail = f"; try {suggestion}" if suggestion else "; no single machine in the table fits it"
    return (
        f"{head}; {smallest.quantization} would need {_gb(smallest.per_card.total_bytes)}"
        f" — does not fit either{tail}"
    )
