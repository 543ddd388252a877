"""A finished evaluation run written straight into a real store, for tests and benchmarks of
what comes after the evaluation (evidence, decision, report): the same records the runner writes,
without calling any model.

    with open_store(path) as store:
        run_id = store_run(store, "run-1", answers={"gpt": {"t1": StoredAnswer("billing", 1.0)}},
                           items=[ItemRecord("t1", 0, "Charged twice", "billing", "billing")])
        evidence, items, _ = evidence_from_run(store, run_id)
    decision = decide_from_evidence(spec, check_spec(spec), evidence, items, run_id=run_id)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from llmpick.store import (
    CandidateRecord,
    ItemRecord,
    ResponseRecord,
    ResultRecord,
    RunRecord,
    ScoreRecord,
    Store,
)

__all__ = ["StoredAnswer", "store_run"]


@dataclass(frozen=True)
class StoredAnswer:
    """One candidate's answer to one item as the runner would have stored it."""

    text: str | None
    score: float | None
    ttft_s: float = 0.2
    e2e_s: float | None = None
    error: str | None = None
    input_tokens: int = 300
    output_tokens: int = 3


def store_run(
    store: Store,
    run_id: str,
    *,
    items: Sequence[ItemRecord],
    answers: Mapping[str, Mapping[str, StoredAnswer]],
    not_measured: Mapping[str, str] | None = None,
    metric: str = "accuracy",
    spec_name: str = "stored",
    created_at: str = "2026-11-28T00:00:00Z",
) -> str:
    """Write a finished run: `answers` by candidate label then item id; `not_measured` maps the
    labels of candidates that could not be called to the reason. Returns `run_id`."""
    store.create_run(
        RunRecord(
            run_id,
            created_at,
            "running",
            spec_name,
            f"stored:{run_id}",
            metric,
            config={"metrics": [metric]},
        ),
        list(items),
    )
    labels = [*answers, *(not_measured or {})]
    store.save_candidates(
        run_id,
        [
            CandidateRecord(label, n, "measured")
            if label in answers
            else CandidateRecord(label, n, "not_measured", reason=(not_measured or {})[label])
            for n, label in enumerate(labels)
        ],
    )
    for label, by_item in answers.items():
        batch = []
        for item_id, answer in by_item.items():
            response = ResponseRecord(
                label,
                item_id,
                0,
                answer.text,
                "stop" if answer.error is None else None,
                answer.input_tokens,
                answer.output_tokens,
                None,
                "server",
                ttft_s=answer.ttft_s,
                e2e_s=answer.e2e_s if answer.e2e_s is not None else answer.ttft_s + 0.05,
                tpot_s=0.02,
                output_tokens_per_s=50.0,
                error_type="ServerError" if answer.error else None,
                error=answer.error,
            )
            passed = None if answer.score is None else answer.score >= 1.0
            score = ScoreRecord(label, item_id, 0, metric, answer.score, passed)
            batch.append(ResultRecord(response, [score]))
        store.save_results(run_id, batch)
    store.set_run_status(run_id, "finished")
    return run_id
