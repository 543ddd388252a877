"""The decision as typed, frozen data: what `decide()` returns and `decision.json` holds.

Every figure carries its provenance (`measured`, `catalog`, `estimate`, `assumed` or `none`) and
where it came from. Candidates are keyed by their **label** (the spec's `name`, or the catalog id
when no name is given): that is what runs, evidence, items and the report all key on, so two
quantizations of one model are two rows. `model_id` is the catalog entry whose facts apply.

The JSON Schema of `decision.json` is `Decision.model_json_schema()` (`llmpick schema
--decision`); the report renders a `Decision`, and tools can read the file back with
`Decision.model_validate_json(...)`.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "BreakEven",
    "BreakEvenPoint",
    "CandidateRow",
    "CategoryScore",
    "CostFigure",
    "Decision",
    "EpochLoss",
    "HeldOutItems",
    "ItemAnswer",
    "ItemRow",
    "LatencyFigure",
    "LoadTestLevel",
    "LoadTestSummary",
    "NeedCheck",
    "NextMeasurement",
    "Provenance",
    "PublishedScore",
    "QualityFigure",
    "Recommendation",
    "RuleNote",
    "SafetyFailure",
    "SafetyFigure",
    "SafetyRate",
    "Sensitivity",
    "Serving",
    "Status",
    "TrainingCostFigure",
    "TunedModel",
    "Tuning",
    "TuningGain",
    "VariantResult",
    "WeightChange",
    "decision_schema_text",
]

Provenance = Literal["measured", "catalog", "estimate", "assumed", "none"]
Status = Literal["chosen", "no_candidate_meets_needs", "nothing_measured", "no_candidates"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RuleNote(_Frozen):
    """A constraint rule's finding about a candidate, in plain words."""

    rule: str
    message: str


class QualityFigure(_Frozen):
    """The primary metric on the team's dataset (0..1) with its 95% interval."""

    metric: str
    mean: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    n: int = 0
    provenance: Provenance = "none"
    source: str | None = None


class LatencyFigure(_Frozen):
    """Per-request latency as measured by the evaluation (milliseconds)."""

    ttft_p50_ms: float | None = None
    ttft_p95_ms: float | None = None
    e2e_p50_ms: float | None = None
    e2e_p95_ms: float | None = None
    tpot_ms: float | None = None
    output_tokens_per_s: float | None = None
    provenance: Provenance = "none"
    source: str | None = None
    # True when the requests waited in the server's queue (more in flight than it serves at once):
    # such latency describes the queue, not the model, and is kept out of the latency criterion.
    under_queue: bool = False
    ttft_samples_ms: list[float] = Field(default_factory=list)
    e2e_samples_ms: list[float] = Field(default_factory=list)


class CostFigure(_Frozen):
    """Monthly cost at the spec's volume, with every assumption behind it."""

    usd_per_month: float | None = None
    usd_per_1k_requests: float | None = None
    usd_per_correct_answer: float | None = None
    provenance: Provenance = "none"
    source: str | None = None
    as_of: str | None = None
    breakdown: dict[str, Any] = Field(default_factory=dict)
    assumptions: list[str] = Field(default_factory=list)
    figure_provenance: dict[str, str] = Field(
        default_factory=dict, description="Where each breakdown figure came from, by its key."
    )
    hardware_unpriced: bool = Field(
        False, description="Hardware counted as $0 because nothing prices it: an assumption."
    )
    estimate_vs_measured: float | None = None


class CategoryScore(_Frozen):
    mean: float
    n: int


class NeedCheck(_Frozen):
    """One hard need (quality floor, latency SLO, budget, safety) against a candidate's figure.

    `met` is None when the need is not set or the figure is unknown; `gap` says by how much a
    missed need is missed, in the need's own unit.
    """

    need: Literal["quality", "latency", "budget", "safety"]
    met: bool | None
    observed: float | None = None
    target: float | None = None
    unit: str = ""
    gap: str | None = None
    provenance: Provenance = "none"


class PublishedScore(_Frozen):
    """A benchmark score the vendor or a public leaderboard published: not measured on your data,
    never used as quality or in the weighted score; it may only order what to measure next."""

    benchmark: str
    score: float
    scale: str = "percent"
    source: str
    as_of: str | None = None


class Serving(_Frozen):
    """How the candidate was (or would be) called: enough for `gateway`/`deploy --from-decision`.
    Secrets never appear: only the name of the environment variable holding a key."""

    kind: str | None = None
    base_url: str | None = None
    model: str | None = None
    api_key_env: str | None = None
    hardware: str | None = None
    quantization: str | None = None


class VariantResult(_Frozen):
    """One prompt variant of a candidate, compared with the variant the decision uses on the
    same items (McNemar's exact test for pass/fail scores)."""

    name: str
    mean: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    n: int = 0
    chosen: bool = False
    diff_vs_chosen: float | None = None
    only_this_right: int = 0
    only_chosen_right: int = 0
    p_value: float | None = None


