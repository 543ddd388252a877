"""Weight and KV-cache number formats, with the bits each really costs per value.

Effective bits per weight include the block scales stored beside the quantised values. The
GGUF figures come from the block layouts in llama.cpp's ``ggml/src/ggml-common.h``
(https://github.com/ggml-org/llama.cpp/blob/master/ggml/src/ggml-common.h) and the measured
mixes in the quantize tool's README
(https://github.com/ggml-org/llama.cpp/blob/master/tools/quantize/README.md: Llama 2 7B
Q4_K_M 4.84 bpw, Q5_K_M 5.68, Q6_K 6.56, output tensor included).

Quantised formats do not quantise everything. llama.cpp's ``llama_tensor_get_type``
(src/llama-quant.cpp) stores the output matrix (or the tied token embedding) as Q6_K, or
Q8_0 when its rows are not a multiple of the 256-value K-quant super-block; tensors whose rows
are not a multiple of 256 fall back from K-quants to legacy types (Q4_K -> Q5_0, Q5_K -> Q5_1,
Q6_K -> Q8_0). GPTQ/AWQ, vLLM FP8 and gpt-oss MXFP4 checkpoints keep the embeddings and the
LM head in 16 bit. ``Quantization`` records both the bulk bits and those exceptions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from llmpick._errors import LlmpickError

QuantFamily = Literal["float", "gguf", "gptq-awq", "mxfp4"]

#: The K-quant super-block: rows of other lengths cannot use K-quant types.
K_QUANT_BLOCK = 256


@dataclass(frozen=True)
class Quantization:
    """A weight format and what it costs, including llama.cpp's per-tensor exceptions."""

    name: str
    family: QuantFamily
    bits_per_weight: float
    """Effective bits of the bulk of the weights (values + block scales + the usual mix)."""
    vocab_matrix_bits: float
    """Bits of the one vocabulary x hidden matrix kept at higher precision (LM head/embedding)."""
    vocab_matrix_bits_unaligned: float | None = None
    """Bits of that matrix when hidden_size is not a multiple of 256 (K-quant not possible)."""
    bits_per_weight_unaligned: float | None = None
    """Bulk bits when hidden_size is not a multiple of 256 (K-quant falls back to Q5_0, ...)."""
    why: str = ""

    def bulk_bits(self, hidden_size: int | None) -> float:
        """Effective bits of the bulk weights for a model with this hidden size."""
        if _unaligned(hidden_size) and self.bits_per_weight_unaligned is not None:
            return self.bits_per_weight_unaligned
        return self.bits_per_weight

    def vocab_bits(self, hidden_size: int | None) -> float:
        """Effective bits of the vocabulary matrix kept at higher precision."""
        if _unaligned(hidden_size) and self.vocab_matrix_bits_unaligned is not None:
            return self.vocab_matrix_bits_unaligned
        return self.vocab_matrix_bits


def _unaligned(hidden_size: int | None) -> bool:
    return hidden_size is not None and hidden_size % K_QUANT_BLOCK != 0


# Bits of the GGUF block types (ggml-common.h), per value:
_Q8_0 = 34 * 8 / 32  # 32 int8 + one fp16 scale = 34 bytes per 32 values -> 8.5
_Q6_K = 210 * 8 / 256  # ql[128] + qh[64] + int8 scales[16] + fp16 d = 210 bytes -> 6.5625
_Q5_1 = 24 * 8 / 32  # fp16 d + fp16 m + qh[4] + qs[16] = 24 bytes -> 6.0
_Q5_0 = 22 * 8 / 32  # fp16 d + qh[4] + qs[16] = 22 bytes -> 5.5
_Q4_1 = 20 * 8 / 32  # fp16 d + fp16 m + qs[16] = 20 bytes -> 5.0
_Q4_0 = 18 * 8 / 32  # fp16 d + qs[16] = 18 bytes -> 4.5

# Q4_K_M / Q5_K_M: Q4_K (144 bytes/256 = 4.5 bpw) or Q5_K (176/256 = 5.5) for most tensors,
# Q6_K for attn_v and ffn_down in about half the layers (first and last eighth, every third in
# between). In a Llama-style layer those are ~29% of the weights, so ~14.5% go to Q6_K:
# 0.855 * 4.5 + 0.145 * 6.5625 = 4.80 and 0.855 * 5.5 + 0.145 * 6.5625 = 5.65. With the Q6_K
# output matrix this reproduces the README's 4.84 and 5.68 bpw for Llama 2 7B.
_Q4_K_M = 4.80
_Q5_K_M = 5.65


def _gguf(
    name: str,
    bits: float,
    vocab: float,
    vocab_unaligned: float | None = None,
    bits_unaligned: float | None = None,
    why: str = "",
) -> Quantization:
    return Quantization(name, "gguf", bits, vocab, vocab_unaligned, bits_unaligned, why)


