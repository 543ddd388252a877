"""Score shadow pairs as an evaluation run, so production traffic re-checks the decision.

Each stored pair (the route's answer and the challenger's, to one real request) becomes an item
of a run with two candidates; the evaluation scorers score both answers, and the run's summary
holds the paired comparison (McNemar for pass/fail metrics, a paired bootstrap otherwise). The
run lives in the store like any other: `llmpick runs show RUN` and `runs compare` read it.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from llmpick._errors import LlmpickError

__all__ = ["ShadowReport", "ShadowScorer", "score_shadow_pairs"]


@dataclass(frozen=True)
class ShadowScorer:
    """A scorer from the evaluation registry: its type, metric name and options."""

    kind: str
    name: str | None = None
    options: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class ShadowReport:
    run_id: str
    pairs: int
    challenger_errors: int
    summary: Any  # llmpick.evaluation.RunSummary


class ShadowError(LlmpickError):
    """There is nothing to score, or the scorers cannot be built."""


def score_shadow_pairs(
    db_path: str | Path,
    scorers: Sequence[ShadowScorer],
    *,
    route: str | None = None,
    reference: Literal["none", "primary"] = "none",
    limit: int = 10_000,
) -> ShadowReport:
    """Score the newest `limit` shadow pairs (of `route`, or all) and store them as a run.

    `reference="primary"` gives every item the route's own answer as the expected answer, so
    reference scorers (exact, token_f1, ...) measure how often the challenger agrees with it.
    """
    from llmpick.evaluation import Item, Sample, build_scorer, summarize_run
    from llmpick.store import (
        CandidateRecord,
        ItemRecord,
        ResponseRecord,
        ResultRecord,
        RunRecord,
        ScoreRecord,
        open_store,
    )

    if not scorers:
        raise ShadowError("give at least one scorer (e.g. json_valid, exact with reference)")
    built = [build_scorer(s.kind, s.name, s.options) for s in scorers]
    for scorer in built:
        if scorer.is_async:
            raise ShadowError(
                f"scorer {scorer.metric!r} calls a model; shadow reports take the offline "
                "scorers (exact, contains, regex, json_valid, json_schema, token_f1, ...)"
            )
    store = open_store(db_path)
    try:
        db = sqlite3.connect(str(db_path), timeout=30.0)
        try:
            sql = (
                "SELECT id, route, primary_backend, challenger, prompt_json, primary_text, "
                "challenger_text, primary_latency_s, challenger_latency_s, challenger_error, "
                "primary_output_tokens, challenger_output_tokens, primary_cost_usd, "
                "challenger_cost_usd FROM gateway_shadow"
            )
            args: tuple[Any, ...] = ()
            if route is not None:
                sql += " WHERE route = ?"
                args = (route,)
            rows = db.execute(sql + " ORDER BY created_at DESC LIMIT ?", (*args, limit)).fetchall()
        finally:
            db.close()
        if not rows:
            where = f" for route {route!r}" if route else ""
            raise ShadowError(f"no shadow pairs stored{where}; set `shadow:` on a route first")
        primary_label = "primary:" + rows[0][2]
        challenger_label = "challenger:" + rows[0][3]
        run_id = "shadow-" + uuid.uuid4().hex[:12]
        metrics = [s.metric for s in built]
        now = datetime.now(UTC).isoformat(timespec="seconds")
        store.create_run(
            RunRecord(
                id=run_id,
                created_at=now,
                status="running",
                spec_name=f"gateway shadow ({route or 'all routes'})",
                fingerprint=run_id,
                primary_metric=metrics[0],
                config={"metrics": metrics, "source": "gateway_shadow", "reference": reference},
            )
        )
        store.save_candidates(
            run_id,
            [
                CandidateRecord(primary_label, 0, "measured", provider="gateway", model=rows[0][2]),
                CandidateRecord(
                    challenger_label, 1, "measured", provider="gateway", model=rows[0][3]
                ),
            ],
        )
        items = []
        results = []
        errors = 0
        for position, row in enumerate(rows):
            pair_id, _, _, _, prompt_json, primary_text, challenger_text = row[:7]
            prompt = _prompt_text(json.loads(prompt_json))
            expected = primary_text if reference == "primary" else None
            items.append(ItemRecord(pair_id, position, prompt, expected))
            item = Item(pair_id, prompt, expected, None, {}, position)
            for label, text, latency, error, tokens, cost in (
                (primary_label, primary_text, row[7], None, row[10], row[12]),
                (challenger_label, challenger_text, row[8], row[9], row[11], row[13]),
            ):
                if error is not None or text is None:
                    errors += int(label == challenger_label)
                    response = ResponseRecord(
                        label, pair_id, 0, None, error_type="BackendError", error=error or "none"
                    )
                    results.append(ResultRecord(response, []))
                    continue
                scores = []
                for scorer in built:
                    score = scorer.score(Sample(item, text, label))
                    scores.append(
                        ScoreRecord(
                            label,
                            pair_id,
                            0,
                            scorer.metric,
                            score.value,
                            score.passed,
                            score.detail,
                        )
                    )
                response = ResponseRecord(
                    label, pair_id, 0, text, e2e_s=latency, output_tokens=tokens, cost_usd=cost
                )
                results.append(ResultRecord(response, scores))
        store.save_items(run_id, items)
        store.save_results(run_id, results)
        store.set_run_status(run_id, "finished")
        summary = summarize_run(store, run_id)
    finally:
        store.close()
    return ShadowReport(run_id, len(rows), errors, summary)


def _prompt_text(prompt: Any) -> str:
    if isinstance(prompt, str):
        return prompt
    if isinstance(prompt, list):
        parts = []
        for m in prompt:
            if isinstance(m, dict):
                content = m.get("content")
                if isinstance(content, list):
                    content = "".join(
                        str(p.get("text", "")) for p in content if isinstance(p, dict)
                    )
                parts.append(f"{m.get('role', 'user')}: {content}")
        return "\n".join(parts)
    return json.dumps(prompt)
