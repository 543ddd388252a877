"""Decisions made by the real decision step over a stored run, for the report tests.

`make_decision()` writes a finished support-ticket triage run into a real SQLite store (API and
self-hosted candidates, one not measured, one excluded by the hardware rule; answers with
hostile payloads and rambling outputs), reads it back as evidence and decides, exactly as
`llmpick decide` does after its evaluation. Tests that need an odd decision edit its JSON form
and validate it back (`edited`), so every fixture has the shape the engine produces.
"""

from __future__ import annotations

import random
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from llmpick.constraints import check_spec
from llmpick.decision import Decision, decide_from_evidence, evidence_from_run
from llmpick.spec import Spec
from llmpick.store import ItemRecord, open_store
from llmpick.testing.stored_run import StoredAnswer, store_run

PAYLOAD_SCRIPT = "<script>window.__pwned=1</script>"
PAYLOAD_IMG = '<img src=x onerror="window.__pwned=1">'
PAYLOAD_ITEM_ID = "t-payload"
CATEGORIES = ("billing", "technical", "account", "shipping", "refund", "other")

_TICKETS = {
    "billing": "I was charged twice for my subscription this month, invoice #{n}. Please fix it.",
    "technical": "The app crashes when I upload a CSV larger than {n} MB. Error: <timeout>.",
    "account": "I can't log in after resetting my password; the link expired after {n} minutes.",
    "shipping": "Order {n} was marked delivered but nothing arrived & the tracking page is empty.",
    "refund": "Please refund order {n}; the item arrived broken and I'd like my money back.",
    "other": "Do you have a student discount? I'm asking for a class of {n} people.",
}


def _response_text(
    category: str, correct: bool, rng: random.Random, long_every: int, index: int
) -> str:
    if long_every and index % long_every == 0:
        # A rambling model: long output, to exercise truncation.
        return f"Ticket {index}. " + ("Let me think about this step by step. " * 140) + category
    if correct:
        return category
    return rng.choice([c for c in CATEGORIES if c != category])


# label (catalog id), skill, TTFT in seconds: best first.
MEASURED: list[tuple[str, float, float]] = [
    ("anthropic/claude-haiku-4-5", 0.9, 0.45),
    ("openai/gpt-4o-mini", 0.86, 0.42),
    ("meta/llama-3.1-8b-instruct", 0.79, 0.1),
    ("qwen/qwen2.5-7b-instruct", 0.81, 0.09),
    ("google/gemini-2.5-flash", 0.85, 0.38),
    ("mistral/mistral-small-3.1-24b-instruct-2503", 0.83, 0.14),
    ("microsoft/phi-4", 0.8, 0.15),
    ("local/smollm2-135m-instruct", 0.41, 0.03),
    ("google/gemma-3-27b-it", 0.84, 0.21),
    ("qwen/qwen2.5-14b-instruct", 0.82, 0.18),
]
NOT_MEASURED = "openai/gpt-4.1"
EXCLUDED = "meta/llama-3.3-70b-instruct"  # needs more than the one L4 on hand


def make_spec(labels: list[str]) -> Spec:
    return Spec.model_validate(
        {
            "name": "support-ticket-triage",
            "description": "Route incoming support tickets to one of six queues <fast & cheap>.",
            "needs": {
                "quality": {"metric": "accuracy", "min_value": 0.8},
                "latency": {"ttft_p95_ms": 1000},
                "budget": {"usd_per_month": 1000},
                "volume": {
                    "requests_per_day": 40000,
                    "mean_input_tokens": 350,
                    "mean_output_tokens": 5,
                },
            },
            "constraints": {
                "infrastructure": {
                    "hardware": ["1xL4"],
                    "may_rent_cloud_gpus": False,
                    "gpu_usd_per_hour": {"L4": 0.74},
                    "ops_hours_per_month": 2,
                },
            },
            "weights": {
                "quality": 0.4,
                "latency": 0.15,
                "cost": 0.25,
                "control": 0.1,
                "lock_in": 0.1,
            },
            "candidates": [*labels, NOT_MEASURED, EXCLUDED],
        }
    )


def make_decision(
    n_items: int = 120,
    n_candidates: int = 5,
    *,
    seed: int = 7,
    payload: bool = True,
    input_chars: int = 200,
    long_every: int = 37,
    draws: int = 200,
) -> Decision:
    """A decision from the real engine over a stored run; `payload` puts hostile HTML in the
    last item and its answers."""
    rng = random.Random(seed)
    chosen = MEASURED[:n_candidates]
    items = []
    for index in range(n_items):
        category = CATEGORIES[index % len(CATEGORIES)]
        text = _TICKETS[category].format(n=1000 + index)
        while len(text) < input_chars:
            text += " " + _TICKETS[category].format(n=index)
        items.append(ItemRecord(f"t{index:05d}", index, text, category, category))
    answers: dict[str, dict[str, StoredAnswer]] = {}
    for label, skill, ttft in chosen:
        answers[label] = {}
        for index, item in enumerate(items):
            correct = rng.random() < skill
            answers[label][item.item_id] = StoredAnswer(
                _response_text(item.category or "", correct, rng, long_every, index),
                1.0 if correct else 0.0,
                ttft_s=round(rng.lognormvariate(0, 0.3) * ttft, 4),
            )
    if payload and items:
        last = items[-1]
        hostile = ItemRecord(
            PAYLOAD_ITEM_ID,
            last.position,
            f"Ticket text {PAYLOAD_IMG} </script><script>window.__pwned=1</script>",
            last.expected,
            last.category,
        )
        items[-1] = hostile
        for n, (label, _, _) in enumerate(chosen):
            old = answers[label].pop(last.item_id)
            text = f"billing {PAYLOAD_SCRIPT}" if n == 0 else PAYLOAD_IMG
            error = "HTTP 500: <b>upstream</b> & failed" if n == 1 else None
            answers[label][PAYLOAD_ITEM_ID] = StoredAnswer(
                None if error else text, None if error else old.score, old.ttft_s, error=error
            )
    spec = make_spec([label for label, _, _ in chosen])
    with tempfile.TemporaryDirectory() as folder, open_store(Path(folder) / "run.sqlite") as store:
        run_id = store_run(
            store,
            "run-12",
            items=items,
            answers=answers,
            not_measured={NOT_MEASURED: "not measured (set OPENAI_API_KEY)"},
            spec_name=spec.name or "",
        )
        evidence, dataset_items, _ = evidence_from_run(store, run_id)
    return decide_from_evidence(
        spec,
        check_spec(spec),
        evidence,
        dataset_items,
        spec_text="name: support-ticket-triage\n",
        spec_path="examples/quickstart/llmpick.yaml",
        run_id=run_id,
        seed=seed,
        draws=draws,
    )


def edited(decision: Decision, change: Callable[[dict[str, Any]], None]) -> Decision:
    """The decision with its JSON form changed by `change`, validated back into a Decision."""
    data = decision.model_dump(mode="json")
    change(data)
    return Decision.model_validate(data)


@pytest.fixture(scope="session")
def _decision_once() -> Decision:
    return make_decision()


@pytest.fixture
def decision(_decision_once: Decision) -> Decision:
    return _decision_once


@pytest.fixture(scope="session")
def large_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """report.html for 10,000 items x 10 candidates with ~350-token inputs (written once)."""
    from llmpick.report import write_report

    decision = make_decision(10_000, 10, input_chars=1400, draws=100)
    return write_report(decision, tmp_path_factory.mktemp("large-report")).html


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    return tmp_path / "report"
