"""What tuning a model costs: a one-off, spread over the decision's horizon.

    one-off      = measured training wall time (h) x the training hardware's $/hour
    per month    = one-off x tunings in the horizon / horizon months
    tunings      = 1, or ceil(horizon days / retune_every_days) when the model is re-tuned

The hourly price is the device table's (a CPU machine: the smallest cloud CPU host with at
least the cores training used; a GPU: the spec's `gpu_usd_per_hour`, else the table's), so the
one-off figure is measured time x a catalog price, and says both.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from llmpick.costs._api import DAYS_PER_MONTH
from llmpick.costs._candidate import CandidateCost
from llmpick.costs._selfhosted import hardware_price
from llmpick.hardware import HardwareParseError, cpu_hosts, parse_hardware
from llmpick.spec._models import InfrastructureConstraints

__all__ = ["TrainingCost", "training_cost", "with_training"]


@dataclass(frozen=True)
class TrainingCost:
    """A tuning run's cost with where each figure came from."""

    usd: float | None
    wall_time_s: float
    usd_per_hour: float | None
    hardware: str
    price_provenance: str
    price_source: str
    as_of: str | None
    tunings: int
    horizon_months: float
    retune_every_days: float | None

    @property
    def usd_per_month(self) -> float | None:
        """The one-off spread over the horizon, re-tunings included."""
        if self.usd is None:
            return None
        return self.usd * self.tunings / self.horizon_months


def training_cost(
    wall_time_s: float,
    hardware: Mapping[str, Any],
    infra: InfrastructureConstraints,
    *,
    horizon_months: float,
    retune_every_days: float | None = None,
) -> TrainingCost:
    """The cost of a run that took `wall_time_s` on `hardware` (a tuning manifest's record:
    `device`, and `torch_threads` / `cpu_count` on a CPU or `gpu` on a GPU)."""
    usd_per_hour, provenance, source, as_of, name = _price(hardware, infra)
    horizon_days = horizon_months * DAYS_PER_MONTH
    tunings = 1 if not retune_every_days else max(1, math.ceil(horizon_days / retune_every_days))
    return TrainingCost(
        usd=None if usd_per_hour is None else wall_time_s / 3600 * usd_per_hour,
        wall_time_s=wall_time_s,
        usd_per_hour=usd_per_hour,
        hardware=name,
        price_provenance=provenance,
        price_source=source,
        as_of=as_of,
        tunings=tunings,
        horizon_months=horizon_months,
        retune_every_days=retune_every_days,
    )


def _price(
    hardware: Mapping[str, Any], infra: InfrastructureConstraints
) -> tuple[float | None, str, str, str | None, str]:
    """(usd per hour, provenance, source, as of, what was priced)."""
    if hardware.get("device") != "cpu" and hardware.get("gpu"):
        try:
            spec = parse_hardware(str(hardware["gpu"]))
        except HardwareParseError:
            return None, "none", f"{hardware['gpu']} is not in the device table", None, "GPU"
        price = hardware_price(spec, infra)
        return price.usd_per_hour, price.provenance, price.source, price.as_of, spec.label
    cores = int(hardware.get("torch_threads") or hardware.get("cpu_count") or 1)
    host = next((h for h in cpu_hosts() if h.vcpus >= cores), None)
    if host is None:
        return None, "none", f"no cloud CPU host in the table has {cores} cores", None, "CPU"
    return (
        host.usd_per_hour,
        "catalog",
        f"{host.instance} ({host.vcpus} vCPU), the smallest cloud CPU host with the {cores} "
        f"core(s) training used: {host.source}",
        host.as_of.isoformat(),
        f"{host.instance} ({host.vcpus} vCPU)",
    )


def with_training(cost: CandidateCost, training: TrainingCost) -> CandidateCost:
    """A tuned candidate's monthly cost with its tuning spread over the horizon added (and
    said, in the breakdown and the assumptions); unchanged when the tuning is unpriced."""
    monthly = training.usd_per_month
    if monthly is None or cost.usd_per_month is None:
        return cost
    at_volume = cost.at_volume

    def plus_tuning(requests_per_day: float) -> float:
        assert at_volume is not None
        return at_volume(requests_per_day) + monthly

    cadence = (
        f"re-tuned every {training.retune_every_days:g} days ({training.tunings} tunings)"
        if training.retune_every_days
        else "tuned once"
    )
    return replace(
        cost,
        usd_per_month=cost.usd_per_month + monthly,
        breakdown={**cost.breakdown, "tuning": monthly},
        figure_provenance={**cost.figure_provenance, "tuning": training.price_provenance},
        assumptions=[
            *cost.assumptions,
            f"tuning: {training.wall_time_s:,.0f} s measured x ${training.usd_per_hour:g}/hour "
            f"({training.hardware}), {cadence}, spread over {training.horizon_months:g} months",
        ],
        at_volume=plus_tuning if at_volume is not None else None,
    )
