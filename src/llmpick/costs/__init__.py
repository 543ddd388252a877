"""What each candidate costs per month at the spec's volume: API bills, self-hosting, break-even,
and the one-off cost of tuning a model."""

from __future__ import annotations

from llmpick.costs._api import DAYS_PER_MONTH, ApiCost, api_monthly_cost
from llmpick.costs._breakeven import (
    PROVENANCE_ORDER,
    BreakEven,
    break_even_between,
    break_even_volume,
    log_grid,
    weakest_provenance,
)
from llmpick.costs._candidate import (
    ESTIMATE_TOLERANCE,
    CandidateCost,
    CapacityEvidence,
    CostedCandidate,
    PlacedCandidate,
    cost_candidate,
    priced_hardware,
    replica_throughput,
    serving_shape,
)
from llmpick.costs._selfhosted import (
    HOURS_PER_MONTH,
    HardwarePrice,
    SelfHostedCost,
    Throughput,
    hardware_price,
    self_hosted_monthly_cost,
)
from llmpick.costs._tuning import TrainingCost, training_cost, with_training

__all__ = [
    "DAYS_PER_MONTH",
    "ESTIMATE_TOLERANCE",
    "HOURS_PER_MONTH",
    "PROVENANCE_ORDER",
    "ApiCost",
    "BreakEven",
    "CandidateCost",
    "CapacityEvidence",
    "CostedCandidate",
    "HardwarePrice",
    "PlacedCandidate",
    "SelfHostedCost",
    "Throughput",
    "TrainingCost",
    "api_monthly_cost",
    "break_even_between",
    "break_even_volume",
    "cost_candidate",
    "hardware_price",
    "log_grid",
    "priced_hardware",
    "replica_throughput",
    "self_hosted_monthly_cost",
    "serving_shape",
    "training_cost",
    "weakest_provenance",
    "with_training",
]
