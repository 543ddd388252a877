"""Tuned candidates in the decision: the adapter behind each, its one-off cost, its paired
gain over its base on the held-out items, and which items those are.

The evidence comes from `llmpick._pipeline.prepare_tuning` (adapters trained or reused, the
spec's split) and from the evaluation run's paired comparisons (`summarize_run`), so the gain
is the same statistic the run summary reports for any pair of candidates.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from llmpick.costs import TrainingCost, training_cost
from llmpick.decision._model import (
    EpochLoss,
    HeldOutItems,
    TrainingCostFigure,
    TunedModel,
    Tuning,
    TuningGain,
)
from llmpick.evaluation import PairedComparison
from llmpick.spec import Candidate, Spec
from llmpick.tuning import HeldOut, TuneResult, tuned_provider_config

__all__ = ["TuningEvidence", "base_of", "training_costs", "tuning_section"]


@dataclass(frozen=True)
class TuningEvidence:
    """What tuning produced before the evaluation, and the run's paired comparisons."""

    held_out: HeldOut | None
    results: Mapping[str, TuneResult] = field(default_factory=dict)
    reasons: Mapping[str, str] = field(default_factory=dict)
    comparisons: Sequence[PairedComparison] = ()

    def runtime(self, label: str) -> str | None:
        """The runtime a tuned candidate's adapter ran in (llamacpp or transformers)."""
        result = self.results.get(label)
        return str(tuned_provider_config(result)["kind"]) if result is not None else None


def base_of(spec: Spec, tuned: Candidate) -> str | None:
    """The label of the spec candidate that is the tuned candidate's base, untuned, if any."""
    assert tuned.tune is not None
    return next(
        (c.label for c in spec.candidates if c.tune is None and c.catalog_ref == tuned.tune.base),
        None,
    )


def training_costs(spec: Spec, evidence: TuningEvidence) -> dict[str, TrainingCost]:
    """Each tuned candidate's training cost by label (those with an adapter)."""
    out = {}
    for candidate in spec.candidates:
        result = evidence.results.get(candidate.label)
        if candidate.tune is None or result is None:
            continue
        m = result.manifest
        out[candidate.label] = training_cost(
            m.wall_time_s,
            m.hardware,
            spec.constraints.infrastructure,
            horizon_months=spec.needs.horizon_months,
            retune_every_days=candidate.tune.retune_every_days,
        )
    return out


def tuning_section(
    spec: Spec, evidence: TuningEvidence, costs: Mapping[str, TrainingCost]
) -> Tuning:
    held = evidence.held_out
    held_items = None
    if held is not None:
        sizes = held.splits.sizes()
        held_items = HeldOutItems(
            source=held.source,
            n_test=sizes["test"],
            n_train=sizes["train"],
            n_validation=sizes["validation"],
            given_files=held.given_files,
            never_trained_on=set(held.splits.test).isdisjoint(
                held.splits.train + held.splits.validation
            ),
            test_ids=list(held.splits.test),
        )
    models = [
        _model(spec, c, evidence, costs.get(c.label)) for c in spec.candidates if c.tune is not None
    ]
    return Tuning(held_out=held_items, models=models)


def _model(
    spec: Spec, candidate: Candidate, evidence: TuningEvidence, cost: TrainingCost | None
) -> TunedModel:
    assert candidate.tune is not None
    label = candidate.label
    result = evidence.results.get(label)
    if result is None:
        return TunedModel(
            candidate=label,
            base=candidate.tune.base,
            status="not_tuned",
            reason=evidence.reasons.get(label) or "not tuned (not eligible, or not evaluated)",
        )
    m = result.manifest
    gain, note = _gain(spec, candidate, evidence.comparisons)
    return TunedModel(
        candidate=label,
        base=candidate.tune.base,
        status="reused" if result.reused else "trained",
        runtime=evidence.runtime(label) or "transformers",
        adapter_key=m.key,
        adapter_dir=str(result.adapter_dir),
        settings=m.settings.model_dump(mode="json"),
        split_sizes=dict(m.split_sizes),
        initial_validation_loss=m.initial_validation_loss,
        step_losses=[s.loss for s in m.steps],
        epochs=[
            EpochLoss(epoch=e.epoch, train_loss=e.train_loss, validation_loss=e.validation_loss)
            for e in m.epochs
        ],
        stopped_early=m.stopped_early,
        train_tokens=m.train_tokens,
        hardware=dict(m.hardware),
        cost=_cost_figure(cost) if cost is not None else None,
        vs_base=gain,
        vs_base_note=note,
    )


def _cost_figure(cost: TrainingCost) -> TrainingCostFigure:
    return TrainingCostFigure(
        usd=cost.usd,
        usd_per_month=cost.usd_per_month,
        wall_time_s=cost.wall_time_s,
        usd_per_hour=cost.usd_per_hour,
        hardware=cost.hardware,
        tunings=cost.tunings,
        horizon_months=cost.horizon_months,
        retune_every_days=cost.retune_every_days,
        provenance="catalog" if cost.price_provenance == "catalog" else "assumed",
        source=cost.price_source,
        as_of=cost.as_of,
        figure_provenance={
            "wall_time_s": "measured",
            "usd_per_hour": cost.price_provenance,
            "usd": cost.price_provenance,
        },
    )


def _gain(
    spec: Spec, candidate: Candidate, comparisons: Sequence[PairedComparison]
) -> tuple[TuningGain | None, str | None]:
    base = base_of(spec, candidate)
    if base is None:
        assert candidate.tune is not None
        return None, (
            f"its base {candidate.tune.base} is not a candidate of the spec; add it to compare "
            "them on the same items"
        )
    metric = spec.scoring.primary
    label = candidate.label
    for c in comparisons:
        if c.metric != metric or {c.a, c.b} != {label, base}:
            continue
        c = c if c.a == label else c.swapped()  # the tuned model as A
        return TuningGain(
            base=base,
            metric=metric,
            n=c.n,
            base_mean=c.mean_b,
            tuned_mean=c.mean_a,
            diff=c.diff,
            ci_low=c.ci_low,
            ci_high=c.ci_high,
            method=c.method,
            p_value=c.p_value,
            only_tuned_right=c.a_only,
            only_base_right=c.b_only,
        ), None
    return None, f"{label} and {base} were not both measured on the same items"
