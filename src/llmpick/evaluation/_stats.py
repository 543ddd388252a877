"""What a run says about each candidate, with its uncertainty, read back from the store.

- Quality: the mean of each metric with a 95% interval: Wilson for pass/fail metrics, a
  percentile bootstrap otherwise (a normal interval past 5,000 items, where they agree). With
  `--repeat`, each item's samples are averaged first and the spread between repeats is reported.
- Speed: TTFT, end-to-end and time-per-output-token percentiles (p50/p90/p95/p99), output tokens/s.
- Cost: per item, per 1,000 items and per correct answer, at catalog list prices.
- Pairs: candidates compared on the same items: an exact McNemar test for pass/fail metrics, a
  paired bootstrap otherwise, and the probability that one is better (bootstrap of the paired
  difference).

`summarize_run(store, run_id)` is what the report and the decision step read.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from itertools import combinations
from statistics import NormalDist
from typing import Any

import numpy as np

from llmpick.store import RunRecord, Store, StoreError

__all__ = [
    "CandidateSummary",
    "CostSummary",
    "MetricSummary",
    "PairedComparison",
    "Percentiles",
    "RunSummary",
    "mcnemar_exact_p",
    "paired_sample_size",
    "summarize_run",
    "wilson_interval",
]

Z95 = 1.959963984540054
_BOOTSTRAP_MAX_ITEMS = 5000


@dataclass
class MetricSummary:
    metric: str
    mean: float | None
    ci_low: float | None
    ci_high: float | None
    method: str  # wilson | bootstrap | normal | none
    n: int
    passed: int | None = None
    score_errors: int = 0
    by_category: dict[str, float] = field(default_factory=dict)
    repeat_means: list[float] = field(default_factory=list)
    repeat_std: float | None = None


@dataclass
class Percentiles:
    p50: float | None
    p90: float | None
    p95: float | None
    p99: float | None
    n: int


@dataclass
class CostSummary:
    total_usd: float | None
    per_item_usd: float | None
    per_1k_items_usd: float | None
    per_correct_usd: float | None
    judge_usd: float | None
    priced: bool
    note: str


@dataclass
class CandidateSummary:
    label: str
    status: str
    reason: str | None
    provider: str | None
    model: str | None
    catalog_id: str | None
    responses: int = 0
    errors: int = 0
    from_cache: int = 0
    metrics: dict[str, MetricSummary] = field(default_factory=dict)
    per_item: dict[str, dict[str, float]] = field(default_factory=dict)
    latency: dict[str, Percentiles] = field(default_factory=dict)
    output_tokens_per_s: float | None = None
    mean_input_tokens: float | None = None
    mean_output_tokens: float | None = None
    usage_source: str | None = None
    cost: CostSummary | None = None
    first_error: str | None = None
    # Filled only by `summarize_run(..., keep_responses=True)` (the decision report needs them):
    # per-response latencies in seconds, and each item's first answer (text, TTFT s, error).
    latency_samples: dict[str, list[float]] = field(default_factory=dict)
    item_responses: dict[str, tuple[str, float | None, str | None]] = field(default_factory=dict)

    @property
    def measured(self) -> bool:
        return self.status == "measured"

    @property
    def status_text(self) -> str:
        if self.measured:
            return "measured"
        return self.reason or self.status.replace("_", " ")


@dataclass
class PairedComparison:
    metric: str
    a: str
    b: str
    n: int
    mean_a: float
    mean_b: float
    diff: float
    ci_low: float
    ci_high: float
    method: str  # mcnemar | paired_bootstrap | paired_normal
    p_value: float | None
    prob_a_better: float
    a_only: int | None = None  # pass/fail: items A passed and B failed
    b_only: int | None = None

    def swapped(self) -> PairedComparison:
        """The same comparison read the other way round (B against A)."""
        return PairedComparison(
            metric=self.metric,
            a=self.b,
            b=self.a,
            n=self.n,
            mean_a=self.mean_b,
            mean_b=self.mean_a,
            diff=0.0 - self.diff,  # 0.0 - x, not -x: no "-0.00" for no difference
            ci_low=0.0 - self.ci_high,
            ci_high=0.0 - self.ci_low,
            method=self.method,
            p_value=self.p_value,
            prob_a_better=1.0 - self.prob_a_better,
            a_only=self.b_only,
            b_only=self.a_only,
        )


@dataclass
class RunSummary:
    run: RunRecord
    primary_metric: str
    items: int
    candidates: list[CandidateSummary]
    comparisons: list[PairedComparison]

    def candidate(self, label: str) -> CandidateSummary:
        for c in self.candidates:
            if c.label == label:
                return c
        raise KeyError(label)

    def to_dict(self, *, per_item: bool = False) -> dict[str, Any]:
        data = asdict(self)
        for c in data["candidates"]:
            if not per_item:
                c.pop("per_item")
            c.pop("latency_samples")
            c.pop("item_responses")
        return data


# Intervals and tests ----------------------------------------------------------------------------


def wilson_interval(successes: float, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a proportion; good at small n and near 0 or 1."""
    if n == 0:
        return (0.0, 1.0)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def mcnemar_exact_p(a_only: int, b_only: int) -> float:
    """Two-sided exact McNemar p-value (binomial test of the discordant pairs at 1/2)."""
    n = a_only + b_only
    if n == 0:
        return 1.0
    k = min(a_only, b_only)
    log_half_n = n * math.log(0.5)
    tail = sum(
        math.exp(math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) + log_half_n)
        for i in range(k + 1)
    )
    return min(1.0, 2 * tail)


