"""Hardware facts and the memory-fit estimator.

Answers "does this open-weight model fit on this hardware, in which quantization, and about
how fast will it decode?" from catalog architecture facts and a bundled device table::

    from llmpick.hardware import fit_model, parse_hardware
    report = fit_model(entry.architecture, "2xL4", context_tokens=8192, quantization="q4_k_m")
"""

from __future__ import annotations

from llmpick.hardware._devices import (
    CpuHost,
    DeviceInfo,
    DeviceKind,
    cpu_host_for,
    cpu_hosts,
    find_device,
    known_devices,
)
from llmpick.hardware._fit import (
    COLLECTIVE_LATENCY_S,
    DECODE_BANDWIDTH_EFFICIENCY,
    DECODE_ESTIMATE_LABEL,
    HEADROOM_FRACTION,
    PREFILL_COMPUTE_EFFICIENCY,
    PREFILL_ESTIMATE_LABEL,
    RUNTIME_QUANTIZATIONS,
    FitReport,
    QuantizationFit,
    Runtime,
    compute_flops,
    fit_model,
    interconnect_seconds_per_step,
    runtime_for,
)
from llmpick.hardware._hardware_string import (
    ACCEPTED_FORMS,
    HardwareParseError,
    HardwareSpec,
    parse_hardware,
)
from llmpick.hardware._memory import (
    CardMemory,
    active_weight_bytes,
    gguf_file_bytes,
    kv_cache_bytes,
    runtime_overhead_bytes,
    vocab_matrix_params,
    weight_bytes,
)
from llmpick.hardware._quantization import (
    KV_CACHE_BYTES,
    PRECISION_ORDER,
    QUANTIZATIONS,
    Quantization,
    UnknownQuantizationError,
    get_quantization,
    kv_cache_bytes_per_value,
    quantization_in_name,
)

__all__ = [
    "ACCEPTED_FORMS",
    "COLLECTIVE_LATENCY_S",
    "DECODE_BANDWIDTH_EFFICIENCY",
    "DECODE_ESTIMATE_LABEL",
    "HEADROOM_FRACTION",
    "KV_CACHE_BYTES",
    "PRECISION_ORDER",
    "PREFILL_COMPUTE_EFFICIENCY",
    "PREFILL_ESTIMATE_LABEL",
    "QUANTIZATIONS",
    "RUNTIME_QUANTIZATIONS",
    "CardMemory",
    "CpuHost",
    "DeviceInfo",
    "DeviceKind",
    "FitReport",
    "HardwareParseError",
    "HardwareSpec",
    "Quantization",
    "QuantizationFit",
    "Runtime",
    "UnknownQuantizationError",
    "active_weight_bytes",
    "compute_flops",
    "cpu_host_for",
    "cpu_hosts",
    "find_device",
    "fit_model",
    "get_quantization",
    "gguf_file_bytes",
    "interconnect_seconds_per_step",
    "known_devices",
    "kv_cache_bytes",
    "kv_cache_bytes_per_value",
    "parse_hardware",
    "quantization_in_name",
    "runtime_for",
    "runtime_overhead_bytes",
    "vocab_matrix_params",
    "weight_bytes",
]