QUANTIZATIONS: dict[str, Quantization] = {
    q.name: q
    for q in (
        Quantization("bf16", "float", 16, 16, why="bfloat16, 2 bytes per weight"),
        Quantization("fp16", "float", 16, 16, why="float16, 2 bytes per weight"),
        Quantization(
            "fp8",
            "float",
            8,
            16,
            why="FP8 e4m3 with per-tensor/channel scales "
            "(vLLM); embeddings and LM head stay 16 bit",
        ),
        # (name, bulk bits, vocab-matrix bits, vocab bits if hidden % 256, bulk bits if so)
        _gguf("q8_0", _Q8_0, _Q8_0, why="32 int8 + fp16 scale per block; `int8` is an alias"),
        _gguf("q6_k", _Q6_K, _Q6_K, _Q8_0, _Q8_0, why="210 bytes per 256 weights"),
        _gguf(
            "q5_k_m", _Q5_K_M, _Q6_K, _Q8_0, _Q5_1, why="Q5_K + Q6_K for half of attn_v, ffn_down"
        ),
        _gguf(
            "q4_k_m", _Q4_K_M, _Q6_K, _Q8_0, _Q5_0, why="Q4_K + Q6_K for half of attn_v, ffn_down"
        ),
        _gguf("q4_1", _Q4_1, _Q6_K, _Q8_0, why="fp16 scale + fp16 min + 32 nibbles"),
        _gguf("q4_0", _Q4_0, _Q6_K, _Q8_0, why="fp16 scale + 32 nibbles"),
        # AWQ/GPTQ, group size 128: 4 bits + an fp16 scale and a zero point per 128 weights.
        Quantization("awq", "gptq-awq", 4.25, 16, why="AWQ 4-bit, g128; LM head 16 bit"),
        Quantization("gptq", "gptq-awq", 4.25, 16, why="GPTQ 4-bit, g128; LM head 16 bit"),
        # OCP microscaling: 32 fp4 (e2m1) values share one 8-bit exponent: 4 + 8/32 bits.
        Quantization(
            "mxfp4",
            "mxfp4",
            4.25,
            16,
            why="MXFP4; embeddings stay bf16 (gpt-oss also keeps attention in bf16)",
        ),
    )
}

QUANTIZATION_ALIASES = {
    "int8": "q8_0",
    "q8": "q8_0",
    "bfloat16": "bf16",
    "float16": "fp16",
    "f16": "fp16",
    "half": "fp16",
    "fp8_e4m3": "fp8",
    "awq-int4": "awq",
    "gptq-int4": "gptq",
    "int4": "awq",
}

#: Highest precision first: the order in which `best_quantization` is searched.
#: (q4_k_m before q4_1: fewer bits, but llama.cpp measures it as more accurate.)
PRECISION_ORDER: tuple[str, ...] = (
    "bf16",
    "q8_0",
    "fp8",
    "q6_k",
    "q5_k_m",
    "q4_k_m",
    "q4_1",
    "q4_0",
    "awq",
    "gptq",
    "mxfp4",
)

#: Formats that need GPU kernels (vLLM, TensorRT-LLM); llama.cpp on CPU/Apple cannot run them.
GPU_ONLY_FORMATS = frozenset({"fp8", "awq", "gptq"})

#: Bytes per cached key or value element. q8_0/q4_0 are llama.cpp's quantised KV cache types
#: (--cache-type-k/-v) and cost their block size: 34/32 and 18/32 bytes per value.
KV_CACHE_BYTES: dict[str, float] = {
    "fp32": 4.0,
    "fp16": 2.0,
    "bf16": 2.0,
    "fp8": 1.0,
    "q8_0": 34 / 32,
    "q4_0": 18 / 32,
}
_KV_ALIASES = {"f16": "fp16", "f32": "fp32", "auto": "fp16", "fp8_e4m3": "fp8", "int8": "q8_0"}


class UnknownQuantizationError(LlmpickError, ValueError):
    """A quantization or KV-cache type llmpick does not know; the message lists the known ones."""


def get_quantization(name: str) -> Quantization:
    """The format called ``name`` (case-insensitive; ``int8`` means ``q8_0``)."""
    key = name.strip().lower().replace("-", "_")
    key = QUANTIZATION_ALIASES.get(key, QUANTIZATION_ALIASES.get(key.replace("_", "-"), key))
    try:
        return QUANTIZATIONS[key]
    except KeyError:
        known = ", ".join(QUANTIZATIONS)
        raise UnknownQuantizationError(
            f"unknown quantization {name!r}; use one of: {known} (aliases: int8 -> q8_0)"
        ) from None


def quantization_in_name(filename: str) -> str | None:
    """The quantization a GGUF file's name states (``...-Q4_K_M.gguf`` -> ``q4_k_m``), the
    convention of llama.cpp's quantize tool and of published GGUFs; None if it names none."""
    stem = filename.rsplit("/", 1)[-1].lower().removesuffix(".gguf")
    for part in reversed(re.split(r"[-.]", stem)):
        try:
            return get_quantization(part).name
        except UnknownQuantizationError:
            continue
    return None


def kv_cache_bytes_per_value(kv_cache_dtype: str) -> float:
    """Bytes one cached key or value element takes in ``kv_cache_dtype``."""
    key = kv_cache_dtype.strip().lower()
    key = _KV_ALIASES.get(key, key)
    try:
        return KV_CACHE_BYTES[key]
    except KeyError:
        known = ", ".join(KV_CACHE_BYTES)
        raise UnknownQuantizationError(
            f"unknown KV-cache dtype {kv_cache_dtype!r}; use one of: {known}"
        ) from None
