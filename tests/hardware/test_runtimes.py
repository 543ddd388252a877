"""A placement is sized for the runtime that would serve it: vLLM on GPUs, llama.cpp on CPUs and
Apple silicon (and for GGUF formats anywhere): its quantizations, ranked its way, its KV cache,
and how little room to spare is too little."""

from __future__ import annotations

import datetime as dt

import pytest

from llmpick.catalog._schema import Architecture
from llmpick.constraints import check_spec
from llmpick.hardware import (
    COLLECTIVE_LATENCY_S,
    HEADROOM_FRACTION,
    fit_model,
    interconnect_seconds_per_step,
    kv_cache_bytes,
    parse_hardware,
    quantization_in_name,
    runtime_for,
)
from llmpick.spec import Spec

from .conftest import llama_31_8b, llama_31_70b

GEMMA_3_27B = Architecture(
    params_total_b=27.4,
    layers=62,
    hidden_size=5376,
    attention_heads=32,
    kv_heads=16,
    head_dim=128,
    vocab_size=262208,
    native_dtype="bf16",
    sliding_window=1024,
    sliding_window_layers=52,
    source="https://huggingface.co/google/gemma-3-27b-it/blob/main/config.json",
    as_of=dt.date(2026, 11, 28),
)


def test_the_runtime_follows_the_device_and_the_format() -> None:
    assert runtime_for("gpu", "bf16") == "vllm"
    assert runtime_for("gpu", "q4_k_m") == "llama.cpp"  # a GGUF format: llama.cpp, even on a GPU
    assert runtime_for("cpu", None) == runtime_for("apple", "bf16") == "llama.cpp"


def test_gpu_quantizations_are_ranked_as_vllm_serves_them() -> None:
    report = fit_model(llama_31_70b(), "1xH100-80GB", context_tokens=4096)
    assert report.runtime == "vllm"
    ranked = [option.quantization for option in report.options]
    assert ranked[:2] == ["bf16", "fp8"]
    assert not {"q8_0", "q4_k_m", "q6_k"} & set(ranked)  # llama.cpp formats are not vLLM's
    assert report.best_quantization == "awq"  # fp8 needs ~77 GB of the 77 usable


def test_cpu_quantizations_are_llama_cpp_formats() -> None:
    report = fit_model(llama_31_8b(), "cpu:16GB", context_tokens=4096)
    assert report.runtime == "llama.cpp"
    ranked = [option.quantization for option in report.options]
    assert ranked[:3] == ["bf16", "q8_0", "q6_k"] and "fp8" not in ranked
    assert report.best_quantization == "q8_0"


def test_llama_cpp_sizes_a_full_cache_for_sliding_window_layers() -> None:
    # llama-cpp-python allocates every token in every layer (its default swa_full): Gemma 3 27B
    # at 128k needs 62 layers x 16 KV heads x 128 x 2 x 2 bytes x 131,072 = 66.6 GB of cache,
    # so it does not fit in 32 GB; the sliding-window count (10 full layers) would say 28 GB.
    full = kv_cache_bytes(GEMMA_3_27B, context_tokens=131_072, swa_full=True)
    assert full == 62 * 16 * 128 * 2 * 2 * 131_072
    cpu = fit_model(GEMMA_3_27B, "cpu:32GB", quantization="q4_k_m", context_tokens=131_072)
    assert cpu.per_card.kv_cache_bytes == full and not cpu.fits
    # vLLM keeps only the window in sliding-window layers.
    gpu = fit_model(GEMMA_3_27B, "1xH100-80GB", quantization="fp8", context_tokens=131_072)
    assert gpu.runtime == "vllm"
    windowed = kv_cache_bytes(GEMMA_3_27B, context_tokens=131_072)
    assert windowed is not None and gpu.per_card.kv_cache_bytes == windowed


def test_a_fit_with_little_to_spare_warns() -> None:
    # 70B in bf16 on 2 x H100: 70.6 GB of weights and ~4.5 GB of runtime per card leave about
    # 1 GB of the 77 GB vLLM may use, far under the 10% headroom.
    tight = fit_model(llama_31_70b(), "2xH100-80GB", quantization="bf16", context_tokens=4096)
    assert tight.fits and tight.headroom_fraction < HEADROOM_FRACTION
    assert tight.tight
    assert any("to spare" in note and f"{HEADROOM_FRACTION:.0%}" in note for note in tight.notes)
    roomy = fit_model(llama_31_70b(), "4xH100-80GB", quantization="bf16", context_tokens=4096)
    assert roomy.fits and not roomy.tight
    assert not any("to spare" in note for note in roomy.notes)
    assert roomy.headroom_fraction == pytest.approx(
        1 - roomy.per_card.total_bytes / roomy.per_card.available_bytes
    )


def _spec(candidate: object, hardware: list[str], rent: bool = False) -> Spec:
    return Spec.model_validate(
        {
            "needs": {"volume": {"requests_per_day": 100}},
            "constraints": {"infrastructure": {"hardware": hardware, "may_rent_cloud_gpus": rent}},
            "candidates": [candidate],
        }
    )


