"""How many bytes a model needs: weights, KV cache and runtime overhead.

Every function works from a catalog ``Architecture`` alone, so it needs no model download.
The constants below are assumptions, named and explained so a reader can challenge them.
"""

from __future__ import annotations

from dataclasses import dataclass

from llmpick.catalog._schema import Architecture
from llmpick.hardware._devices import DeviceKind
from llmpick.hardware._quantization import Quantization, kv_cache_bytes_per_value

#: GGUF tokenizer metadata: token strings, scores, types and BPE merges. Measured on the two
#: bundled GGUFs: 1.79 MB for SmolLM2 (49,152 tokens + 48,900 merges, ~36 B per token) and
#: 6.5 MB for Gemma 3 (262,144 tokens, ~25 B per token).
GGUF_METADATA_BYTES_PER_VOCAB_ENTRY = 30

#: GPU serving (vLLM-style): the CUDA context, cuBLAS workspaces and NCCL buffers take roughly
#: 0.5-1 GB per card before any tensor is loaded (assumed, typical of vLLM startup logs).
GPU_RUNTIME_BYTES = 1.0e9
#: GPU serving: the activation peak of a prefill batch plus CUDA graphs, as a share of the
#: card's weights (assumed; bigger layers have proportionally bigger activations).
GPU_ACTIVATION_FRACTION = 0.05

#: llama.cpp on CPU or Apple silicon: measured RSS after loading the two bundled GGUFs, minus
#: weights and KV cache, is ~22 MB (SmolLM2, 49k vocab) and ~50 MB (Gemma 3, 262k vocab):
#: a fixed ~16 MB plus ~130 bytes per vocabulary entry (the tokenizer's in-memory tables).
LLAMA_CPP_RUNTIME_BYTES = 16e6
LLAMA_CPP_BYTES_PER_VOCAB_ENTRY = 130
#: llama.cpp compute scratch actually touched while decoding, as a share of the weights
#: (assumed; the reserved compute buffer is larger but mostly never paged in).
LLAMA_CPP_ACTIVATION_FRACTION = 0.02


def vocab_matrix_params(arch: Architecture) -> int:
    """Parameters of one vocabulary x hidden matrix (the LM head or the tied embedding).

    Quantised formats keep exactly one such matrix at higher precision: llama.cpp the output
    matrix, GPTQ/AWQ/FP8 checkpoints the LM head. An untied input embedding is counted with the
    bulk, which slightly underestimates GPTQ/AWQ (they keep it in 16 bit too).
    """
    if arch.vocab_size is None or arch.hidden_size is None:
        return 0
    return min(arch.vocab_size * arch.hidden_size, int(arch.params_total_b * 1e9))


def weight_bytes(arch: Architecture, quantization: Quantization) -> int:
    """Bytes of all weights in ``quantization`` (mixture-of-experts: all experts)."""
    total = int(arch.params_total_b * 1e9)
    vocab = vocab_matrix_params(arch)
    bulk_bits = quantization.bulk_bits(arch.hidden_size)
    vocab_bits = quantization.vocab_bits(arch.hidden_size)
    return int(((total - vocab) * bulk_bits + vocab * vocab_bits) / 8)


def active_weight_bytes(arch: Architecture, quantization: Quantization) -> int:
    """Bytes of the weights one token reads (mixture-of-experts: the active experts only)."""
    total = weight_bytes(arch, quantization)
    if arch.params_active_b is None or arch.params_active_b >= arch.params_total_b:
        return total
    return int(total * arch.params_active_b / arch.params_total_b)


def gguf_file_bytes(arch: Architecture, quantization: Quantization) -> int:
    """Expected size of a GGUF file: the weights plus the tokenizer metadata."""
    metadata = (arch.vocab_size or 0) * GGUF_METADATA_BYTES_PER_VOCAB_ENTRY
    return weight_bytes(arch, quantization) + metadata


def head_dim(arch: Architecture) -> int | None:
    """Width of one attention head: given, or hidden_size / attention_heads."""
    if arch.head_dim is not None:
        return arch.head_dim
    if arch.hidden_size is not None and arch.attention_heads:
        return arch.hidden_size // arch.attention_heads
    return None


def kv_cache_bytes(
    arch: Architecture,
    *,
    context_tokens: int,
    concurrency: int = 1,
    kv_cache_dtype: str = "fp16",
    swa_full: bool = False,
) -> int | None:
    """Bytes of keys and values for ``concurrency`` sequences of ``context_tokens`` each.

    2 (K and V) x layers x kv_heads x head_dim x tokens x sequences x bytes per value; with
    latent attention (MLA) the per-token, per-layer part is the latent width instead. Layers
    with sliding-window attention keep only ``sliding_window`` tokens, unless ``swa_full``:
    llama.cpp's full-size SWA cache (llama-cpp-python's default) stores every token there too.
    None when the architecture lacks the layer or head counts.
    """
    if arch.layers is None:
        return None
    if arch.kv_latent_dim is not None:
        values_per_token_per_layer = arch.kv_latent_dim
    else:
        width = head_dim(arch)
        kv_heads = arch.kv_heads or arch.attention_heads
        if kv_heads is None or width is None:
            return None
        values_per_token_per_layer = 2 * kv_heads * width
    per_token_per_layer = values_per_token_per_layer * kv_cache_bytes_per_value(kv_cache_dtype)
    sliding_layers = 0
    window_tokens = context_tokens
    if arch.sliding_window is not None and arch.sliding_window_layers and not swa_full:
        sliding_layers = min(arch.sliding_window_layers, arch.layers)
        window_tokens = min(context_tokens, arch.sliding_window)
    full_layers = arch.layers - sliding_layers
    tokens = full_layers * context_tokens + sliding_layers * window_tokens
    return int(per_token_per_layer * tokens * concurrency)


def runtime_overhead_bytes(
    arch: Architecture, weights_per_card: int, device_kind: DeviceKind
) -> int:
    """Memory the serving runtime needs beside weights and KV cache, per card."""
    if device_kind == "gpu":
        return int(GPU_RUNTIME_BYTES + GPU_ACTIVATION_FRACTION * weights_per_card)
    vocab_tables = (arch.vocab_size or 0) * LLAMA_CPP_BYTES_PER_VOCAB_ENTRY
    return int(
        LLAMA_CPP_RUNTIME_BYTES + vocab_tables + LLAMA_CPP_ACTIVATION_FRACTION * weights_per_card
    )


@dataclass(frozen=True)
class CardMemory:
    """Memory on ONE card (or the one CPU/Apple machine), in bytes."""

    weights_bytes: int
    kv_cache_bytes: int
    overhead_bytes: int
    available_bytes: int

    @property
    def total_bytes(self) -> int:
        """What the model needs on this card."""
        return self.weights_bytes + self.kv_cache_bytes + self.overhead_bytes

    @property
    def fits(self) -> bool:
        """Whether the need fits in what the card makes available."""
        return self.total_bytes <= self.available_bytes

    def as_dict(self) -> dict[str, float]:
        """The breakdown in GB (1e9 bytes), for JSON output."""
        return {
            "weights_gb": round(self.weights_bytes / 1e9, 3),
            "kv_cache_gb": round(self.kv_cache_bytes / 1e9, 3),
            "overhead_gb": round(self.overhead_bytes / 1e9, 3),
            "total_gb": round(self.total_bytes / 1e9, 3),
            "available_gb": round(self.available_bytes / 1e9, 3),
        }