class SafetyRate(_Frozen):
    passed: int
    n: int
    rate: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None


class SafetyFailure(_Frozen):
    probe_id: str
    category: str
    reason: str
    answer: str


class SafetyFigure(_Frozen):
    """The safety probes on this candidate, inside the spec's own prompt (measured)."""

    overall: float | None = None
    categories: dict[str, SafetyRate] = Field(default_factory=dict)
    failures: list[SafetyFailure] = Field(default_factory=list)
    provenance: Provenance = "measured"
    source: str | None = None


class CandidateRow(_Frozen):
    """One candidate in the decision: eligible or excluded, measured or not, with every figure."""

    id: str = Field(description="The candidate's label: unique in the spec, the key everywhere.")
    label: str
    model_id: str | None = Field(None, description="Catalog id whose facts apply, if any.")
    name: str
    vendor: str | None = None
    deployment: Literal["api", "self-hosted"]
    open_weights: bool
    eligible: bool
    exclusions: list[RuleNote] = Field(default_factory=list)
    warnings: list[RuleNote] = Field(default_factory=list)
    measured: bool
    not_measured_reason: str | None = None
    quality: QualityFigure
    per_category: dict[str, CategoryScore] = Field(default_factory=dict)
    latency: LatencyFigure = Field(default_factory=LatencyFigure)
    cost: CostFigure = Field(default_factory=CostFigure)
    needs: list[NeedCheck] = Field(default_factory=list)
    meets_needs: dict[str, bool | None] = Field(default_factory=dict)
    meets_every_need: bool = False
    criteria: dict[str, float | None] | None = None
    score: float | None = None
    rank: int | None = None
    pareto: bool = False
    p_best: float | None = None
    published: list[PublishedScore] = Field(default_factory=list)
    serving: Serving | None = None
    safety: SafetyFigure | None = None
    variant: str | None = Field(None, description="The prompt variant its figures come from.")
    variants: list[VariantResult] = Field(default_factory=list)


class NextMeasurement(_Frozen):
    """An eligible candidate without measured quality that could still change the decision."""

    candidate: str
    model_id: str | None = None
    why: list[str] = Field(default_factory=list)
    step: str
    within_budget: bool | None = None
    usd_per_month: float | None = None
    cost_provenance: Provenance = "none"
    published: list[PublishedScore] = Field(default_factory=list)
    items_needed: int | None = Field(
        None, description="Paired test cases needed to tell it from the best measured option."
    )
    items_needed_basis: str | None = None


class WeightChange(_Frozen):
    weight: str
    delta: float
    new_winner: str


class Sensitivity(_Frozen):
    """What would flip the ranking among the measured candidates."""

    volume_flip_requests_per_day: float | None = None
    volume_flip_note: str
    volume_flip_winner: str | None = None
    weight_changes: list[WeightChange] = Field(default_factory=list)
    provenance: str = Field(
        "none", description="What its inputs are: measured quality; catalog or estimated costs."
    )


class BreakEvenPoint(_Frozen):
    requests_per_day: float
    open_usd_per_month: float
    closed_usd_per_month: float


class BreakEven(_Frozen):
    """Where self-hosting the best open option costs the same as the best closed one."""

    open_id: str | None = None
    closed_id: str | None = None
    requests_per_day: float | None = None
    note: str
    provenance: str = "none"
    curve: list[BreakEvenPoint] = Field(default_factory=list)


class Recommendation(_Frozen):
    """The headline. `status` is `chosen` only when a measured candidate meets every hard need;
    otherwise `id` is the best *measured* option, shown with the needs it misses, never as the
    choice, and `next_measurements` is the main advice."""

    status: Status
    headline: str
    id: str | None = None
    label: str | None = None
    confidence: float | None = Field(
        None, description="Share of resampled draws in which it ranks first among the measured."
    )
    confidence_note: str | None = None
    measured_candidates: int = 0
    unmeasured_eligible: int = 0
    runner_up: str | None = None
    best_open: str | None = None
    best_closed: str | None = None
    reasons: list[str] = Field(default_factory=list)
    misses: list[NeedCheck] = Field(default_factory=list)
    what_would_change: list[str] = Field(default_factory=list)
    next_measurements: list[NextMeasurement] = Field(default_factory=list)


class LoadTestLevel(_Frozen):
    concurrency: int | None = None
    target_rate: float | None = None
    requests_per_s: float | None = None
    ttft_p95_ms: float | None = None
    e2e_p95_ms: float | None = None
    meets_slo: bool | None = None
    verdict: str | None = None


class LoadTestSummary(_Frozen):
    candidate: str
    id: str | None = None
    hardware: str
    requests_per_s: float
    concurrency: int | None = None
    source: str
    slo: dict[str, Any] = Field(default_factory=dict)
    levels: list[LoadTestLevel] = Field(default_factory=list)


class ItemAnswer(_Frozen):
    text: str
    score: float | None = None
    ttft_ms: float | None = None
    error: str | None = None