def test_a_model_shipped_in_one_quantization_is_placed_in_it() -> None:
    for model, shipped in (
        ("local/smollm2-135m-instruct", "q4_1"),
        ("local/gemma-3-270m", "q4_k_m"),
    ):
        verdict = check_spec(_spec(model, ["cpu:16GB"])).verdicts[0]
        assert verdict.eligible and verdict.placement["quantization"] == shipped, model


def test_a_tight_placement_is_a_warning_in_the_hardware_rule() -> None:
    spec = _spec({"model": "meta/llama-3.1-70b-instruct", "quantization": "bf16"}, ["2xH100-80GB"])
    verdict = check_spec(spec).verdicts[0]
    result = next(r for r in verdict.results if r.rule == "hardware")
    assert result.passed and verdict.placement["hardware"] == "2xH100-80GB-SXM"
    assert "to spare" in result.message and "headroom" in result.message
    assert result.details and "headroom_warning" in result.details


def test_tensor_parallel_decode_pays_for_collectives_between_cards() -> None:
    # Llama 3.1 70B in fp8 on 2 x H100 (NVLink): each decode step reads half the weights and
    # then waits for 80 layers x 2 all-reduces x 20 us = 3.2 ms of collectives.
    one = fit_model(llama_31_70b(), "2xH100-80GB", quantization="fp8", context_tokens=4096)
    assert interconnect_seconds_per_step(llama_31_70b(), parse_hardware("2xH100-80GB")) == (
        pytest.approx(80 * 2 * COLLECTIVE_LATENCY_S["nvlink"])
    )
    memory_s = 1 / one.decode_tokens_per_s_estimate - 80 * 2 * 20e-6  # type: ignore[operator]
    assert 0 < memory_s < 0.02
    # PCIe cards wait longer than NVLink ones; one card waits for nothing.
    assert interconnect_seconds_per_step(llama_31_70b(), parse_hardware("4xL4")) == (
        pytest.approx(80 * 2 * COLLECTIVE_LATENCY_S["pcie"])
    )
    assert interconnect_seconds_per_step(llama_31_70b(), parse_hardware("1xH200")) == 0


def test_deepseek_v3_on_eight_h200_is_not_hundreds_of_tokens_per_sequence() -> None:
    # 37B active parameters in fp8 over 8 cards read in ~1.4 ms, but 61 layers x 4 collectives
    # (tensor-parallel all-reduces and the experts' dispatch and gather) x 20 us add 4.9 ms.
    arch = Architecture(
        params_total_b=671.0,
        params_active_b=37.0,
        layers=61,
        hidden_size=7168,
        attention_heads=128,
        kv_heads=128,
        head_dim=128,
        vocab_size=129280,
        native_dtype="fp8",
        kv_latent_dim=576,
        source="https://huggingface.co/deepseek-ai/DeepSeek-V3/blob/main/config.json",
        as_of=dt.date(2026, 11, 28),
    )
    report = fit_model(arch, "8xH200", quantization="fp8", context_tokens=4096)
    assert report.fits and report.decode_tokens_per_s_estimate is not None
    assert report.decode_tokens_per_s_estimate < 200  # was ~645 with no collectives
    wait = interconnect_seconds_per_step(arch, parse_hardware("8xH200"))
    assert wait == pytest.approx(61 * 4 * 20e-6)


def test_of_the_hardware_on_hand_the_cheapest_at_the_spec_volume_is_chosen() -> None:
    # The quickstart's hardware: an 8B model fits the 16 GB CPU host (q8_0) and the L4, but the
    # CPU host serves ~0.04 requests/s: 30+ of them cost far more than one L4. SmolLM2 is
    # cheapest on the CPU host.
    def placed(model: str) -> dict[str, object]:
        spec = Spec.model_validate(
            {
                "needs": {
                    "latency": {"ttft_p95_ms": 1500, "e2e_p95_ms": 4000},
                    "volume": {
                        "requests_per_day": 40_000,
                        "mean_input_tokens": 350,
                        "mean_output_tokens": 5,
                        "peak_to_average": 3,
                        "cacheable_input_share": 0.6,
                    },
                },
                "constraints": {"infrastructure": {"hardware": ["cpu:16GB", "1xL4"]}},
                "candidates": [model],
            }
        )
        verdict = check_spec(spec).verdicts[0]
        assert verdict.eligible, verdict.to_dict()
        return verdict.placement

    assert placed("meta/llama-3.1-8b-instruct")["hardware"] == "1xL4"
    assert placed("local/smollm2-135m-instruct")["hardware"] == "cpu:16GB"


def test_a_gguf_file_is_placed_in_the_quantization_its_name_says() -> None:
    assert quantization_in_name("Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf") == "q4_k_m"
    assert quantization_in_name("SmolLM2-135M-Instruct.Q4_1.gguf") == "q4_1"
    assert quantization_in_name("model-f16.gguf") == "fp16"
    assert quantization_in_name("model.gguf") is None
    candidate = {
        "name": "mine",
        "gguf": {"path": "models/Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf"},
        "catalog_id": "meta/llama-3.1-8b-instruct",
    }
    verdict = check_spec(_spec(candidate, ["cpu:16GB"])).verdicts[0]
    assert verdict.eligible and verdict.placement["quantization"] == "q4_k_m"
