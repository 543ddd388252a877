"""The decision on controlled evidence: costs follow volume, and the choice follows break-even."""

from __future__ import annotations

import random

import pytest

from llmpick.constraints import check_spec
from llmpick.decision import (
    CandidateRow,
    DatasetItem,
    Decision,
    Evidence,
    LatencyEvidence,
    QualityEvidence,
    decide_from_evidence,
    pareto_front,
)
from llmpick.spec import Spec

OPEN = "meta/llama-3.1-8b-instruct"
CLOSED = "openai/gpt-4o-mini"


def _spec(requests_per_day: float) -> Spec:
    return Spec.model_validate(
        {
            "needs": {
                "quality": {"min_value": 0.5},
                "latency": {"ttft_p95_ms": 2000, "e2e_p95_ms": 10000},
                "volume": {
                    "requests_per_day": requests_per_day,
                    "mean_input_tokens": 3000,
                    "mean_output_tokens": 100,
                    "peak_to_average": 1.5,
                },
            },
            "constraints": {
                "infrastructure": {
                    "hardware": ["1xL4"],
                    "ops_hours_per_month": 0,
                    "gpu_usd_per_hour": {"L4": 0.8},
                },
            },
            "candidates": [{"model": OPEN, "quantization": "awq"}, CLOSED],
            "weights": {
                "quality": 0.1,
                "latency": 0.0,
                "cost": 0.9,
                "control": 0.0,
                "lock_in": 0.0,
            },
        }
    )


def _evidence(seed: int = 3) -> tuple[dict[str, Evidence], list[DatasetItem]]:
    rng = random.Random(seed)
    items = [DatasetItem(f"i{n}", f"question {n}", "a", "x" if n % 2 else "y") for n in range(40)]
    evidence = {}
    for label in (OPEN, CLOSED):
        scores = {i.item_id: float(rng.random() < 0.8) for i in items}
        evidence[label] = Evidence(
            label,
            True,
            quality=QualityEvidence("accuracy", scores, 0.6, 0.9),
            latency=LatencyEvidence([300.0] * 40, [1500.0] * 40),
        )
    return evidence, items


def _decide(requests_per_day: float) -> Decision:
    spec = _spec(requests_per_day)
    evidence, items = _evidence()
    return decide_from_evidence(spec, check_spec(spec), evidence, items, draws=100)


def _row(decision: Decision, label: str) -> CandidateRow:
    row = decision.candidate(label)
    assert row is not None
    return row


def test_volume_changes_costs_and_the_choice_at_break_even() -> None:
    base = _decide(10_000)
    be = base.break_even
    assert be.open_id == OPEN and be.closed_id == CLOSED
    volume = be.requests_per_day
    assert volume is not None

    low, high = _decide(volume / 10), _decide(volume * 10)
    low_closed, high_closed = _row(low, CLOSED).cost, _row(high, CLOSED).cost
    assert low_closed.usd_per_month is not None and high_closed.usd_per_month is not None
    # The API bill is linear in volume: 100x the volume is 100x the cost.
    assert high_closed.usd_per_month == pytest.approx(100 * low_closed.usd_per_month)
    # Self-hosting is a staircase: more replicas, never a proportional bill.
    high_open, low_open = _row(high, OPEN).cost, _row(low, OPEN).cost
    assert high_open.breakdown["replicas"] >= low_open.breakdown["replicas"]
    assert (low_open.usd_per_month or 0) > low_closed.usd_per_month
    assert (high_open.usd_per_month or 0) < high_closed.usd_per_month
    assert low.recommendation.id == CLOSED
    assert high.recommendation.id == OPEN
    assert be.provenance and "cost of" in be.provenance


def test_decision_names_a_recommendation_with_provenance() -> None:
    decision = _decide(10_000)
    rec = decision.recommendation
    assert rec.status == "chosen"
    assert rec.id in {OPEN, CLOSED}
    assert rec.confidence is not None and 0 <= rec.confidence <= 1
    assert "among the 2 measured candidates" in (rec.confidence_note or "")
    for row in decision.candidates:
        q = row.quality
        assert q.provenance == "measured"
        assert q.ci_low is not None and q.ci_high is not None and q.mean is not None
        assert q.ci_low <= q.mean <= q.ci_high
        assert row.latency.provenance == "measured"
        assert row.cost.provenance in {"catalog", "estimate"}
        assert row.cost.source
    closed = _row(decision, CLOSED)
    assert closed.cost.as_of and (closed.cost.source or "").startswith("http")
    assert set(_row(decision, OPEN).per_category) == {"x", "y"}


def test_unmeasured_candidates_are_shown_not_invented() -> None:
    spec = _spec(10_000)
    evidence, items = _evidence()
    evidence[CLOSED] = Evidence(CLOSED, False, "not measured (set OPENAI_API_KEY)")
    decision = decide_from_evidence(spec, check_spec(spec), evidence, items, draws=50)
    closed = _row(decision, CLOSED)
    assert closed.measured is False
    assert closed.quality.mean is None and closed.score is None
    assert closed.not_measured_reason == "not measured (set OPENAI_API_KEY)"
    assert closed.cost.usd_per_month is not None  # still costed from the catalog
    rec = decision.recommendation
    assert rec.id == OPEN
    assert rec.unmeasured_eligible == 1
    (step,) = rec.next_measurements
    assert step.candidate == CLOSED and "OPENAI_API_KEY" in step.step
    assert "llmpick eval" in step.step
    # One measured candidate: no comparison, so no confidence figure.
    assert rec.confidence is None and "only one candidate" in (rec.confidence_note or "")


def test_sensitivity_finds_the_weight_that_flips_the_choice() -> None:
    decision = _decide(10_000)
    changes = decision.sensitivity.weight_changes
    assert changes, decision.sensitivity
    assert all(c.new_winner != decision.recommendation.id for c in changes)
    assert "measured quality" in decision.sensitivity.provenance


def test_pareto_front() -> None:
    points = {"a": (0.9, 100.0, 1.0), "b": (0.8, 50.0, 1.0), "c": (0.7, 60.0, 2.0)}
    assert pareto_front(points) == {"a", "b"}


def test_decision_round_trips_through_its_json() -> None:
    decision = _decide(10_000)
    again = Decision.model_validate_json(decision.model_dump_json())
    assert again == decision
