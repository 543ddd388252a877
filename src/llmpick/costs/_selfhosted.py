"""Monthly total cost of owning a self-hosted deployment at the spec's volume.

    peak request rate     = requests/day / 86,400 x peak-to-average
    replicas              = ceil(peak request rate / request rate one replica sustains at the SLO)
    hardware per month    = replicas x (cloud $/hour x 730 x (1 - reserved discount)
                                        or purchase price / amortization months, for owned cards)
    operations per month  = engineer hours x loaded hourly rate

The hourly price is the spec's (`gpu_usd_per_hour`), else the device table's sourced on-demand
price (a `cpu:<N>GB` host: the smallest cloud CPU host of that size), else $0 — and then the bill
says so: `hardware_unpriced` is set and the assumption reads "assumed by you: $0".

The request rate one replica sustains is a `Throughput`: an estimate from hardware facts
(`replica_throughput`, labelled so) or a load test at the SLO, through the same type without
changing anything else here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

from llmpick.hardware import HardwareSpec, cpu_host_for, parse_hardware
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
class HardwarePrice:
    """The on-demand price of ONE device (or CPU host) and where it came from: the spec
    ("assumed": a value you set), the device table ("catalog", with source and date), or
    nowhere (`usd_per_hour` None: counted as $0, an assumption the bill flags)."""

    usd_per_hour: float | None
    provenance: Provenance
    source: str
    as_of: str | None = None

    @property
    def unpriced(self) -> bool:
        return self.usd_per_hour is None


def hardware_price(hardware: HardwareSpec, infra: InfrastructureConstraints) -> HardwarePrice:
    """The hourly price of one of `hardware`'s devices: the spec's, else the table's, else none."""
    device = hardware.device
    for name, price in infra.gpu_usd_per_hour.items():
        if parse_hardware(name).device.id == device.id:
            return HardwarePrice(
                price, "assumed", f"constraints.infrastructure.gpu_usd_per_hour[{name!r}] (spec)"
            )
    if device.price_source == "user override" and device.usd_per_hour is not None:
        return HardwarePrice(device.usd_per_hour, "assumed", "given by the caller")
    if device.usd_per_hour is not None:
        return HardwarePrice(
            device.usd_per_hour,
            "catalog",
            device.price_source or "device table",
            device.as_of.isoformat(),
        )
    if device.kind == "cpu":
        host = cpu_host_for(device.memory_gb)
        if host is not None:
            return HardwarePrice(
                host.usd_per_hour,
                "catalog",
                f"{host.instance} ({host.vcpus} vCPU, {host.memory_gib:g} GiB), the smallest "
                f"cloud CPU host holding {device.memory_gb:g} GB: {host.source}",
                host.as_of.isoformat(),
            )
    return HardwarePrice(None, "assumed", "no price in the spec or the device table")


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
    price: HardwarePrice | None = None
    """The hourly price used (None when owned hardware is amortized from its purchase price)."""

    @property
    def hardware_unpriced(self) -> bool:
        """Hardware counted as $0 because nothing gave its price."""
        return self.price is not None and self.price.unpriced


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
    price: HardwarePrice | None = None
    if owned and purchase is not None:
        per_replica_month = purchase * hardware.count / infra.owned_hardware_amortization_months
        hourly = per_replica_month / HOURS_PER_MONTH
        assumptions.append(
            f"owned {hardware.label} amortized over {infra.owned_hardware_amortization_months} "
            f"months at ${purchase:,.0f} per device (from the spec)"
        )
    else:
        price = hardware_price(hardware, infra)
        if price.usd_per_hour is None:
            hourly = 0.0
            assumptions.append(
                f"no hourly price known for {hardware.label}: assumed by you: $0 — set "
                "constraints.infrastructure.gpu_usd_per_hour or hardware_purchase_usd"
            )
        else:
            hourly = price.usd_per_hour * hardware.count * (1 - infra.reserved_discount)
            kind = "owned hardware at the cloud-equivalent price" if owned else "rented"
            discount = (
                f", {infra.reserved_discount:.0%} reserved discount"
                if infra.reserved_discount
                else ""
            )
            each = f" per device x {hardware.count}" if hardware.count > 1 else ""
            origin = "from the spec" if price.provenance == "assumed" else price.source
            assumptions.append(
                f"{hardware.label} {kind}: ${price.usd_per_hour:,.4g}/hour{each}{discount} "
                f"({price.provenance}: {origin})"
            )
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
        price=price,
    )


def _purchase_price(hardware: HardwareSpec, infra: InfrastructureConstraints) -> float | None:
    for name, price in infra.hardware_purchase_usd.items():
        try:
            if parse_hardware(name).device.id == hardware.device.id:
                return price
        except ValueError:
            continue
    return None
