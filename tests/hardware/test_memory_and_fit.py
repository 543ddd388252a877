"""The memory estimator: KV-cache formula, tensor parallelism, quantizations and fit reports."""

from __future__ import annotations

import datetime as dt

import pytest

from llmpick.catalog._schema import Architecture
from llmpick.hardware import (
    DeviceInfo,
    HardwareSpec,
    UnknownQuantizationError,
    fit_model,
    get_quantization,
    kv_cache_bytes,
    parse_hardware,
    runtime_overhead_bytes,
    weight_bytes,
)

from .conftest import gpt_oss_120b, llama_31_8b, llama_31_70b, llama_31_405b


def _gemma_like(**changes: object) -> Architecture:
    fields: dict[str, object] = dict(
        params_total_b=0.27,
        layers=18,
        hidden_size=640,
        attention_heads=4,
        kv_heads=1,
        head_dim=256,
        vocab_size=262144,
        sliding_window=512,
        sliding_window_layers=15,
        source="https://huggingface.co/google/gemma-3-270m/blob/main/config.json",
        as_of=dt.date(2026, 11, 28),
    )
    fields.update(changes)
    return Architecture.model_validate(fields)


# --- KV cache, computed by hand ------------------------------------------------------------


def test_kv_cache_llama_70b_by_hand(llama70b: Architecture) -> None:
    # 2 (K,V) x 80 layers x 8 kv heads x 128 dims x 4096 tokens x 1 sequence x 2 bytes
    assert kv_cache_bytes(llama70b, context_tokens=4096) == 2 * 80 * 8 * 128 * 4096 * 2
    assert kv_cache_bytes(llama70b, context_tokens=4096) == 1_342_177_280


def test_kv_cache_scales_with_concurrency_and_dtype() -> None:
    arch = llama_31_8b()
    fp8 = kv_cache_bytes(arch, context_tokens=8192, concurrency=8, kv_cache_dtype="fp8")
    assert fp8 == 2 * 32 * 8 * 128 * 8192 * 8 * 1 == 4_294_967_296
    q4 = kv_cache_bytes(arch, context_tokens=8192, concurrency=8, kv_cache_dtype="q4_0")
    assert q4 == int(2 * 32 * 8 * 128 * 8192 * 8 * 18 / 32)  # 18 bytes per 32 values


def test_kv_cache_caps_sliding_window_layers() -> None:
    arch = _gemma_like()
    # 2 x 1 kv head x 256 dims x 2 bytes = 1024 bytes per token per layer;
    # 3 global layers keep 4096 tokens, 15 sliding layers keep 512.
    assert kv_cache_bytes(arch, context_tokens=4096) == 1024 * (3 * 4096 + 15 * 512)
    # Shorter than the window: every layer keeps the whole context.
    assert kv_cache_bytes(arch, context_tokens=256) == 1024 * 18 * 256
    # llama.cpp's full-size SWA cache: 72 MiB at 4096 cells, as llama.cpp itself reports.
    assert kv_cache_bytes(arch, context_tokens=4096, swa_full=True) == 72 * 2**20


def test_kv_cache_unknown_without_layer_facts() -> None:
    arch = _gemma_like(layers=None)
    assert kv_cache_bytes(arch, context_tokens=4096) is None
    report = fit_model(arch, "cpu:8GB")
    assert report.per_card.kv_cache_bytes == 0
    assert any("KV cache not counted" in note for note in report.notes)


def test_unknown_kv_dtype_and_quantization_are_value_errors(llama70b: Architecture) -> None:
    with pytest.raises(UnknownQuantizationError, match="fp16, bf16, fp8"):
        fit_model(llama70b, "1xH100", kv_cache_dtype="int3")
    with pytest.raises(ValueError, match="q4_k_m"):
        fit_model(llama70b, "1xH100", quantization="q3_xs")
    assert get_quantization("INT8").name == "q8_0"


# --- weights ---------------------------------------------------------------------------------


def test_weights_bf16_and_quantized(llama70b: Architecture) -> None:
    assert weight_bytes(llama70b, get_quantization("bf16")) == int(70.6e9 * 2)
    vocab = 128256 * 8192
    q4 = weight_bytes(llama70b, get_quantization("q4_k_m"))
    # the bulk at 4.8 bpw, the output matrix at Q6_K (hidden 8192 is a multiple of 256)
    assert q4 == int(((70.6e9 - vocab) * 4.80 + vocab * 6.5625) / 8)
    assert 4.8 < q4 * 8 / 70.6e9 < 4.9  # within llama.cpp's published 4.84-4.89 bpw


def test_mixture_of_experts_memory_uses_total_speed_uses_active() -> None:
    moe = gpt_oss_120b()
    dense = moe.model_copy(update={"params_active_b": None})
    moe_report = fit_model(moe, "1xH200", quantization="mxfp4")
    dense_report = fit_model(dense, "1xH200", quantization="mxfp4")
    assert moe_report.per_card.weights_bytes == dense_report.per_card.weights_bytes
    assert moe_report.decode_tokens_per_s_estimate is not None
    assert dense_report.decode_tokens_per_s_estimate is not None
    assert moe_report.decode_tokens_per_s_estimate > 10 * dense_report.decode_tokens_per_s_estimate


