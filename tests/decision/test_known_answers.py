"""Decision logic on cases whose answer is computed by hand.

Three closed API candidates keep the costs exact (catalog list prices x tokens); the evidence is
built item by item so every mean, every paired disagreement and every winner is known.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from llmpick.constraints import check_spec
from llmpick.decision import (
    DatasetItem,
    Decision,
    Evidence,
    LatencyEvidence,
    QualityEvidence,
    decide_from_evidence,
)
from llmpick.evaluation import paired_sample_size
from llmpick.spec import Spec

CHEAP, MID, DEAR = "openai/gpt-5-nano", "openai/gpt-5-mini", "openai/gpt-5"
N = 100
ITEMS = [DatasetItem(f"i{n}", f"q{n}", "a", None) for n in range(N)]


def _spec(
    *,
    floor: float | None = None,
    budget: float | None = None,
    weights: dict[str, float] | None = None,
    candidates: list[Any] | None = None,
) -> Spec:
    return Spec.model_validate(
        {
            "needs": {
                "quality": {"min_value": floor},
                "latency": {"ttft_p95_ms": 2000, "e2e_p95_ms": 10_000},
                "budget": {"usd_per_month": budget},
                "volume": {
                    "requests_per_day": 10_000,
                    "mean_input_tokens": 500,
                    "mean_output_tokens": 50,
                },
            },
            "candidates": candidates or [CHEAP, MID, DEAR],
            "weights": weights
            or {"quality": 0.5, "latency": 0.0, "cost": 0.5, "control": 0.0, "lock_in": 0.0},
        }
    )


def _scores(right: int, *, offset: int = 0) -> dict[str, float]:
    """`right` of the N items correct, starting at item `offset` (wrapping)."""
    hits = {(offset + k) % N for k in range(right)}
    return {f"i{n}": float(n in hits) for n in range(N)}


def _evidence(label: str, scores: dict[str, float], ttft_ms: float = 300.0) -> Evidence:
    return Evidence(
        label,
        True,
        quality=QualityEvidence("accuracy", scores),
        latency=LatencyEvidence([ttft_ms] * N, [ttft_ms + 500] * N),
    )


def _decide(spec: Spec, evidence: dict[str, Evidence], draws: int = 200) -> Decision:
    return decide_from_evidence(spec, check_spec(spec), evidence, ITEMS, draws=draws)


def test_a_dominated_candidate_never_wins_whatever_the_weights() -> None:
    # DEAR is more expensive than CHEAP and, here, also worse and slower: dominated.
    evidence = {
        CHEAP: _evidence(CHEAP, _scores(80), ttft_ms=200),
        DEAR: _evidence(DEAR, _scores(60), ttft_ms=400),
    }
    rng = random.Random(7)
    for _ in range(25):
        raw = {k: rng.random() for k in ("quality", "latency", "cost", "control", "lock_in")}
        spec = _spec(weights=raw, candidates=[CHEAP, DEAR])
        decision = _decide(spec, evidence, draws=20)
        assert decision.recommendation.id == CHEAP, raw
        assert not decision.candidate(DEAR).pareto  # type: ignore[union-attr]


def test_meeting_every_need_beats_a_higher_score_that_misses_one() -> None:
    # MID clears the 0.7 floor; CHEAP scores higher on the weighted score (it is far cheaper
    # and cost weighs 0.9) but misses the floor.
    spec = _spec(
        floor=0.7,
        weights={"quality": 0.1, "latency": 0.0, "cost": 0.9, "control": 0.0, "lock_in": 0.0},
        candidates=[CHEAP, MID],
    )
    decision = _decide(
        spec, {CHEAP: _evidence(CHEAP, _scores(68)), MID: _evidence(MID, _scores(72))}
    )
    cheap, mid = decision.candidate(CHEAP), decision.candidate(MID)
    assert cheap is not None and mid is not None
    assert (cheap.score or 0) > (mid.score or 0)
    assert cheap.meets_needs["quality"] is False and mid.meets_every_need
    rec = decision.recommendation
    assert rec.status == "chosen" and rec.id == MID
    assert rec.headline.startswith("Choose GPT-5 mini (openai/gpt-5-mini)")


def test_no_measured_candidate_meeting_the_needs_is_said_and_the_next_step_named() -> None:
    spec = _spec(floor=0.8, budget=1500)
    evidence = {
        CHEAP: _evidence(CHEAP, _scores(36)),
        MID: _evidence(MID, _scores(7)),
        DEAR: Evidence(DEAR, False, "not measured (set OPENAI_API_KEY)"),
    }
    decision = _decide(spec, evidence)
    rec = decision.recommendation
    assert rec.status == "no_candidate_meets_needs"
    assert rec.headline.startswith("No candidate meets every need yet")
    assert "Choose" not in rec.headline
    assert rec.id == CHEAP  # the best measured, shown with what it misses
    (miss,) = rec.misses
    assert miss.need == "quality" and miss.observed == pytest.approx(0.36)
    assert miss.gap == "accuracy 0.36 against 0.80 needed (0.44 short)"
    (step,) = rec.next_measurements
    assert step.candidate == DEAR
    assert "set OPENAI_API_KEY" in step.step and f"-c {DEAR}" in step.step
    # Tell 0.80 (the need) from 0.36 (the best measured), errors independent:
    # only-best = 0.36 x 0.20, only-new = 0.80 x 0.64.
    assert step.items_needed == paired_sample_size(0.36 * 0.2, 0.8 * 0.64)
    assert rec.unmeasured_eligible == 1 and rec.measured_candidates == 2
    assert "2 measured candidates" in (rec.confidence_note or "")
    assert "1 eligible candidate was not measured" in (rec.confidence_note or "")


def test_what_to_measure_next_puts_the_candidates_within_budget_first() -> None:
    spec = _spec(floor=0.9, budget=5.0)
    evidence = {
        CHEAP: _evidence(CHEAP, _scores(50)),
        MID: Evidence(MID, False, "not measured (set OPENAI_API_KEY)"),
        DEAR: Evidence(DEAR, False, "not measured (set OPENAI_API_KEY)"),
    }
    decision = _decide(spec, evidence)
    steps = decision.recommendation.next_measurements
    costs = {s.candidate: s.usd_per_month for s in steps}
    assert all(v is not None for v in costs.values())
    within = [s.within_budget for s in steps]
    assert within == sorted(within, key=lambda w: w is False)  # within budget first


def test_the_power_calculation_matches_connors_worked_example() -> None:
    # Connor (1987), Biometrics 43:207-211, p. 209: p10 = 0.05, p01 = 0.45, alpha 0.05
    # (two-sided), power 0.8 -> 23 pairs.
    assert paired_sample_size(0.05, 0.45) == 23
    # A discordant share of 0.45 with an odds ratio of 2 (p10 0.15, p01 0.30) -> 155 pairs.
    assert paired_sample_size(0.15, 0.30) == 155
    # Proving a 2-point drop takes ~800-3,000 pairs as disagreement grows from 5% to 15%.
    assert 800 <= paired_sample_size(0.035, 0.015) <= 1000  # type: ignore[operator]
    assert 2800 <= paired_sample_size(0.085, 0.065) <= 3000  # type: ignore[operator]
    assert paired_sample_size(0.1, 0.1) is None  # no difference to detect


def test_confidence_is_near_one_for_separated_and_near_half_for_identical() -> None:
    quality_only = {"quality": 1.0, "latency": 0.0, "cost": 0.0, "control": 0.0, "lock_in": 0.0}
    spec = _spec(weights=quality_only, candidates=[CHEAP, MID])
    separated = _decide(
        spec, {CHEAP: _evidence(CHEAP, _scores(90)), MID: _evidence(MID, _scores(30))}, 400
    )
    assert separated.recommendation.confidence == pytest.approx(1.0, abs=0.01)

    twins = [{"model": MID, "name": "a"}, {"model": MID, "name": "b"}]
    spec = _spec(weights=quality_only, candidates=twins)
    same = _scores(60)
    identical = _decide(spec, {"a": _evidence("a", same), "b": _evidence("b", same)}, 400)
    p = {c.id: c.p_best for c in identical.candidates}
    assert p["a"] == pytest.approx(0.5, abs=0.01) and p["b"] == pytest.approx(0.5, abs=0.01)


def test_the_reported_weight_change_flips_the_winner_and_a_smaller_one_does_not() -> None:
    weights = {"quality": 0.6, "latency": 0.0, "cost": 0.4, "control": 0.0, "lock_in": 0.0}
    evidence = {CHEAP: _evidence(CHEAP, _scores(70)), DEAR: _evidence(DEAR, _scores(85))}
    base = _decide(_spec(weights=weights, candidates=[CHEAP, DEAR]), evidence, 20)
    winner = base.recommendation.id
    change = base.sensitivity.weight_changes[0]
    assert change.new_winner != winner

    def winner_with(delta: float) -> str | None:
        changed = dict(weights)
        changed[change.weight] = max(0.0, changed[change.weight] + delta)
        spec = _spec(weights=changed, candidates=[CHEAP, DEAR])
        return _decide(spec, evidence, 20).recommendation.id

    assert winner_with(change.delta) == change.new_winner
    smaller = change.delta - 0.01 if change.delta > 0 else change.delta + 0.01
    assert winner_with(smaller) == winner


def test_two_quantizations_of_one_model_keep_their_own_rows() -> None:
    spec = Spec.model_validate(
        {
            "constraints": {"infrastructure": {"hardware": ["1xL4"]}},
            "candidates": [
                {"model": "meta/llama-3.1-8b-instruct", "quantization": "bf16", "name": "8b-bf16"},
                {"model": "meta/llama-3.1-8b-instruct", "quantization": "awq", "name": "8b-awq"},
            ],
        }
    )
    evidence = {
        "8b-bf16": _evidence("8b-bf16", _scores(90)),
        "8b-awq": _evidence("8b-awq", _scores(50)),
    }
    decision = _decide(spec, evidence, 20)
    means = {c.id: c.quality.mean for c in decision.candidates}
    assert means == {"8b-bf16": pytest.approx(0.9), "8b-awq": pytest.approx(0.5)}
    assert {c.model_id for c in decision.candidates} == {"meta/llama-3.1-8b-instruct"}