def paired_sample_size(
    p_a_only: float, p_b_only: float, *, alpha: float = 0.05, power: float = 0.8
) -> int | None:
    """Paired test cases needed for McNemar's test to tell two pass/fail candidates apart.

    `p_a_only` and `p_b_only` are the shares of items only A, or only B, gets right (the
    discordant cells). Connor (1987), two-sided:

        n = ((z(1 - alpha/2) sqrt(p_disc) + z(power) sqrt(p_disc - diff^2)) / diff)^2

    with p_disc = p_a_only + p_b_only and diff = p_a_only - p_b_only. None when the two cannot
    differ (diff = 0). Connor's example, p_a_only 0.05 and p_b_only 0.45, needs 23 pairs.
    """
    diff = abs(p_a_only - p_b_only)
    disc = p_a_only + p_b_only
    if diff <= 0 or disc <= 0 or not 0 < alpha < 1 or not 0 < power < 1:
        return None
    normal = NormalDist()
    z_alpha, z_power = normal.inv_cdf(1 - alpha / 2), normal.inv_cdf(power)
    root = z_alpha * math.sqrt(disc) + z_power * math.sqrt(max(disc - diff * diff, 0.0))
    return math.ceil((root / diff) ** 2)


def _is_binary(values: np.ndarray) -> bool:
    return bool(np.all((values == 0) | (values == 1)))


def _mean_interval(
    values: np.ndarray, rng: np.random.Generator, samples: int
) -> tuple[float, float, str]:
    n = len(values)
    if n == 1:
        return float(values[0]), float(values[0]), "none"
    if n > _BOOTSTRAP_MAX_ITEMS:
        half = Z95 * float(values.std(ddof=1)) / math.sqrt(n)
        return float(values.mean()) - half, float(values.mean()) + half, "normal"
    means = values[rng.integers(0, n, size=(samples, n))].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return float(low), float(high), "bootstrap"


def _percentiles(values: list[float]) -> Percentiles:
    if not values:
        return Percentiles(None, None, None, None, 0)
    p = np.percentile(np.asarray(values), [50, 90, 95, 99])
    return Percentiles(float(p[0]), float(p[1]), float(p[2]), float(p[3]), len(values))


# Summary --------------------------------------------------------------------------------------


