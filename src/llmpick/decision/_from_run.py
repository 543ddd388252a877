"""Read a stored evaluation run as decision `Evidence`, one per candidate."""

from __future__ import annotations

from llmpick.decision._evidence import (
    DatasetItem,
    Evidence,
    ItemResponse,
    LatencyEvidence,
    QualityEvidence,
)
from llmpick.evaluation import RunSummary, measured_under_queue, summarize_run
from llmpick.store import Store


def evidence_from_run(
    store: Store, run_id: str
) -> tuple[dict[str, Evidence], list[DatasetItem], RunSummary]:
    """Evidence keyed by candidate label, as the run stores it (labels are unique in a spec,
    so two quantizations of one model stay two candidates)."""
    summary = summarize_run(store, run_id, keep_responses=True)
    metric = summary.primary_metric
    items = [DatasetItem(i.item_id, i.input, i.expected, i.category) for i in store.items(run_id)]
    evidence: dict[str, Evidence] = {}
    configs = {c.label: c.config for c in store.candidates(run_id)}
    for cand in summary.candidates:
        cid = cand.label
        if not cand.measured:
            evidence[cid] = Evidence(cid, False, cand.status_text, run_id=run_id)
            continue
        scores = cand.per_item.get(metric, {})  # mean over repeats, per item
        samples = cand.latency_samples
        responses = {
            item: ItemResponse(
                text=text,
                score=scores.get(item),
                ttft_ms=ttft * 1000 if ttft is not None else None,
                error=error,
            )
            for item, (text, ttft, error) in cand.item_responses.items()
        }
        summary_metric = cand.metrics.get(metric)
        ttft_p50 = cand.latency.get("ttft_s")
        p50_ms = ttft_p50.p50 * 1000 if ttft_p50 and ttft_p50.p50 is not None else None
        probe = configs.get(cid, {}).get("latency_concurrency")
        queued = measured_under_queue(probe, p50_ms)
        where = (
            f" at concurrency {probe.get('concurrency')}"
            if isinstance(probe, dict) and probe.get("concurrency")
            else ""
        )
        evidence[cid] = Evidence(
            cid,
            True,
            quality=QualityEvidence(
                metric,
                scores,
                ci_low=summary_metric.ci_low if summary_metric else None,
                ci_high=summary_metric.ci_high if summary_metric else None,
                source=f"run {run_id}: {len(scores)} items, "
                f"{summary_metric.method if summary_metric else 'no'} interval",
            ),
            latency=LatencyEvidence(
                [v * 1000 for v in samples.get("ttft_s", [])],
                [v * 1000 for v in samples.get("e2e_s", [])],
                [v * 1000 for v in samples.get("tpot_s", [])],
                list(samples.get("speed", [])),
                source=f"run {run_id}, {cand.provider or 'provider'}{where}"
                + (", measured under a queue" if queued else ""),
                under_queue=queued,
            ),
            responses=responses,
            run_id=run_id,
        )
    return evidence, items, summary
