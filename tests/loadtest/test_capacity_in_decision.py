"""A load-tested capacity replaces the hardware estimate in the self-hosted cost, only where it
was measured on the hardware being costed; what is not used is said."""

from __future__ import annotations

import math
from typing import Any

from llmpick.constraints import check_spec
from llmpick.costs import CapacityEvidence, cost_candidate
from llmpick.spec import Spec

MODEL = "meta/llama-3.1-8b-instruct"


def _spec() -> Spec:
    return Spec.model_validate(
        {
            "needs": {
                "latency": {"ttft_p95_ms": 1000, "e2e_p95_ms": 5000},
                "volume": {
                    "requests_per_day": 86_400,  # 1 request/s on average
                    "mean_input_tokens": 500,
                    "mean_output_tokens": 100,
                    "peak_to_average": 2.0,  # 2 requests/s at peak
                },
            },
            "constraints": {
                "infrastructure": {
                    "hardware": ["1xL4"],
                    "gpu_usd_per_hour": {"L4": 1.0},
                    "ops_hours_per_month": 0,
                },
            },
            "candidates": [
                {"model": MODEL, "quantization": "awq"},
                {
                    "name": "served",
                    "endpoint": {"base_url": "http://127.0.0.1:9/v1", "model": "llama"},
                    "catalog_id": MODEL,
                },
            ],
        }
    )


def _cost(label: str, capacity: CapacityEvidence | None) -> Any:
    spec = _spec()
    verdict = next(v for v in check_spec(spec).verdicts if v.candidate.label == label)
    return cost_candidate(verdict, spec, capacity)


def test_measured_capacity_on_the_placed_hardware_sizes_the_replicas() -> None:
    cost = _cost(MODEL, CapacityEvidence(0.6, "1xL4", 16, "load test lt-1"))
    assert cost.provenance == "measured"
    assert cost.breakdown["hardware"] == "1xL4"  # the hardware check placed it on the L4
    assert cost.breakdown["requests_per_s_per_replica"] == 0.6
    assert cost.breakdown["replicas"] == math.ceil(2 / 0.6) == 4
    assert cost.usd_per_month == 4 * 1.0 * 730  # four L4s at $1/hour, no operations cost
    assert "load test lt-1" in cost.source


def test_capacity_measured_elsewhere_is_not_used_and_the_report_says_why() -> None:
    estimate = _cost(MODEL, None)
    other = _cost(MODEL, CapacityEvidence(0.6, "2xL4", 16, "load test lt-2"))
    assert other.provenance == estimate.provenance == "estimate"
    assert other.usd_per_month == estimate.usd_per_month
    assert any("ran on 2xL4" in note and "sized on 1xL4" in note for note in other.assumptions)


def test_a_running_endpoint_is_costed_on_the_hardware_it_was_measured_on() -> None:
    assert _cost("served", None).usd_per_month is None
    assert "llmpick loadtest" in _cost("served", None).source
    cost = _cost("served", CapacityEvidence(2.5, "1xL4", 32, "load test lt-3"))
    assert cost.provenance == "measured"
    assert cost.breakdown["replicas"] == 1 and cost.usd_per_month == 730.0
    assert cost.breakdown["max_concurrency_per_replica"] == 32
    # What the spec owns is costed as owned hardware (here at its cloud-equivalent price).
    assert any("owned hardware" in note for note in cost.assumptions)