def summarize_run(
    store: Store,
    run_id: str,
    *,
    bootstrap_samples: int = 2000,
    seed: int = 0,
    keep_responses: bool = False,
) -> RunSummary:
    """Everything the report needs about a run; see the module docstring for the methods."""
    run = store.get_run(run_id)
    if run is None:
        raise StoreError(f"no run {run_id!r} in the store; `llmpick runs list` shows the runs")
    rng = np.random.default_rng(seed)
    categories = {i.item_id: i.category for i in store.items(run.id)}
    metrics: list[str] = run.config.get("metrics") or [run.primary_metric]
    summaries = []
    for record in store.candidates(run.id):
        summary = CandidateSummary(
            label=record.label,
            status=record.status,
            reason=record.reason,
            provider=record.provider,
            model=record.model,
            catalog_id=record.catalog_id,
        )
        _add_responses(summary, store, run.id, record.config.get("pricing", ""), keep_responses)
        _add_scores(summary, store, run.id, metrics, categories, rng, bootstrap_samples)
        _add_cost_per_correct(summary, run.primary_metric)
        summaries.append(summary)
    comparisons = []
    measured = [s for s in summaries if s.metrics]
    for metric in metrics:
        for a, b in combinations(measured, 2):
            found = _compare(metric, a, b, rng, bootstrap_samples)
            if found is not None:
                comparisons.append(found)
    return RunSummary(run, run.primary_metric, len(categories), summaries, comparisons)


def _add_responses(
    summary: CandidateSummary, store: Store, run_id: str, pricing: str, keep: bool = False
) -> None:
    ttft: list[float] = []
    e2e: list[float] = []
    tpot: list[float] = []
    speed: list[float] = []
    inputs: list[int] = []
    outputs: list[int] = []
    costs: list[float] = []
    sources: set[str] = set()
    for r in store.responses(run_id, summary.label):
        if keep and r.repeat == 0:
            error = f"{r.error_type}: {r.error}" if r.error else None
            summary.item_responses[r.item_id] = (r.text or "", r.ttft_s, error)
        if r.error is not None:
            summary.errors += 1
            summary.first_error = summary.first_error or r.error
            continue
        summary.responses += 1
        summary.from_cache += int(r.from_cache)
        for values, value in ((ttft, r.ttft_s), (e2e, r.e2e_s), (tpot, r.tpot_s)):
            if value is not None:
                values.append(value)
        if r.output_tokens_per_s is not None:
            speed.append(r.output_tokens_per_s)
        if r.input_tokens is not None:
            inputs.append(r.input_tokens)
        if r.output_tokens is not None:
            outputs.append(r.output_tokens)
        if r.cost_usd is not None:
            costs.append(r.cost_usd)
        if r.usage_source:
            sources.add(r.usage_source)
    if keep:
        summary.latency_samples = {"ttft_s": ttft, "e2e_s": e2e, "tpot_s": tpot, "speed": speed}
    summary.latency = {"ttft_s": _percentiles(ttft), "e2e_s": _percentiles(e2e)}
    summary.latency["tpot_s"] = _percentiles(tpot)
    summary.output_tokens_per_s = float(np.mean(speed)) if speed else None
    summary.mean_input_tokens = float(np.mean(inputs)) if inputs else None
    summary.mean_output_tokens = float(np.mean(outputs)) if outputs else None
    summary.usage_source = ", ".join(sorted(sources)) or None
    priced = bool(costs) and len(costs) == summary.responses
    total = float(sum(costs)) if priced else None
    per_item = total / summary.responses if total is not None and summary.responses else None
    summary.cost = CostSummary(
        total_usd=total,
        per_item_usd=per_item,
        per_1k_items_usd=per_item * 1000 if per_item is not None else None,
        per_correct_usd=None,
        judge_usd=None,
        priced=priced,
        note=pricing or "",
    )


