"""From checked candidates and measured evidence to a recommendation a team can defend.

Only candidates that passed every hard constraint and whose quality was measured on the team's
own data can be recommended; the others are still shown, with costs from catalog facts and the
reason they were not measured. Among the measured, those meeting every hard need (quality floor,
latency SLOs, budget) rank first, then by the weighted score.

The headline never overclaims:
- `chosen` only when a measured candidate meets every hard need;
- `no_candidate_meets_needs` otherwise: the best measured option is shown with the needs it
  misses and by how much, and what to measure next is the main advice;
- `nothing_measured` when no eligible candidate has measured quality.

Confidence is the share of resampled draws (items bootstrapped, costs varied within their
uncertainty) in which a candidate ranks first *among the measured candidates*; the decision says
how many eligible candidates were not measured, so the figure is never read as more than that.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping, Sequence

from llmpick import __version__
from llmpick._redact import redact_url
from llmpick.constraints import CheckReport
from llmpick.costs import CapacityEvidence, cost_candidate, with_training
from llmpick.decision._evidence import DatasetItem, Evidence, SafetyEvidence, percentile
from llmpick.decision._headline import recommend
from llmpick.decision._model import (
    CandidateRow,
    CategoryScore,
    CostFigure,
    Decision,
    ItemAnswer,
    ItemRow,
    LatencyFigure,
    LoadTestLevel,
    LoadTestSummary,
    NeedCheck,
    PublishedScore,
    QualityFigure,
    RuleNote,
    SafetyFailure,
    SafetyFigure,
    SafetyRate,
    Serving,
    VariantResult,
)
from llmpick.decision._ranking import Contender, inputs_of, needs_of, rank_of, score_all
from llmpick.decision._robustness import break_even_of, confidence_of, sensitivity_of
from llmpick.decision._scoring import pareto_front
from llmpick.decision._tuning import TuningEvidence, training_costs, tuning_section
from llmpick.decision._variants import best_variants
from llmpick.spec import Spec

__all__ = ["PROVENANCE_LEGEND", "decide_from_evidence"]

PROVENANCE_LEGEND = {
    "measured": "measured by llmpick: on your dataset, or by a load test of your endpoint",
    "catalog": "read from the bundled catalog; each figure names its source and date",
    "estimate": "computed by llmpick from catalog facts (e.g. memory bandwidth); not measured",
    "assumed": "a value you set in the spec, or a default llmpick states as assumed",
    "published": "a benchmark score a vendor or leaderboard published: not on your data, "
    "never used as quality",
}


def decide_from_evidence(
    spec: Spec,
    check: CheckReport,
    evidence: Mapping[str, Evidence],
    items: Sequence[DatasetItem] = (),
    *,
    spec_text: str = "",
    spec_path: str | None = None,
    run_id: str | None = None,
    seed: int = 0,
    draws: int = 400,
    capacity: Mapping[str, CapacityEvidence] | None = None,
    notes: Sequence[str] = (),
    safety: Mapping[str, SafetyEvidence] | None = None,
    tuning: TuningEvidence | None = None,
) -> Decision:
    """The whole decision from evidence already gathered. `evidence` and `capacity` (load-tested
    capacities; self-hosted costs use them over the estimate) are keyed by candidate label.
    With `tuning`, a tuned candidate's monthly cost carries its training spread over the
    horizon, and `Decision.tuning` shows that one-off cost, the gain over the base and the
    held-out items.

    This is the pure step: `llmpick.decide()` gathers the evidence (evaluation run, load tests)
    from a spec and a store and then calls it."""
    capacity = capacity or {}
    safety = safety or {}
    slo = {"ttft": spec.needs.latency.ttft_p95_ms, "e2e": spec.needs.latency.e2e_p95_ms}
    weights = spec.weights.model_dump()
    evidence, variants = best_variants(
        evidence, [v.candidate.label for v in check.verdicts], [p.name for p in spec.prompts]
    )
    training = training_costs(spec, tuning) if tuning is not None else {}
    everyone: list[Contender] = []
    for verdict in check.verdicts:
        label = verdict.candidate.label
        ev = evidence.get(label)
        cost = cost_candidate(verdict, spec, capacity.get(label)) if verdict.eligible else None
        if cost is not None and label in training:
            cost = with_training(cost, training[label])
        under_queue = bool(ev and ev.latency and ev.latency.under_queue)
        probes = safety.get(label)
        inputs = inputs_of(verdict, ev, cost, probes)
        everyone.append(Contender(verdict, ev, cost, inputs, under_queue, probes))
    pool = [c for c in everyone if c.verdict.eligible and c.inputs.quality is not None]

    base_scores = score_all(pool, weights, slo)
    ranking = rank_of(pool, base_scores, spec)
    front = pareto_front(
        {
            c.key: (c.inputs.quality or 0.0, c.inputs.usd_per_month or 0.0, c.inputs.e2e_p95_ms)
            for c in pool
            if c.inputs.usd_per_month is not None and c.inputs.e2e_p95_ms is not None
        }
    )
    p_best = confidence_of(pool, spec, weights, slo, seed=seed, draws=draws)
    categories = _categories(evidence, items)
    rows = [
        _row(
            c,
            spec,
            scores=base_scores.get(c.key),
            rank=ranking.index(c.key) + 1 if c.key in ranking else None,
            pareto=c.key in front,
            p_best=p_best.get(c.key) if c.key in base_scores else None,
            per_category=categories.get(c.key, {}),
            variants=variants.get(c.key),
            runtime=tuning.runtime(c.key) if tuning is not None else None,
        )
        for c in everyone
    ]
    by_key = {c.key: c for c in pool}
    winner = ranking[0] if ranking else None
    best_open = next((k for k in ranking if by_key[k].inputs.open_weights), None)
    best_closed = next((k for k in ranking if not by_key[k].inputs.open_weights), None)
    break_even = break_even_of(everyone, rows, best_open, best_closed)
    sensitivity = sensitivity_of(pool, spec, weights, slo, winner)
    recommendation = recommend(
        winner,
        ranking,
        rows,
        best_open,
        best_closed,
        p_best,
        sensitivity,
        break_even,
        spec,
        spec_path=spec_path,
        n_items=max(
            (c.evidence.quality.n for c in pool if c.evidence and c.evidence.quality),
            default=len(items),
        ),
        draws=draws,
    )
    volume = spec.needs.volume
    return Decision(
        llmpick_version=__version__,
        spec_hash="sha256:" + hashlib.sha256(spec_text.encode()).hexdigest(),
        spec_path=spec_path,
        generated_at=dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        run_id=run_id,
        name=spec.name,
        description=spec.description,
        needs=spec.needs.model_dump(mode="json"),
        constraints=spec.constraints.model_dump(mode="json"),
        safety_needs=dict(spec.safety.min_pass_rate) if spec.safety else {},
        weights=weights,
        volume={
            "requests_per_day": volume.requests_per_day,
            "mean_input_tokens": volume.mean_input_tokens,
            "mean_output_tokens": volume.mean_output_tokens,
        },
        recommendation=recommendation,
        candidates=rows,
        break_even=break_even,
        sensitivity=sensitivity,
        provenance_legend=PROVENANCE_LEGEND,
        load_tests=[_load_test(label, cap) for label, cap in capacity.items()],
        notes=list(notes),
        items=[_item(item, evidence) for item in items],
        tuning=tuning_section(spec, tuning, training) if tuning is not None else None,
    )


def _load_test(label: str, capacity: CapacityEvidence) -> LoadTestSummary:
    return LoadTestSummary(
        candidate=label,
        id=capacity.load_test_id,
        hardware=capacity.hardware,
        requests_per_s=capacity.requests_per_s,
        concurrency=capacity.concurrency,
        source=capacity.source,
        slo=dict(capacity.slo),
        levels=[LoadTestLevel.model_validate(dict(level)) for level in capacity.levels],
    )


# ----------------------------------------------------------------------------- per candidate


def _row(
    cand: Contender,
    spec: Spec,
    *,
    scores: tuple[dict[str, float | None], float] | None,
    rank: int | None,
    pareto: bool,
    p_best: float | None,
    per_category: Mapping[str, CategoryScore],
    variants: tuple[str, list[VariantResult]] | None = None,
    runtime: str | None = None,
) -> CandidateRow:
    verdict, ev, cost = cand.verdict, cand.evidence, cand.cost
    c = verdict.candidate
    entry = c.entry
    quality_ev = ev.quality if ev else None
    requests_month = spec.needs.volume.requests_per_day * 365 / 12
    usd = cost.usd_per_month if cost else None
    q = cand.inputs.quality
    needs = needs_of(cand, spec)
    return CandidateRow(
        id=c.label,
        label=c.label,
        model_id=entry.id if entry else None,
        name=entry.name if entry and c.candidate.name is None else c.label,
        vendor=entry.vendor if entry else None,
        deployment=c.deployment,
        open_weights=c.open_weights,
        eligible=verdict.eligible,
        exclusions=[RuleNote(rule=r.rule, message=r.message) for r in verdict.exclusions],
        warnings=[RuleNote(rule=r.rule, message=r.message) for r in verdict.warnings],
        measured=bool(ev and ev.measured),
        not_measured_reason=None
        if ev and ev.measured
        else (ev.not_measured_reason if ev else None) or "not evaluated",
        quality=QualityFigure(
            metric=spec.needs.quality.metric,
            mean=q,
            ci_low=quality_ev.ci_low if quality_ev else None,
            ci_high=quality_ev.ci_high if quality_ev else None,
            n=quality_ev.n if quality_ev else 0,
            provenance="measured" if quality_ev else "none",
            source=quality_ev.source if quality_ev else None,
        ),
        per_category=dict(per_category),
        latency=_latency(ev),
        cost=CostFigure(
            usd_per_month=usd,
            usd_per_1k_requests=usd / requests_month * 1000 if usd and requests_month else None,
            usd_per_correct_answer=(
                usd / (requests_month * q) if usd is not None and q and requests_month else None
            ),
            provenance=cost.provenance if cost else "none",
            source=cost.source if cost else None,
            as_of=cost.as_of if cost else None,
            breakdown=dict(cost.breakdown) if cost else {},
            assumptions=list(cost.assumptions) if cost else [],
            figure_provenance=dict(cost.figure_provenance) if cost else {},
            hardware_unpriced=cost.hardware_unpriced if cost else False,
            estimate_vs_measured=cost.estimate_vs_measured if cost else None,
        ),
        needs=needs,
        meets_needs=_meets_by_need(needs),
        meets_every_need=bool(needs) and all(n.met is not False for n in needs) and q is not None,
        criteria=scores[0] if scores else None,
        score=scores[1] if scores else None,
        rank=rank,
        pareto=pareto,
        p_best=p_best,
        published=_published(cand),
        serving=_serving(cand, runtime),
        safety=_safety(cand.safety),
        variant=variants[0] if variants else None,
        variants=variants[1] if variants else [],
    )


def _safety(probes: SafetyEvidence | None) -> SafetyFigure | None:
    if probes is None:
        return None
    return SafetyFigure(
        overall=probes.overall,
        categories={
            k: SafetyRate(passed=c.passed, n=c.n, rate=c.rate, ci_low=c.ci_low, ci_high=c.ci_high)
            for k, c in probes.categories.items()
        },
        failures=[
            SafetyFailure(probe_id=i, category=c, reason=r, answer=a)
            for i, c, r, a in probes.failures
        ],
        source=f"run {probes.run_id}: llmpick's probe suite inside the spec's prompt",
    )


def _meets_by_need(needs: Sequence[NeedCheck]) -> dict[str, bool | None]:
    """One verdict per need: missed if any of its checks is missed (TTFT or end-to-end), unknown
    if any is unknown, else met."""
    out: dict[str, bool | None] = {}
    for check in needs:
        before = out.get(check.need, True)
        if before is False or check.met is False:
            out[check.need] = False
        elif before is None or check.met is None:
            out[check.need] = None
        else:
            out[check.need] = True
    return out


def _published(cand: Contender) -> list[PublishedScore]:
    entry = cand.verdict.candidate.entry
    out = []
    for bench in getattr(entry, "benchmarks", None) or []:
        unit = getattr(bench, "unit", "%")
        out.append(
            PublishedScore(
                benchmark=bench.name,
                score=bench.score,
                scale={"%": "percent", "fraction": "fraction"}.get(unit, unit),
                source=bench.source,
                as_of=str(bench.as_of) if bench.as_of else None,
            )
        )
    return out


def _serving(cand: Contender, runtime: str | None = None) -> Serving | None:
    """How the candidate is reached; a tuned one by the runtime its adapter ran in."""
    c = cand.verdict.candidate
    spec_candidate = c.candidate
    placement = cand.verdict.placement
    endpoint = spec_candidate.endpoint
    kind: str
    base_url: str | None
    model: str | None
    key_env: str | None
    if endpoint is not None:
        kind, base_url, model, key_env = (
            endpoint.protocol,
            redact_url(endpoint.base_url),
            endpoint.model,
            endpoint.api_key_env,
        )
    elif spec_candidate.tune is not None:  # base + adapter: llama.cpp's LoRA, or transformers
        kind, base_url, model, key_env = runtime or "transformers", None, c.label, None
    elif spec_candidate.gguf is not None or (c.entry is not None and c.entry.is_local):
        kind, base_url, model, key_env = "llamacpp", None, c.entry.id if c.entry else None, None
    elif c.entry is not None:
        kind, base_url, model, key_env = "catalog", None, c.entry.id, None
    else:
        return None
    return Serving(
        kind=kind,
        base_url=base_url,
        model=model,
        api_key_env=key_env,
        hardware=str(placement["hardware"]) if placement.get("hardware") else None,
        quantization=str(placement["quantization"]) if placement.get("quantization") else None,
    )


def _latency(ev: Evidence | None) -> LatencyFigure:
    lat = ev.latency if ev else None
    if lat is None:
        return LatencyFigure()
    return LatencyFigure(
        ttft_p50_ms=percentile(lat.ttft_ms, 50),
        ttft_p95_ms=percentile(lat.ttft_ms, 95),
        e2e_p50_ms=percentile(lat.e2e_ms, 50),
        e2e_p95_ms=percentile(lat.e2e_ms, 95),
        tpot_ms=percentile(lat.tpot_ms, 50),
        output_tokens_per_s=percentile(lat.output_tokens_per_s, 50),
        provenance="measured",
        source=lat.source,
        under_queue=lat.under_queue,
        ttft_samples_ms=list(lat.ttft_ms),
        e2e_samples_ms=list(lat.e2e_ms),
    )


def _categories(
    evidence: Mapping[str, Evidence], items: Sequence[DatasetItem]
) -> dict[str, dict[str, CategoryScore]]:
    category_of = {i.item_id: i.category for i in items if i.category}
    out: dict[str, dict[str, CategoryScore]] = {}
    if not category_of:
        return out
    for label, ev in evidence.items():
        if not ev.quality:
            continue
        groups: dict[str, list[float]] = {}
        for item_id, score in ev.quality.scores_by_item.items():
            if item_id in category_of:
                groups.setdefault(category_of[item_id], []).append(score)
        out[label] = {
            cat: CategoryScore(mean=sum(v) / len(v), n=len(v)) for cat, v in sorted(groups.items())
        }
    return out


def _item(item: DatasetItem, evidence: Mapping[str, Evidence]) -> ItemRow:
    responses = {}
    for label, ev in evidence.items():
        response = ev.responses.get(item.item_id)
        if response is not None:
            responses[label] = ItemAnswer(
                text=response.text,
                score=response.score,
                ttft_ms=response.ttft_ms,
                error=response.error,
            )
    return ItemRow(
        item_id=item.item_id,
        input=item.input,
        expected=item.expected,
        category=item.category,
        responses=responses,
    )