class ItemRow(_Frozen):
    item_id: str
    input: str
    expected: str | None = None
    category: str | None = None
    responses: dict[str, ItemAnswer] = Field(default_factory=dict)


class HeldOutItems(_Frozen):
    """The items every candidate (base, tuned, closed) was evaluated on when the spec tunes a
    model: none of them is a training or validation item."""

    source: str = Field(description="How they were chosen: a seeded split, or given files.")
    n_test: int
    n_train: int
    n_validation: int
    given_files: bool = False
    never_trained_on: bool = Field(
        True, description="No test id is a training or validation id (checked by id)."
    )
    test_ids: list[str] = Field(default_factory=list)


class TrainingCostFigure(_Frozen):
    """Tuning's one-off cost: measured training time x the hardware's hourly price."""

    usd: float | None = Field(None, description="One tuning run, USD.")
    usd_per_month: float | None = Field(
        None, description="The runs in the horizon spread over its months (in the cost)."
    )
    wall_time_s: float = Field(description="Measured wall time of the training run, seconds.")
    usd_per_hour: float | None = None
    hardware: str
    tunings: int = Field(1, description="Tuning runs in the horizon (re-tuning cadence).")
    horizon_months: float
    retune_every_days: float | None = None
    provenance: Provenance = "none"
    source: str | None = Field(None, description="Where the hourly price came from.")
    as_of: str | None = None
    figure_provenance: dict[str, str] = Field(default_factory=dict)


class TuningGain(_Frozen):
    """A tuned model against its base on the same held-out items: the run's paired test
    (McNemar's exact test for pass/fail scores, else a paired bootstrap) and its interval."""

    base: str
    metric: str
    n: int
    base_mean: float
    tuned_mean: float
    diff: float = Field(description="Tuned minus base.")
    ci_low: float
    ci_high: float
    method: str
    p_value: float | None = None
    only_tuned_right: int | None = None
    only_base_right: int | None = None


class EpochLoss(_Frozen):
    epoch: int
    train_loss: float
    validation_loss: float


class TunedModel(_Frozen):
    """One tuned candidate: how its adapter was made (or why there is none), what it cost,
    and what it gained over its base."""

    candidate: str
    base: str
    status: Literal["trained", "reused", "not_tuned"]
    reason: str | None = None
    runtime: str = Field("transformers", description="The runtime that served it.")
    adapter_key: str | None = None
    adapter_dir: str | None = None
    settings: dict[str, Any] = Field(default_factory=dict)
    split_sizes: dict[str, int] = Field(default_factory=dict)
    initial_validation_loss: float | None = None
    step_losses: list[float] = Field(default_factory=list)
    epochs: list[EpochLoss] = Field(default_factory=list)
    stopped_early: bool = False
    train_tokens: int | None = None
    hardware: dict[str, Any] = Field(default_factory=dict)
    cost: TrainingCostFigure | None = None
    vs_base: TuningGain | None = None
    vs_base_note: str | None = Field(None, description="Why there is no paired comparison.")


class Tuning(_Frozen):
    """Tuned candidates and the held-out items everything was evaluated on."""

    held_out: HeldOutItems | None = None
    models: list[TunedModel] = Field(default_factory=list)


class Decision(_Frozen):
    """Everything `decide()` concluded and why; `decision.json` is its JSON dump."""

    llmpick_version: str
    spec_hash: str
    spec_path: str | None = None
    generated_at: str
    run_id: str | None = None
    name: str | None = None
    description: str | None = None
    needs: dict[str, Any] = Field(default_factory=dict)
    constraints: dict[str, Any] = Field(default_factory=dict)
    safety_needs: dict[str, float] = Field(
        default_factory=dict, description="Minimum pass rate per probe category (the spec's)."
    )
    weights: dict[str, float] = Field(default_factory=dict)
    volume: dict[str, float] = Field(default_factory=dict)
    recommendation: Recommendation
    candidates: list[CandidateRow] = Field(default_factory=list)
    break_even: BreakEven
    sensitivity: Sensitivity
    provenance_legend: dict[str, str] = Field(default_factory=dict)
    load_tests: list[LoadTestSummary] = Field(default_factory=list)
    notes: list[str] = Field(
        default_factory=list, description="What the pipeline did or could not use, in words."
    )
    items: list[ItemRow] = Field(default_factory=list)
    tuning: Tuning | None = Field(
        None, description="Tuned candidates, their one-off cost and the held-out items."
    )

    def candidate(self, key: str | None) -> CandidateRow | None:
        """The row with this label (`id`), or None."""
        return next((c for c in self.candidates if c.id == key), None) if key else None


def decision_schema_text() -> str:
    """The JSON Schema of decision.json as stable, indented JSON (`llmpick schema --decision`;
    committed as schema/decision.schema.json)."""
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "llmpick decision.json",
        **Decision.model_json_schema(),
    }
    return json.dumps(schema, indent=2) + "\n"
