"""Monthly total cost of owning a self-hosted deployment at the spec's volume.

    peak request rate     = requests/day / 86,400 x peak-to-average
    replicas              = ceil(peak request rate / request rate one replica sustains at the SLO)
    hardware per month    = replicas x (cloud $/hour x 730 x (1 - reserved discount)
                                        or purchase price / amortization months, for owned cards)
    operations per month  = engineer hours x loaded hourly rate

The request rate one replica sustains is a `Throughput`: an estimate from hardware facts
(`replica_throughput`, labelled so) or a load test at the SLO, through the same type without
changing anything else here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

from llmpick.hardware import HardwareSpec
from llmpick.spec._models import InfrastructureConstraints, VolumeNeed

HOURS_PER_MONTH = 730.0
SECONDS_PER_DAY = 86_400.0

Provenance = Literal["measured", "estimate", "catalog", "assumed"]


@dataclass(frozen=True)
class Throughput:
    """Requests per second one replica serves while meeting the latency SLO."""

    requests_per_s: float
    provenance: Provenance
    source: str


@dataclass(frozen=True)
class SelfHostedCost:
    """A monthly self-hosting bill, its parts and the assumptions behind them."""

    usd_per_month: float
    hardware_usd_per_month: float
    operations_usd_per_month: float
    replicas: int
    hardware: str
    usd_per_hour_per_replica: float | None
    peak_requests_per_s: float
    throughput: Throughput
    utilization: float
    owned: bool
    assumptions: list[str] = field(default_factory=list)


def self_hosted_monthly_cost(
    hardware: HardwareSpec,
    throughput: Throughput,
    volume: VolumeNeed,
    infra: InfrastructureConstraints,
    *,
    owned: bool,
) -> SelfHostedCost:
    """The monthly bill for enough replicas of `hardware` to carry the peak load."""
    assumptions: list[str] = []
    peak_rps = volume.requests_per_day / SECONDS_PER_DAY * volume.peak_to_average
    replicas = max(1, math.ceil(peak_rps / throughput.requests_per_s)) if peak_rps > 0 else 1
    avg_rps = volume.requests_per_day / SECONDS_PER_DAY
    utilization = min(1.0, avg_rps / (replicas * throughput.requests_per_s))

    purchase = _purchase_price(hardware, infra)
    if owned and purchase is not None:
        per_replica_month = purchase * hardware.count / infra.owned_hardware_amortization_months
        hourly = per_replica_month / HOURS_PER_MONTH
        assumptions.append(
            f"owned {hardware.label} amortized over {infra.owned_hardware_amortization_months} "
            f"months at ${purchase:,.0f} per device (from the spec)"
        )
    else:
        price = hardware.usd_per_hour
        if price is None:
            hourly = 0.0
            assumptions.append(
                f"no hourly price known for {hardware.label}; counted as $0 — set "
                "constraints.infrastructure.gpu_usd_per_hour or hardware_purchase_usd"
            )
        else:
            hourly = price * (1 - infra.reserved_discount)
            kind = "owned hardware at the cloud-equivalent price" if owned else "rented"
            discount = (
                f", {infra.reserved_discount:.0%} reserved discount"
                if infra.reserved_discount
                else ""
            )
            assumptions.append(f"{hardware.label} {kind}: ${price:,.2f}/hour{discount}")
    hardware_month = replicas * hourly * HOURS_PER_MONTH
    ops_month = infra.ops_hours_per_month * infra.ops_usd_per_hour
    assumptions.append(
        f"operations: {infra.ops_hours_per_month:g} engineer hours x "
        f"${infra.ops_usd_per_hour:,.0f}/hour per month (from the spec)"
    )
    assumptions.append(f"replicas run around the clock ({HOURS_PER_MONTH:g} hours/month)")
    return SelfHostedCost(
        usd_per_month=hardware_month + ops_month,
        hardware_usd_per_month=hardware_month,
        operations_usd_per_month=ops_month,
        replicas=replicas,
        hardware=hardware.label,
        usd_per_hour_per_replica=hourly,
        peak_requests_per_s=peak_rps,
        throughput=throughput,
        utilization=utilization,
        owned=owned,
        assumptions=assumptions,
    )


def _purchase_price(hardware: HardwareSpec, infra: InfrastructureConstraints) -> float | None:
    from llmpick.hardware import parse_hardware

    for name, price in infra.hardware_purchase_usd.items():
        try:
            if parse_hardware(name).device.id == hardware.device.id:
                return price
        except ValueError:
            continue
    return None
