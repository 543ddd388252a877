"""Self-hosted capacity from hardware facts, checked against numbers worked out by hand."""

from __future__ import annotations

import datetime as dt

import pytest

from llmpick.catalog._schema import Architecture
from llmpick.costs import replica_throughput
from llmpick.hardware import DeviceInfo, HardwareSpec
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
    # bf16: 20 GB of weights. Decode per sequence = 1000 GB/s x 0.7 / 20 GB = 35 tok/s, and a
    # batch of B decodes B x 35 tok/s. Prefill = 100 TFLOPS x 0.5 / (2 x 10e9) = 2,500 tok/s.
    # 1,000 prompt tokens + 10 answer tokens, SLO 1 s: a request's latency is
    # 1000/2500 + 10/35 = 0.686 s at any batch, so the largest batch tried (256) is allowed:
    # rate = 1 / (0.4 + 10 / (256 x 35)) = 2.4716 requests/s.
    throughput, report = replica_throughput(
        ARCH, HardwareSpec(count=1, device=CARD), "bf16", 2048, _spec(1000, 10, 1000)
    )
    assert throughput is not None and report is not None
    assert report.prefill_tokens_per_s_estimate == pytest.approx(2500)
    assert report.concurrency == 256
    assert throughput.requests_per_s == pytest.approx(1 / (0.4 + 10 / (256 * 35)), rel=1e-6)
    assert "2,500 prompt tokens/s" in throughput.source


def test_prompt_time_counts_against_the_latency_slo() -> None:
    # With KV facts a bigger batch reads more per step: 10 layers x 1 KV head x 100 dims x
    # 1,000 tokens x 2 (K, V) x 2 bytes = 4 MB per sequence. Decode per sequence at batch B is
    # 700 GB/s / (20 GB + B x 4 MB): B=128 -> 34.127 tok/s, B=256 -> 33.295 tok/s. With the
    # 0.4 s of prompt, 10 answer tokens end at 0.6930 s (B=128) and 0.7003 s (B=256), so a
    # 0.697 s SLO allows B=128 but not 256 (without the prompt term both would pass).
    arch = ARCH.model_copy(update={"layers": 10, "kv_heads": 1, "attention_heads": 1})
    arch = arch.model_copy(update={"head_dim": 100})
    throughput, report = replica_throughput(
        arch, HardwareSpec(count=1, device=CARD), "bf16", 1000, _spec(1000, 10, 697)
    )
    assert throughput is not None and report is not None
    assert report.concurrency == 128
    per_seq = 700e9 / (20e9 + 128 * 4e6)
    assert throughput.requests_per_s == pytest.approx(1 / (0.4 + 10 / (128 * per_seq)), rel=1e-6)


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


def test_without_a_flops_figure_the_prompt_term_is_left_out_and_said_so() -> None:
    card = CARD.model_copy(update={"fp16_tflops": None})
    throughput, _ = replica_throughput(
        ARCH, HardwareSpec(count=1, device=card), "bf16", 2048, _spec(1000, 10, 1000)
    )
    assert throughput is not None
    assert throughput.requests_per_s == pytest.approx(256 * 35 / 10, rel=1e-6)
    assert "prompt processing not modelled" in throughput.source