# --- tensor parallelism --------------------------------------------------------------------


def test_tensor_parallel_is_per_card_never_the_sum(llama70b: Architecture) -> None:
    one = fit_model(llama70b, "1xH100-80GB-SXM")
    two = fit_model(llama70b, "2xH100-80GB-SXM")
    weights = weight_bytes(llama70b, get_quantization("bf16"))
    assert two.per_card.weights_bytes == weights // 2
    kv = kv_cache_bytes(llama70b, context_tokens=4096)
    assert kv is not None and two.per_card.kv_cache_bytes == kv // 2
    # overhead is paid on every card
    assert two.per_card.overhead_bytes == runtime_overhead_bytes(llama70b, weights // 2, "gpu")
    # the budget is ONE card's memory, whatever the count
    one_card = int(81559 * 2**20 * 0.9)
    assert one.per_card.available_bytes == two.per_card.available_bytes == one_card
    assert not one.fits and two.fits


def test_kv_heads_are_not_split_below_one_per_card(llama70b: Architecture) -> None:
    sixteen = fit_model(llama70b, "16xL4")
    kv = kv_cache_bytes(llama70b, context_tokens=4096)
    assert kv is not None and sixteen.per_card.kv_cache_bytes == kv // 8


def test_fits_on_sum_but_not_per_card() -> None:
    # 7 x L4 hold 152 GB between them, more than Llama 3.1 70B's ~150 GB in bf16, but each
    # card would need its seventh of the weights plus its own runtime overhead: 22.4 GB > 21.7.
    arch = llama_31_70b()
    report = fit_model(arch, "7xL4")
    weights = weight_bytes(arch, get_quantization("bf16"))
    kv = kv_cache_bytes(arch, context_tokens=4096)
    assert kv is not None
    pooled_need = weights + kv + runtime_overhead_bytes(arch, weights, "gpu")
    assert 7 * report.per_card.available_bytes > pooled_need  # a sum would say "fits"
    assert report.per_card.total_bytes > report.per_card.available_bytes
    assert not report.fits


# --- best quantization and the reason --------------------------------------------------------


def test_best_quantization_is_highest_precision_that_fits(llama70b: Architecture) -> None:
    # On a GPU, vLLM's formats: fp8 needs ~77 GB of the 77 usable, AWQ 4-bit ~43 GB.
    report = fit_model(llama70b, "1xH100-80GB")
    assert not report.fits
    assert report.best_quantization == "awq"
    fits = {option.quantization: option.fits for option in report.options}
    assert fits["bf16"] is False and fits["fp8"] is False and fits["awq"] is True
    assert "awq would need" in report.reason
    # On a CPU, llama.cpp's: q8_0 needs ~79 GB of 80, q6_k ~63 GB.
    cpu = fit_model(llama70b, "cpu:80GB")
    assert cpu.best_quantization == "q6_k"
    fits = {option.quantization: option.fits for option in cpu.options}
    assert fits["bf16"] is False and fits["q8_0"] is False and fits["q4_k_m"] is True
    assert "q6_k would need" in cpu.reason


def test_70b_bf16_on_one_l4_fits_in_nothing_and_suggests_two_big_cards(
    llama70b: Architecture,
) -> None:
    report = fit_model(llama70b, "1xL4", model_name="Llama 3.1 70B")
    assert not report.fits
    assert report.best_quantization is None
    # the fewest cards first, then the cheapest: two 80 GB cards (A100 or H100), not eight L4s
    assert report.suggested_hardware in {"2xA100-80GB", "2xH100-80GB-PCIE", "2xH100-80GB-SXM"}
    assert report.reason.startswith("Llama 3.1 70B in bf16 needs 151 GB per card on 1xL4")
    assert f"does not fit either; try {report.suggested_hardware}" in report.reason
    assert report.decode_estimate_label.startswith("estimate")


def test_cpu_and_apple_skip_gpu_only_formats(llama70b: Architecture) -> None:
    report = fit_model(llama70b, "apple:M2-Ultra-192GB")
    names = [option.quantization for option in report.options]
    assert "awq" not in names and "fp8" not in names
    assert report.best_quantization == "q8_0"  # 75 GB of the 144 GB GPU working set


def test_report_to_dict_is_plain_json(llama70b: Architecture) -> None:
    import json

    data = fit_model(llama70b, "2xL4", quantization="q4_k_m").to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["per_card"]["available_gb"] == pytest.approx(23034 * 2**20 * 0.9 / 1e9, abs=1e-3)


# --- published serving configurations --------------------------------------------------------


def test_vllm_llama31_405b_configurations() -> None:
    # https://blog.vllm.ai/2024/07/23/llama31.html: the official FP8 405B runs on 8xH100 or
    # 8xA100; BF16 405B runs on a single 8xMI300X or 8xH200 machine; BF16 on H100 needs
    # pipeline parallelism across nodes (it does not fit one 8xH100 machine).
    arch = llama_31_405b()
    assert fit_model(arch, "8xH100-80GB", quantization="fp8").fits
    assert fit_model(arch, "8xA100-80GB", quantization="fp8").fits
    assert fit_model(arch, "8xH200", quantization="bf16").fits
    assert fit_model(arch, "8xMI300X", quantization="bf16").fits
    assert not fit_model(arch, "8xH100-80GB", quantization="bf16").fits


def test_llama_70b_bf16_on_a100s_with_long_context() -> None:
    # https://evokernel-specs.pages.dev/en/cases/case-llama33-a100x8-vllm-001/: Llama 3.3 70B
    # (same shape as 3.1 70B) in BF16 on 8xA100 SXM4 80GB, TP=8, --max-model-len 32768, batch 16.
    report = fit_model(llama_31_70b(), "8xA100-80GB", context_tokens=32768, concurrency=16)
    assert report.fits
    # and the usual minimum: 70B BF16 needs two 80 GB cards; one is not enough
    assert fit_model(llama_31_70b(), "2xH100-80GB").fits
    assert fit_model(llama_31_70b(), "4xA100-80GB").fits
    assert not fit_model(llama_31_70b(), "1xA100-80GB").fits


def test_gpt_oss_120b_on_one_h100() -> None:
    # https://openai.com/index/introducing-gpt-oss/: gpt-oss-120b in MXFP4 "runs efficiently on
    # a single 80 GB GPU"; its checkpoint is ~65 GB (60.8 GiB), all experts in MXFP4.
    report = fit_model(gpt_oss_120b(), "1xH100-80GB", quantization="mxfp4")
    assert report.fits
    assert 60e9 < report.per_card.weights_bytes < 66e9
    assert not fit_model(gpt_oss_120b(), "1xH100-80GB", quantization="bf16").fits


def test_llama_8b_bf16_on_one_20_to_24_gb_card_needs_limited_context() -> None:
    # https://devopscube.com/deploying-llama-with-docker-and-vllm/: Llama 3 8B in FP16 on an
    # RTX 4000 Ada (20,475 MiB) works with little room to spare; the full 128K context does not.
    rtx_4000_ada = DeviceInfo(
        id="RTX-4000-ADA",
        kind="gpu",
        vendor="NVIDIA",
        name="RTX 4000 Ada",
        memory_gb=20,
        driver_memory_mib=20475,
        bandwidth_gbps=360,
        source="https://devopscube.com/deploying-llama-with-docker-and-vllm/",
        as_of=dt.date(2026, 11, 28),
    )
    card = HardwareSpec(count=1, device=rtx_4000_ada)
    assert fit_model(llama_31_8b(), card, context_tokens=4096).fits
    assert not fit_model(llama_31_8b(), card, context_tokens=131072).fits
    assert fit_model(llama_31_8b(), "1xL4", context_tokens=8192).fits
    assert not fit_model(llama_31_8b(), "1xL4", context_tokens=131072).fits
    # https://huggingface.co/docs/google-cloud/examples/cloud-run-tgi-deployment: Llama 3.1 8B
    # in AWQ INT4 on one L4 (24 GiB) on Cloud Run.
    assert fit_model(llama_31_8b(), "1xL4", quantization="awq", context_tokens=32768).fits


def test_hardware_spec_object_and_price() -> None:
    report = fit_model(llama_31_8b(), parse_hardware("2xL4", usd_per_hour=1.0))
    assert report.usd_per_hour == pytest.approx(2.0)
    assert report.aggregate_decode_tokens_per_s_estimate == report.decode_tokens_per_s_estimate
    assert fit_model(llama_31_8b(), "2xL4", usd_per_hour=0.25).usd_per_hour == pytest.approx(0.5)


def test_latent_attention_caches_the_latent_on_every_card() -> None:
    # DeepSeek-V3's MLA caches kv_lora_rank 512 + qk_rope_head_dim 64 = 576 values per token per
    # layer, whatever its 128 heads: 61 layers x 576 x 8192 tokens x 16 sequences x 2 bytes.
    mla = Architecture(
        params_total_b=671,
        params_active_b=37,
        layers=61,
        attention_heads=128,
        kv_heads=128,
        head_dim=128,
        kv_latent_dim=576,
        source="https://huggingface.co/deepseek-ai/DeepSeek-V3/blob/main/config.json",
        as_of=dt.date(2026, 11, 28),
    )
    expected = 61 * 576 * 8192 * 16 * 2
    assert kv_cache_bytes(mla, context_tokens=8192, concurrency=16) == expected
    # Tensor parallelism does not split one shared latent: each of 8 cards holds all of it.
    report = fit_model(mla, "8xH200", context_tokens=8192, concurrency=16, quantization="fp8")
    assert report.per_card.kv_cache_bytes == expected
    assert not any("KV cache not counted" in note for note in report.notes)
