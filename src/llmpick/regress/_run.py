"""Run the regression: a fresh evaluation of one candidate (never from the cache: the point is
to ask the deployment again), compared with its baseline run."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Mapping

from llmpick._errors import LlmpickError
from llmpick.evaluation import RunOptions, run_async, summarize_run
from llmpick.regress._compare import Check, RegressionReport, compare_scores
from llmpick.spec import Candidate, Endpoint, LoadedSpec, Spec
from llmpick.store import Store

__all__ = ["RegressError", "baseline_run", "regress"]


class RegressError(LlmpickError):
    """Regress cannot run: no such candidate, no baseline run, or the new run measured nothing."""


def baseline_run(store: Store, label: str, *, before: str | None = None) -> str | None:
    """The newest finished run in which `label` was measured (other than `before`)."""
    for run in store.list_runs(500):
        if run.id == before or run.status != "finished" or run.spec_name.endswith("-safety"):
            continue
        if any(c.label == label and c.status == "measured" for c in store.candidates(run.id)):
            return run.id
    return None


def _resolve_run(store: Store, given: str) -> str:
    matches = [r.id for r in store.list_runs(500) if r.id.startswith(given)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise RegressError(f"no run {given!r} in the store (`llmpick runs list` shows them)")
    raise RegressError(f"{given!r} names several runs: {', '.join(matches[:5])}; give more of it")


def _with_endpoint(spec: Spec, label: str, url: str | None) -> Spec:
    """The spec with candidate `label` pointed at `url` (its deployment), when one is given."""
    found = next((c for c in spec.candidates if c.label == label), None)
    if found is None:
        names = ", ".join(c.label for c in spec.candidates)
        raise RegressError(f"no candidate named {label!r}; the spec has: {names}")
    if url is None:
        return spec
    endpoint = (
        found.endpoint.model_copy(update={"base_url": url.rstrip("/")})
        if found.endpoint is not None
        else Endpoint(base_url=url, model=found.model or label)
    )
    changed = Candidate(
        name=label,
        endpoint=endpoint,
        catalog_id=found.catalog_id or found.model,
        template=found.template,
        system_prompt=found.system_prompt,
        few_shot=found.few_shot,
        prompt_mode=found.prompt_mode,
        max_concurrency=found.max_concurrency,
    )
    candidates = [changed if c.label == label else c for c in spec.candidates]
    return spec.model_copy(update={"candidates": candidates})


def regress(
    spec: LoadedSpec,
    store: Store,
    *,
    candidate: str,
    endpoint: str | None = None,
    baseline: str | None = None,
    progress: object | None = None,
) -> RegressionReport:
    """Re-evaluate `candidate` (at `endpoint` when given) and compare with `baseline` (a run id
    or prefix; default: the newest finished run in which it was measured)."""
    plain = spec.spec
    derived = _with_endpoint(plain, candidate, endpoint)
    base_id = _resolve_run(store, baseline) if baseline else baseline_run(store, candidate)
    if base_id is None:
        raise RegressError(
            f"no finished run measured {candidate!r} yet: evaluate it first to have a baseline "
            "(or name one with a baseline run id)"
        )
    options = RunOptions(use_cache=False, resume=False, only=[candidate])
    loaded = dataclasses.replace(spec, spec=derived)
    outcome = asyncio.run(run_async(loaded, store, options, progress=progress))  # type: ignore[arg-type]
    metric = plain.scoring.primary
    old = summarize_run(store, base_id)
    new = summarize_run(store, outcome.run_id)
    before, after = old.candidate(candidate), new.candidate(candidate)
    if not after.measured:
        raise RegressError(f"the new run measured nothing for {candidate}: {after.status_text}")
    settings = plain.regress
    quality, p, needed, flips, n = compare_scores(
        before.per_item.get(metric, {}),
        after.per_item.get(metric, {}),
        alpha=settings.alpha,
        max_drop=settings.max_quality_drop,
        detectable_drop=settings.detectable_drop,
        power=settings.power,
    )
    checks = [quality, _latency_check(plain, after.latency), _cost_check(settings, before, after)]
    old_metric, new_metric = before.metrics.get(metric), after.metrics.get(metric)
    return RegressionReport(
        candidate=candidate,
        baseline_run=base_id,
        new_run=outcome.run_id,
        metric=metric,
        n=n,
        baseline_mean=old_metric.mean if old_metric else None,
        new_mean=new_metric.mean if new_metric else None,
        p_value=p,
        items_needed=needed,
        checks=checks,
        flips=flips,
    )


def _latency_check(spec: Spec, latency: Mapping[str, object]) -> Check:
    slo = spec.needs.latency
    problems, seen = [], []
    for name, key, target in (
        ("p95 TTFT", "ttft_s", slo.ttft_p95_ms),
        ("p95 end-to-end", "e2e_s", slo.e2e_p95_ms),
    ):
        observed = getattr(latency.get(key), "p95", None)
        if target is None or observed is None:
            continue
        ms = float(observed) * 1000
        seen.append(f"{name} {ms:,.0f} ms (SLO {target:,.0f})")
        if ms > target:
            problems.append(f"{name} {ms:,.0f} ms over the {target:,.0f} ms SLO")
    if not seen:
        return Check("latency", "skipped", "the spec sets no latency SLO")
    if problems:
        return Check("latency", "fail", "; ".join(problems))
    return Check("latency", "pass", "; ".join(seen))


def _cost_check(settings: object, before: object, after: object) -> Check:
    bound = getattr(settings, "max_cost_increase", None)
    old = getattr(getattr(before, "cost", None), "per_item_usd", None)
    new = getattr(getattr(after, "cost", None), "per_item_usd", None)
    if bound is None:
        return Check("cost", "skipped", "no cost bound in the spec")
    if old is None or new is None or old <= 0:
        return Check("cost", "skipped", "cost per item is not priced for both runs")
    rise = new / old - 1
    text = f"${old:.6f} -> ${new:.6f} per item ({rise:+.1%})"
    if rise > bound:
        return Check("cost", "fail", f"cost per item rose past {bound:.0%}: {text}")
    return Check("cost", "pass", text)