def _add_scores(
    summary: CandidateSummary,
    store: Store,
    run_id: str,
    metrics: list[str],
    categories: dict[str, str | None],
    rng: np.random.Generator,
    samples: int,
) -> None:
    # metric -> item -> repeat -> value
    values: dict[str, dict[str, dict[int, float]]] = defaultdict(lambda: defaultdict(dict))
    errors: dict[str, int] = defaultdict(int)
    judge_cost = 0.0
    judged = False
    for s in store.scores(run_id, summary.label):
        if s.cost_usd is not None:
            judge_cost += s.cost_usd
            judged = True
        if s.value is None:
            # No value and no error: the metric does not apply to this item (a row without
            # its own `assert` checks), which is not a scoring error.
            errors[s.metric] += s.error is not None
            continue
        values[s.metric][s.item_id][s.repeat] = s.value
    if summary.cost is not None and judged:
        summary.cost.judge_usd = judge_cost
    for metric in metrics:
        per_item = {item: sum(r.values()) / len(r) for item, r in values[metric].items()}
        summary.per_item[metric] = per_item
        if not per_item:
            if summary.responses:
                summary.metrics[metric] = MetricSummary(
                    metric, None, None, None, "none", 0, score_errors=errors[metric]
                )
            continue
        array = np.fromiter(per_item.values(), dtype=float, count=len(per_item))
        mean = float(array.mean())
        passed = None
        if _is_binary(array):
            passed = int(array.sum())
            low, high = wilson_interval(passed, len(array))
            method = "wilson"
        else:
            low, high, method = _mean_interval(array, rng, samples)
        by_category: dict[str, list[float]] = defaultdict(list)
        for item, value in per_item.items():
            category = categories.get(item)
            if category is not None:
                by_category[category].append(value)
        repeats: dict[int, list[float]] = defaultdict(list)
        for item_values in values[metric].values():
            for repeat, value in item_values.items():
                repeats[repeat].append(value)
        repeat_means = [float(np.mean(repeats[k])) for k in sorted(repeats)]
        summary.metrics[metric] = MetricSummary(
            metric=metric,
            mean=mean,
            ci_low=low,
            ci_high=high,
            method=method,
            n=len(array),
            passed=passed,
            score_errors=errors[metric],
            by_category={k: float(np.mean(v)) for k, v in sorted(by_category.items())},
            repeat_means=repeat_means if len(repeat_means) > 1 else [],
            repeat_std=float(np.std(repeat_means, ddof=1)) if len(repeat_means) > 1 else None,
        )


def _add_cost_per_correct(summary: CandidateSummary, primary: str) -> None:
    cost = summary.cost
    metric = summary.metrics.get(primary)
    if cost is None or cost.total_usd is None or metric is None or metric.mean is None:
        return
    correct = metric.mean * metric.n
    cost.per_correct_usd = cost.total_usd / correct if correct > 0 else None


def _compare(
    metric: str,
    a: CandidateSummary,
    b: CandidateSummary,
    rng: np.random.Generator,
    samples: int,
) -> PairedComparison | None:
    scores_a, scores_b = a.per_item.get(metric, {}), b.per_item.get(metric, {})
    shared = [item for item in scores_a if item in scores_b]
    if len(shared) < 2:
        return None
    xa = np.array([scores_a[i] for i in shared])
    xb = np.array([scores_b[i] for i in shared])
    diff = xa - xb
    n = len(diff)
    if n > _BOOTSTRAP_MAX_ITEMS:
        se = float(diff.std(ddof=1)) / math.sqrt(n)
        mean_diff = float(diff.mean())
        low, high = mean_diff - Z95 * se, mean_diff + Z95 * se
        prob = 0.5 if se == 0 else 0.5 * (1 + math.erf(mean_diff / (se * math.sqrt(2))))
        method = "paired_normal"
    else:
        boot = diff[rng.integers(0, n, size=(samples, n))].mean(axis=1)
        low, high = (float(x) for x in np.percentile(boot, [2.5, 97.5]))
        prob = float(np.mean(boot > 0) + 0.5 * np.mean(boot == 0))
        method = "paired_bootstrap"
    p_value = None
    a_only = b_only = None
    if _is_binary(xa) and _is_binary(xb):
        a_only = int(np.sum((xa == 1) & (xb == 0)))
        b_only = int(np.sum((xa == 0) & (xb == 1)))
        p_value = mcnemar_exact_p(a_only, b_only)
        method = "mcnemar"
    return PairedComparison(
        metric=metric,
        a=a.label,
        b=b.label,
        n=n,
        mean_a=float(xa.mean()),
        mean_b=float(xb.mean()),
        diff=float(diff.mean()),
        ci_low=low,
        ci_high=high,
        method=method,
        p_value=p_value,
        prob_a_better=prob,
        a_only=a_only,
        b_only=b_only,
    )
