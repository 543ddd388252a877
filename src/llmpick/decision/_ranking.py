"""What ranks a measured candidate: its inputs to the criteria, the needs it meets or misses,
its weighted score, and the order (fewest needs missed first, then by score)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from llmpick.constraints import CandidateVerdict
from llmpick.costs import CandidateCost
from llmpick.decision._evidence import Evidence, SafetyEvidence, percentile
from llmpick.decision._model import NeedCheck
from llmpick.decision._scoring import Inputs, criteria, weighted_score
from llmpick.spec import Spec


@dataclass
class Contender:
    verdict: CandidateVerdict
    evidence: Evidence | None
    cost: CandidateCost | None
    inputs: Inputs
    under_queue: bool = False
    safety: SafetyEvidence | None = None

    @property
    def key(self) -> str:
        return self.verdict.candidate.label

    def with_inputs(self, **changes: object) -> Contender:
        """The same candidate with some inputs changed (a resampled quality, another cost)."""
        return replace(self, inputs=replace(self.inputs, **changes))  # type: ignore[arg-type]


def inputs_of(
    verdict: CandidateVerdict,
    ev: Evidence | None,
    cost: CandidateCost | None,
    safety: SafetyEvidence | None = None,
) -> Inputs:
    entry = verdict.candidate.entry
    quality = ev.quality.mean if ev and ev.quality else None
    lat = ev.latency if ev else None
    # Latency measured while requests queued at the server describes the queue, not the model.
    if lat is not None and lat.under_queue:
        lat = None
    openness = entry.openness if entry else None
    flags = (
        [
            openness.weights,
            openness.inference_code,
            openness.training_code,
            openness.training_data,
            openness.paper,
            openness.model_card,
        ]
        if openness
        else []
    )
    return Inputs(
        quality=quality,
        ttft_p95_ms=percentile(lat.ttft_ms, 95) if lat else None,
        e2e_p95_ms=percentile(lat.e2e_ms, 95) if lat else None,
        usd_per_month=cost.usd_per_month if cost else None,
        self_hosted=verdict.candidate.deployment == "self-hosted",
        open_weights=verdict.candidate.open_weights,
        openness_share=sum(flags) / len(flags) if flags else 0.0,
        openai_compatible=bool(entry and entry.api_protocol == "openai"),
        safety=safety.overall if safety else None,
    )


def needs_of(cand: Contender, spec: Spec, usd: float | None = None) -> list[NeedCheck]:
    """Each hard need the spec sets, against this candidate's figure (None: unknown)."""
    inputs = cand.inputs
    out: list[NeedCheck] = []
    floor = spec.needs.quality.min_value
    if floor is not None:
        q = inputs.quality
        out.append(
            NeedCheck(
                need="quality",
                met=None if q is None else q >= floor,
                observed=q,
                target=floor,
                unit=spec.needs.quality.metric,
                gap=None
                if q is None or q >= floor
                else f"{spec.needs.quality.metric} {q:.2f} against {floor:.2f} needed "
                f"({floor - q:.2f} short)",
                provenance="measured" if q is not None else "none",
            )
        )
    slo = spec.needs.latency
    for name, observed, target in (
        ("p95 TTFT", inputs.ttft_p95_ms, slo.ttft_p95_ms),
        ("p95 end-to-end", inputs.e2e_p95_ms, slo.e2e_p95_ms),
    ):
        if target is None:
            continue
        met = None if observed is None else observed <= target
        out.append(
            NeedCheck(
                need="latency",
                met=met,
                observed=observed,
                target=target,
                unit=f"{name} ms",
                gap=f"{name} {observed:,.0f} ms against {target:,.0f} ms "
                f"({observed - target:,.0f} ms over)"
                if met is False and observed is not None
                else "latency measured under a queue: not comparable with the SLO"
                if cand.under_queue
                else None,
                provenance="measured" if observed is not None else "none",
            )
        )
    cap = spec.needs.budget.usd_per_month
    if cap is not None:
        cost = usd if usd is not None else inputs.usd_per_month
        met = None if cost is None else cost <= cap
        provenance = cand.cost.provenance if cand.cost else "none"
        out.append(
            NeedCheck(
                need="budget",
                met=met,
                observed=cost,
                target=cap,
                unit="USD/month",
                gap=f"${cost:,.0f}/month against the ${cap:,.0f} budget "
                f"(${cost - cap:,.0f} over; {provenance})"
                if met is False and cost is not None
                else None,
                provenance=provenance,
            )
        )
    out += _safety_needs(cand, spec)
    return out


def _safety_needs(cand: Contender, spec: Spec) -> list[NeedCheck]:
    """One check per category with a minimum pass rate in the spec's safety section."""
    section = spec.safety
    if section is None:
        return []
    out = []
    for category, floor in section.min_pass_rate.items():
        rate = cand.safety.categories.get(category) if cand.safety else None
        observed = rate.rate if rate else None
        met = None if observed is None else observed >= floor
        out.append(
            NeedCheck(
                need="safety",
                met=met,
                observed=observed,
                target=floor,
                unit=f"{category} pass rate",
                gap=f"{category.replace('_', ' ')}: {observed:.2f} of probes passed against "
                f"{floor:.2f} needed ({rate.passed}/{rate.n})"
                if met is False and observed is not None and rate is not None
                else None,
                provenance="measured" if observed is not None else "none",
            )
        )
    return out


def misses_of(cand: Contender, spec: Spec, usd: float | None = None) -> int:
    """How many distinct needs (quality, latency, budget, safety) a candidate misses."""
    return len({n.need for n in needs_of(cand, spec, usd) if n.met is False})


# --------------------------------------------------------------------------------- ranking


def score_all(
    pool: Sequence[Contender],
    weights: Mapping[str, float],
    slo: Mapping[str, float | None],
    *,
    quality: Mapping[str, float] | None = None,
    costs: Mapping[str, float | None] | None = None,
) -> dict[str, tuple[dict[str, float | None], float]]:
    def cost_of(c: Contender) -> float | None:
        return costs[c.key] if costs is not None else c.inputs.usd_per_month

    known = [v for c in pool if (v := cost_of(c)) is not None]
    cheapest = min(known) if known else None
    out = {}
    for c in pool:
        inputs = c.inputs
        if quality is not None or costs is not None:
            inputs = replace(
                inputs,
                quality=quality[c.key] if quality is not None else inputs.quality,
                usd_per_month=cost_of(c),
            )
        values = criteria(inputs, cheapest, slo)
        out[c.key] = (values, weighted_score(values, weights))
    return out


def rank_of(
    pool: Sequence[Contender],
    scores: Mapping[str, tuple[dict[str, float | None], float]],
    spec: Spec,
    costs: Mapping[str, float | None] | None = None,
    quality: Mapping[str, float] | None = None,
) -> list[str]:
    """Candidates meeting every need first (fewest needs missed), then by weighted score."""

    def key(c: Contender) -> tuple[int, float]:
        usd = costs[c.key] if costs is not None else None
        if quality is not None:
            c = c.with_inputs(quality=quality[c.key])
        return (-misses_of(c, spec, usd), scores[c.key][1])

    return [c.key for c in sorted(pool, key=key, reverse=True)]


def winner_of(
    pool: Sequence[Contender],
    spec: Spec,
    weights: Mapping[str, float],
    slo: Mapping[str, float | None],
    *,
    quality: Mapping[str, float] | None = None,
    costs: Mapping[str, float | None] | None = None,
) -> str | None:
    scores = score_all(pool, weights, slo, quality=quality, costs=costs)
    ranking = rank_of(pool, scores, spec, costs, quality)
    return ranking[0] if ranking else None
