"""Decide + report over a stored run of 10,000 items x 10 candidates: time and HTML size.

Builds a synthetic finished run in a temporary SQLite store (10 catalog candidates, open and
closed, each with a response and a score per item), then times what `llmpick decide` does after
the evaluation: the constraint check, reading the run back as evidence (with its statistics),
the decision (costs, Pareto, sensitivity, Monte Carlo confidence) and the report.

    .venv/bin/python benchmarks/bench_decide.py                # --items 10000

Pass criteria printed at the end: under 5 s in all, report.html under 10 MB.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

from llmpick.constraints import check_spec
from llmpick.decision import decide_from_evidence, evidence_from_run
from llmpick.report import write_report
from llmpick.spec import Spec
from llmpick.store import ItemRecord, open_store
from llmpick.testing.stored_run import StoredAnswer, store_run

CANDIDATES = [
    "local/smollm2-135m-instruct",
    "local/gemma-3-270m",
    "meta/llama-3.1-8b-instruct",
    "qwen/qwen2.5-7b-instruct",
    "mistral/mistral-7b-instruct-v0.3",
    "openai/gpt-6-luna",
    "openai/gpt-4o-mini",
    "anthropic/claude-haiku-5-5",
    "google/gemini-2.5-flash-lite",
    "amazon/nova-lite",
]
LABELS = ["billing", "technical", "account", "shipping", "other"]


def _spec() -> Spec:
    return Spec.model_validate(
        {
            "name": "bench",
            "candidates": CANDIDATES,
            "constraints": {"infrastructure": {"hardware": ["1xL4", "cpu:32GB"]}},
            "scoring": {"scorers": [{"type": "choice", "name": "accuracy", "choices": LABELS}]},
        }
    )


def _fill_store(db: Path, items: int) -> str:
    rng = random.Random(0)
    records = [
        ItemRecord(
            f"t{n:05d}", n, f"Ticket {n}: my invoice and my parcel, please help.", LABELS[n % 5],
            LABELS[n % 5],
        )
        for n in range(items)
    ]  # fmt: skip
    answers: dict[str, dict[str, StoredAnswer]] = {}
    for k, cand in enumerate(CANDIDATES):
        skill = 0.3 + 0.06 * k
        answers[cand] = {}
        for record in records:
            correct = rng.random() < skill
            text = record.expected if correct else rng.choice(LABELS)
            ttft = rng.lognormvariate(-1.5 + 0.1 * k, 0.3)
            answers[cand][record.item_id] = StoredAnswer(text, float(correct), ttft_s=ttft)
    with open_store(db) as store:
        return store_run(store, "bench-run", items=records, answers=answers, spec_name="bench")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.sqlite"
        print(f"Building a stored run: {args.items:,} items x {len(CANDIDATES)} candidates ...")
        run_id = _fill_store(db, args.items)
        spec = _spec()
        began = time.perf_counter()
        check = check_spec(spec)
        t_check = time.perf_counter()
        with open_store(db) as store:
            evidence, items, _ = evidence_from_run(store, run_id)
        t_read = time.perf_counter()
        decision = decide_from_evidence(spec, check, evidence, items, run_id=run_id)
        t_decide = time.perf_counter()
        files = write_report(decision, Path(tmp) / "report")
        t_report = time.perf_counter()
        size_mb = files.html.stat().st_size / 1e6
        total = t_report - began
        print(f"  check           {t_check - began:6.2f} s")
        print(f"  read run        {t_read - t_check:6.2f} s  (evidence + statistics)")
        print(f"  decide          {t_decide - t_read:6.2f} s")
        print(f"  write report    {t_report - t_decide:6.2f} s")
        print(
            f"  total           {total:6.2f} s   (target < 5 s)  {'PASS' if total < 5 else 'FAIL'}"
        )
        print(
            f"  report.html     {size_mb:6.2f} MB  (target < 10 MB) "
            f"{'PASS' if size_mb < 10 else 'FAIL'}"
        )


if __name__ == "__main__":
    main()
