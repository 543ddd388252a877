"""Every self-hosted bill prices its hardware: from the spec, from the sourced device table, or
as an explicit "$0, assumed" that the cost flags; never a silent $0."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from llmpick.constraints import check_spec
from llmpick.costs import Throughput, cost_candidate, hardware_price, self_hosted_monthly_cost
from llmpick.hardware import cpu_host_for, parse_hardware
from llmpick.spec import Spec, load_spec
from llmpick.spec._models import InfrastructureConstraints, VolumeNeed

QUICKSTART = Path(__file__).parents[2] / "examples" / "quickstart" / "llmpick.yaml"
VOLUME = VolumeNeed(requests_per_day=1000)


def _bill(hardware: str, **infra: Any) -> Any:
    return self_hosted_monthly_cost(
        parse_hardware(hardware),
        Throughput(10.0, "estimate", "test"),
        VOLUME,
        InfrastructureConstraints(ops_hours_per_month=0, **infra),
        owned=True,
    )


def test_an_unpriced_device_is_flagged_and_its_zero_said_to_be_assumed() -> None:
    bill = _bill("apple:M3-Max-64GB")  # nobody rents it by the hour; the spec gives no price
    assert bill.hardware_usd_per_month == 0
    assert bill.hardware_unpriced and bill.price.provenance == "assumed"
    assert any("assumed by you: $0" in note for note in bill.assumptions)


def test_a_cpu_host_gets_the_sourced_price_of_a_cloud_host_of_its_size() -> None:
    host = cpu_host_for(16)
    assert host is not None and host.memory_gib * 2**30 >= 16e9 and host.vcpus == 4
    bill = _bill("cpu:16GB")
    assert not bill.hardware_unpriced and bill.price.provenance == "catalog"
    assert bill.usd_per_hour_per_replica == pytest.approx(host.usd_per_hour)
    assert bill.hardware_usd_per_month == pytest.approx(host.usd_per_hour * 730)
    assert host.instance in bill.price.source and bill.price.as_of is not None
    # The smallest host that holds the memory: 18 GB (more than 16 GiB) needs the next size.
    bigger = cpu_host_for(18)
    assert bigger is not None and bigger.memory_gib > host.memory_gib


def test_a_price_the_spec_sets_wins_even_when_it_is_zero() -> None:
    bill = _bill("cpu:16GB", gpu_usd_per_hour={"cpu:16GB": 0.0})
    assert bill.hardware_usd_per_month == 0 and not bill.hardware_unpriced
    assert bill.price.provenance == "assumed" and "spec" in bill.price.source
    assert hardware_price(parse_hardware("1xL4"), InfrastructureConstraints()).provenance == (
        "catalog"
    )


def test_a_cpu_larger_than_any_priced_host_is_unpriced() -> None:
    assert cpu_host_for(100_000) is None
    assert _bill("cpu:100000GB").hardware_unpriced


def _quickstart_costs() -> dict[str, Any]:
    spec: Spec = load_spec(QUICKSTART).spec
    return {
        v.candidate.label: cost_candidate(v, spec)
        for v in check_spec(spec).verdicts
        if v.eligible and v.candidate.deployment == "self-hosted"
    }


def test_the_quickstart_shows_no_zero_dollar_hardware() -> None:
    costs = _quickstart_costs()
    assert costs, "the quickstart has self-hosted candidates"
    for label, cost in costs.items():
        assert cost.usd_per_month is not None, label
        assert cost.breakdown["gpu"] > 0, (label, cost.breakdown)
        assert not cost.hardware_unpriced, label
        assert cost.figure_provenance["gpu"] == "catalog", label
        assert cost.figure_provenance["operations"] == "assumed", label
