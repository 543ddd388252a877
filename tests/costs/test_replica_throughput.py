"""Self-hosted capacity from hardware facts, checked against numbers worked out by hand."""

from __future__ import annotations

import datetime as dt

import pytest

from llmpick.catalog._schema import Architecture
from llmpick.costs import replica_throughput
from llmpick.hardware import DeviceInfo, HardwareSpec, fit_model
from llmpick.spec import Spec

# A made-up card with round numbers, so every step below can be done on paper.
CARD = DeviceInfo(
    id="ROUND-1",
    kind="gpu",
    vendor="Test",
    name="Round numbers card",
    memory_gb=1000,
    bandwidth_gbps=1000,
    fp16_tflops=100,
    source="made up for this test",
    as_of=dt.date(2026, 11, 28),
)
# 10B parameters, no KV-cache facts (so a decode step reads the weights only).
ARCH = Architecture(params_total_b=10, source="made up for this test", as_of=dt.date(2026, 11, 28))


def _spec(input_tokens: float, output_tokens: float, e2e_ms: float) -> Spec:
    return Spec.model_validate(
        {
            "needs": {
                "latency": {"ttft_p95_ms": 450, "e2e_p95_ms": e2e_ms},
                "volume": {
                    "requests_per_day": 1000,
                    "mean_input_tokens": input_tokens,
                    "mean_output_tokens": output_tokens,
                },
            },
            "candidates": ["openai/gpt-4o-mini"],
        }
    )


def test_prompt_processing_is_part_of_each_request() -> None:
    # bf16: 20 GB of weights. A decode step reads them (20 GB / 700 GB/s = 28.571 ms) and
    # multiplies them with every sequence of the batch (B x 2 x 10e9 FLOPs / 50 TFLOPS =
    # B x 0.4 ms), so it takes max(28.571, 0.4 B) ms. Prefill = 50 TFLOPS / (2 x 10e9) = 2,500
    # tok/s. 1,000 prompt tokens + 10 answer tokens, SLO 1 s:
    #   B=128: step 51.2 ms, latency 0.4 + 10 x 0.0512 = 0.912 s (meets the SLO)
    #   B=256: step 102.4 ms, latency 1.424 s (misses it)
    # so B=128 sets the rate: 1 / (0.4 + 10 x 0.0512 / 128) = 1 / 0.404 requests/s.
    throughput, report = replica_throughput(
        ARCH, HardwareSpec(count=1, device=CARD), "bf16", 2048, _spec(1000, 10, 1000)
    )
    assert throughput is not None and report is not None
    assert report.prefill_tokens_per_s_estimate == pytest.approx(2500)
    assert report.concurrency == 128
    assert throughput.requests_per_s == pytest.approx(1 / 0.404, rel=1e-6)
    assert "2,500 prompt tokens/s" in throughput.source


def test_a_compute_bound_batch_gains_no_throughput() -> None:
    # Past B = 28.571 / 0.4 = 71.4 a step is compute bound: the batch's output tokens/s stay at
    # 50 TFLOPS / 20 GFLOPs per token = 2,500, whatever the batch.
    for batch in (128, 256):
        report = fit_model(ARCH, HardwareSpec(count=1, device=CARD), concurrency=batch)
        assert report.aggregate_decode_tokens_per_s_estimate == pytest.approx(2500)
    small = fit_model(ARCH, HardwareSpec(count=1, device=CARD), concurrency=8)
    assert small.aggregate_decode_tokens_per_s_estimate == pytest.approx(8 * 35)


def test_prompt_time_counts_against_the_latency_slo() -> None:
    # With KV facts a bigger batch reads more per step: 10 layers x 1 KV head x 100 dims x
    # 1,000 tokens x 2 (K, V) x 2 bytes = 4 MB per sequence. At B=64 a step reads 20.256 GB
    # (28.937 ms, above the 25.6 ms of compute); at B=128 compute sets it (51.2 ms). With the
    # 0.4 s of prompt, 10 answer tokens end at 0.6894 s (B=64) and 0.912 s (B=128), so a
    # 0.697 s SLO allows B=64 but not 128 (without the prompt term 128 would pass: 0.512 s).
    arch = ARCH.model_copy(update={"layers": 10, "kv_heads": 1, "attention_heads": 1})
    arch = arch.model_copy(update={"head_dim": 100})
    throughput, report = replica_throughput(
        arch, HardwareSpec(count=1, device=CARD), "bf16", 1000, _spec(1000, 10, 697)
    )
    assert throughput is not None and report is not None
    assert report.concurrency == 64
    per_seq = 700e9 / (20e9 + 64 * 4e6)
    assert throughput.requests_per_s == pytest.approx(1 / (0.4 + 10 / (64 * per_seq)), rel=1e-6)


def test_only_the_prompt_tokens_not_in_the_cached_prefix_are_computed() -> None:
    # 60% of 1,000 prompt tokens are a shared prefix the runtime keeps cached: 400 computed,
    # 0.16 s. B=128 then ends at 0.16 + 0.512 = 0.672 s and B=256 at 1.184 s: B=128 again.
    spec = _spec(1000, 10, 1000)
    spec.needs.volume.cacheable_input_share = 0.6
    throughput, report = replica_throughput(
        ARCH, HardwareSpec(count=1, device=CARD), "bf16", 2048, spec
    )
    assert throughput is not None and report is not None and report.concurrency == 128
    assert throughput.requests_per_s == pytest.approx(1 / (0.16 + 0.004), rel=1e-6)
    assert "400 of 1,000 prompt tokens not in the cached prefix" in throughput.source


def test_two_cards_process_prompts_twice_as_fast() -> None:
    one = replica_throughput(
        ARCH, HardwareSpec(count=1, device=CARD), "bf16", 2048, _spec(1000, 10, 5000)
    )[1]
    two = replica_throughput(
        ARCH, HardwareSpec(count=2, device=CARD), "bf16", 2048, _spec(1000, 10, 5000)
    )[1]
    assert one is not None and two is not None
    assert two.prefill_tokens_per_s_estimate == pytest.approx(
        2 * one.prefill_tokens_per_s_estimate  # type: ignore[operator]
    )


def test_without_a_compute_figure_the_prompt_term_is_left_out_and_said_so() -> None:
    card = CARD.model_copy(update={"fp16_tflops": None})
    throughput, _ = replica_throughput(
        ARCH, HardwareSpec(count=1, device=card), "bf16", 2048, _spec(1000, 10, 1000)
    )
    assert throughput is not None
    assert throughput.requests_per_s == pytest.approx(256 * 35 / 10, rel=1e-6)
    assert "prompt processing not modelled" in throughput.source
