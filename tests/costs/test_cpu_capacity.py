"""CPU (and every other device) capacity from a compute figure, checked by hand; an estimate
more than 3x off a load test on the same hardware is said so."""

from __future__ import annotations

from typing import Any

import pytest

from llmpick.catalog import load_catalog
from llmpick.constraints import check_spec
from llmpick.costs import CapacityEvidence, cost_candidate, replica_throughput
from llmpick.hardware import HardwareSpec, compute_flops, known_devices, parse_hardware
from llmpick.spec import Spec

SMOLLM2 = "local/smollm2-135m-instruct"


def _spec(hardware: str = "cpu:8GB", **volume: Any) -> Spec:
    return Spec.model_validate(
        {
            "needs": {
                "latency": {"ttft_p95_ms": 3000, "e2e_p95_ms": 4000},
                "volume": {
                    "requests_per_day": 40_000,
                    "mean_input_tokens": 350,
                    "mean_output_tokens": 5,
                    "cacheable_input_share": 0.6,
                    **volume,
                },
            },
            "constraints": {
                "infrastructure": {"hardware": [hardware], "may_rent_cloud_gpus": False}
            },
            "candidates": [SMOLLM2],
        }
    )


def test_every_device_has_a_prompt_processing_figure() -> None:
    for device in known_devices():
        size = "" if device.kind == "gpu" else f"{min(device.memory_gb, 16):g}GB"
        text = {"gpu": f"1x{device.id}", "cpu": f"cpu:{size}", "apple": ""}[device.kind]
        text = text or f"apple:{device.id}-{size}"
        assert compute_flops(parse_hardware(text), "prompt"), device.id
        assert compute_flops(parse_hardware(text), "decode"), device.id


def test_smollm2_on_a_two_core_host_by_hand() -> None:
    # cpu:8GB is priced as m7g.large: 2 vCPUs. Prompt: 2 x 24 GFLOPS over 2 x (135M - 49,152 x
    # 576 vocabulary matrix) FLOPs per token = 48e9 / 213.376896e6 = 224.95 tokens/s. Decode:
    # 2 x 10 GFLOPS / (2 x 135M) = 74.07 tokens/s, compute bound (Q4_1 weights, ~0.1 GB, take
    # 1.8 ms at 60% of 89.6 GB/s; 13.5 ms of compute), so more sequences add nothing.
    # A quickstart request computes 40% of 350 prompt tokens (60% is the cached prefix):
    # 140 / 224.95 = 0.6224 s, plus 5 / 74.07 = 0.0675 s: 1.4495 requests/s.
    arch = load_catalog().get(SMOLLM2).architecture
    assert arch is not None
    throughput, report = replica_throughput(arch, parse_hardware("cpu:8GB"), "q4_1", 2048, _spec())
    assert throughput is not None and report is not None
    prefill = 48e9 / (2 * (0.135e9 - 49_152 * 576))
    assert report.prefill_tokens_per_s_estimate == pytest.approx(prefill)
    assert report.decode_tokens_per_s_estimate == pytest.approx(20e9 / 0.27e9)
    assert report.concurrency == 1
    assert throughput.requests_per_s == pytest.approx(1 / (140 / prefill + 5 * 0.27 / 20))
    # Twice the cores (cpu:16GB is an m7g.xlarge, 4 vCPUs) is twice the rate.
    double, _ = replica_throughput(arch, parse_hardware("cpu:16GB"), "q4_1", 2048, _spec())
    assert double is not None
    assert double.requests_per_s == pytest.approx(2 * throughput.requests_per_s)


def test_a_cpu_without_a_priced_host_size_has_no_compute_figure() -> None:
    assert compute_flops(parse_hardware("cpu:100000GB")) is None
    card = HardwareSpec(count=1, device=parse_hardware("1xL4").device)
    assert compute_flops(card) == pytest.approx(121e12 * 0.5)


def _smollm2_cost(capacity: CapacityEvidence) -> Any:
    spec = _spec()
    verdict = check_spec(spec).verdicts[0]
    assert verdict.eligible, verdict.to_dict()
    return cost_candidate(verdict, spec, capacity)


def test_an_estimate_more_than_3x_off_the_load_test_is_said_so() -> None:
    close = _smollm2_cost(CapacityEvidence(1.0, "cpu:8GB", 1, "load test lt-1"))
    assert close.provenance == "measured"
    assert close.estimate_vs_measured == pytest.approx(1.4495, rel=1e-3)
    assert not any("more than 3x" in note for note in close.assumptions)
    far = _smollm2_cost(CapacityEvidence(0.1, "cpu:8GB", 1, "load test lt-2"))
    assert far.estimate_vs_measured == pytest.approx(14.495, rel=1e-3)
    assert any("more than 3x" in note and "14.5x" in note for note in far.assumptions)
    assert far.breakdown["estimate_vs_measured"] == pytest.approx(14.495, rel=1e-3)
