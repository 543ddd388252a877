"""Cost formulas against hand-computed cases, and break-even against a worked example."""

from __future__ import annotations

import datetime as dt

import pytest

from llmpick.catalog._schema import Pricing, PromptCaching
from llmpick.costs import (
    CandidateCost,
    Throughput,
    api_monthly_cost,
    break_even_between,
    break_even_volume,
    self_hosted_monthly_cost,
)
from llmpick.hardware import parse_hardware
from llmpick.spec._models import InfrastructureConstraints, VolumeNeed

PRICING = Pricing(
    source="https://example.test/pricing",
    as_of=dt.date(2026, 11, 28),
    provider="vendor",
    input_usd_per_mtok=2.0,
    output_usd_per_mtok=8.0,
    cached_input_usd_per_mtok=0.5,
    batch_discount=0.5,
    # The 500-token cached prefix below is exactly at the minimum: the discount applies.
    prompt_caching=PromptCaching(
        min_cacheable_tokens=500, source="https://example.test/caching", as_of=dt.date(2026, 12, 2)
    ),
)


def test_api_cost_by_hand() -> None:
    volume = VolumeNeed(requests_per_day=1000, mean_input_tokens=1000, mean_output_tokens=500)
    cost = api_monthly_cost(PRICING, volume)
    # 1000 req/day x 30.4167 days = 30,416.7 requests; each: 1000 x $2/M + 500 x $8/M = $0.006
    assert cost.requests_per_month == pytest.approx(30_416.667, rel=1e-6)
    assert cost.usd_per_request == pytest.approx(0.006)
    assert cost.usd_per_month == pytest.approx(182.5)
    assert cost.price_source == "https://example.test/pricing"


def test_api_cost_with_cache_and_batch() -> None:
    volume = VolumeNeed(
        requests_per_day=1000,
        mean_input_tokens=1000,
        mean_output_tokens=500,
        cacheable_input_share=0.5,
        batchable_share=0.4,
    )
    cost = api_monthly_cost(PRICING, volume)
    # per request: 500 x 2 + 500 x 0.5 + 500 x 8 = 5250 $/M tokens -> $0.00525
    gross = 0.00525 * 1000 * 365 / 12
    assert cost.batch_savings_usd_per_month == pytest.approx(gross * 0.4 * 0.5)
    assert cost.usd_per_month == pytest.approx(gross * (1 - 0.2))


def test_self_hosted_cost_by_hand() -> None:
    hardware = parse_hardware("2xL4", usd_per_hour=0.8)
    volume = VolumeNeed(requests_per_day=864_000, peak_to_average=2.5)  # 10 req/s avg, 25 peak
    infra = InfrastructureConstraints(ops_hours_per_month=10, ops_usd_per_hour=100)
    cost = self_hosted_monthly_cost(
        hardware, Throughput(4.0, "estimate", "test"), volume, infra, owned=False
    )
    assert cost.peak_requests_per_s == pytest.approx(25)
    assert cost.replicas == 7  # ceil(25 / 4)
    assert cost.hardware_usd_per_month == pytest.approx(7 * 1.6 * 730)
    assert cost.operations_usd_per_month == pytest.approx(1000)
    assert cost.usd_per_month == pytest.approx(7 * 1.6 * 730 + 1000)
    assert cost.utilization == pytest.approx(10 / 28)


def test_owned_hardware_is_amortized() -> None:
    hardware = parse_hardware("1xL4")
    infra = InfrastructureConstraints(
        hardware_purchase_usd={"L4": 3600},
        owned_hardware_amortization_months=36,
        ops_hours_per_month=0,
    )
    cost = self_hosted_monthly_cost(
        hardware,
        Throughput(100.0, "estimate", "t"),
        VolumeNeed(requests_per_day=100),
        infra,
        owned=True,
    )
    assert cost.usd_per_month == pytest.approx(100.0)  # 3600 / 36


def test_break_even_worked_example() -> None:
    # API: $0.01 per request; self-hosted: $3,000/month fixed, one replica carries everything.
    # Break-even: 0.01 x v x 365/12 = 3000  ->  v = 3000 / (0.01 x 30.4167) = 9,863 requests/day
    def api(v: float) -> float:
        return 0.01 * v * 365 / 12

    def self_hosted(v: float) -> float:
        return 3000.0

    found = break_even_volume(self_hosted, api)
    assert found.requests_per_day == pytest.approx(3000 / (0.01 * 365 / 12), rel=1e-6)


def test_break_even_none_when_api_always_cheaper() -> None:
    found = break_even_volume(lambda v: 1e12, lambda v: v)
    assert found.requests_per_day is None and "API is cheaper" in found.note


def test_break_even_carries_the_provenance_of_its_inputs() -> None:
    def api(v: float) -> float:
        return 0.01 * v * 365 / 12

    measured = CandidateCost(3000.0, "measured", "load test lt-1", None, at_volume=lambda v: 3000.0)
    estimate = CandidateCost(
        3000.0, "estimate", "hardware estimate", None, at_volume=lambda v: 3000.0
    )
    listed = CandidateCost(
        300.0, "catalog", "https://example.test/pricing", "2026-11-28", at_volume=api
    )
    found = break_even_between(measured, listed)
    assert found.requests_per_day == pytest.approx(3000 / (0.01 * 365 / 12), rel=1e-6)
    assert found.provenance == "catalog"  # a load test against a list price: the less certain
    assert any("load test lt-1" in s for s in found.sources)
    assert any("example.test/pricing" in s for s in found.sources)
    assert break_even_between(estimate, listed).provenance == "estimate"  # the weaker input
    unpriced = CandidateCost(
        3000.0, "measured", "load test", None, at_volume=lambda v: 3000.0, hardware_unpriced=True
    )
    assert break_even_between(unpriced, listed).provenance == "assumed"
    # The bare function says where its numbers came from when told.
    assert break_even_volume(lambda v: 3000.0, api).provenance == "unknown"
