"""Tuning's one-off cost: measured training time x the catalog's hourly price, over the horizon."""

from __future__ import annotations

import pytest

from llmpick.costs import CandidateCost, training_cost, with_training
from llmpick.hardware import cpu_hosts
from llmpick.spec._models import InfrastructureConstraints


def test_tuning_cost_is_measured_time_times_the_catalog_price() -> None:
    infra = InfrastructureConstraints()
    host = next(h for h in cpu_hosts() if h.vcpus >= 2)
    once = training_cost(1800, {"device": "cpu", "torch_threads": 2}, infra, horizon_months=12)
    assert once.usd == pytest.approx(0.5 * host.usd_per_hour)
    assert once.price_provenance == "catalog" and host.instance in once.price_source
    assert once.as_of == host.as_of.isoformat()
    assert once.tunings == 1 and once.usd_per_month == pytest.approx(once.usd / 12)
    quarterly = training_cost(
        1800, {"device": "cpu", "torch_threads": 2}, infra, horizon_months=12, retune_every_days=90
    )
    assert quarterly.tunings == 5  # days 0, 90, 180, 270, 360 of 365
    serving = CandidateCost(100.0, "estimate", "hardware facts", None, at_volume=lambda rpd: 100.0)
    tuned = with_training(serving, quarterly)
    assert tuned.usd_per_month == pytest.approx(100 + quarterly.usd_per_month)
    assert tuned.breakdown["tuning"] == quarterly.usd_per_month
    assert tuned.figure_provenance["tuning"] == "catalog"
    assert tuned.at_volume is not None and tuned.at_volume(5.0) == tuned.usd_per_month
