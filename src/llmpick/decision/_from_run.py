"""Read a stored evaluation run as decision `Evidence`, one per candidate."""

from __future__ import annotations

from llmpick.decision._evidence import (
    DatasetItem,
    Evidence,
    ItemResponse,
    LatencyEvidence,
    QualityEvidence,
)
from llmpick.evaluation import RunSummary, summarize_run
from llmpick.store import Store


def evidence_from_run(
    store: Store, run_id: str, ids_by_label: dict[str, str]
) -> tuple[dict[str, Evidence], list[DatasetItem], RunSummary]:
    """Evidence keyed by candidate id (`ids_by_label` maps the run's labels to ids)."""
    summary = summarize_run(store, run_id)
    metric = summary.primary_metric
    items = [DatasetItem(i.item_id, i.input, i.expected, i.category) for i in store.items(run_id)]
    evidence: dict[str, Evidence] = {}
    for cand in summary.candidates:
        cid = ids_by_label.get(cand.label, cand.label)
        if not cand.measured:
            evidence[cid] = Evidence(cid, False, cand.status_text, run_id=run_id)
            continue
        scores = cand.per_item.get(metric, {})  # mean over repeats, per item
        ttft, e2e, tpot, tps = [], [], [], []
        responses: dict[str, ItemResponse] = {}
        for r in store.responses(run_id, cand.label):
            if r.error is None:
                if r.ttft_s is not None:
                    ttft.append(r.ttft_s * 1000)
                if r.e2e_s is not None:
                    e2e.append(r.e2e_s * 1000)
                if r.tpot_s is not None:
                    tpot.append(r.tpot_s * 1000)
                if r.output_tokens_per_s is not None:
                    tps.append(r.output_tokens_per_s)
            if r.repeat == 0:
                responses[r.item_id] = ItemResponse(
                    text=r.text or "",
                    score=scores.get(r.item_id),
                    ttft_ms=r.ttft_s * 1000 if r.ttft_s is not None else None,
                    error=f"{r.error_type}: {r.error}" if r.error else None,
                )
        summary_metric = cand.metrics.get(metric)
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
                ttft, e2e, tpot, tps, source=f"run {run_id}, {cand.provider or 'provider'}"
            ),
            responses=responses,
            run_id=run_id,
        )
    return evidence, items, summary
