"""Decision dicts shaped like the decision engine's output, for the report tests and benchmark.

`make_decision()` builds a realistic support-ticket triage decision: API and self-hosted
candidates (one excluded by licence), measured and catalog figures, a break-even curve,
latency samples, per-category scores and items whose responses include hostile payloads.
"""

from __future__ import annotations

import itertools
import math
import random
from pathlib import Path
from typing import Any

import pytest

PAYLOAD_SCRIPT = "<script>window.__pwned=1</script>"
PAYLOAD_IMG = '<img src=x onerror="window.__pwned=1">'
PAYLOAD_ITEM_ID = "t-payload"
CATEGORIES = ("billing", "technical", "account", "shipping", "refund", "other")

_FIELDS = ("id", "name", "vendor", "deployment", "open_weights", "q", "cost", "ttft", "measured")
_API, _SELF = "api", "self-hosted"
_CANDIDATES: list[dict[str, Any]] = [
    dict(zip(_FIELDS, row, strict=True))
    for row in (
        # id, name, vendor, deployment, open weights, quality, $/month, TTFT p50 ms, measured
        ("openai/gpt-4o-mini", "GPT-4o mini", "OpenAI", _API, False, 0.86, 118.0, 420.0, True),
        ("anthropic/claude-haiku-4-5", "Claude Haiku 4.5", "Anthropic", _API, False, 0.88, 610.0,
         520.0, False),
        ("meta/llama-3.1-8b-instruct", "Llama 3.1 8B Instruct", "Meta", _SELF, True, 0.79, 540.0,
         95.0, True),
        ("qwen/qwen2.5-7b-instruct", "Qwen2.5 7B Instruct", "Qwen", _SELF, True, 0.81, 540.0,
         90.0, True),
        ("google/gemini-2.5-flash", "Gemini 2.5 Flash", "Google", _API, False, 0.87, 260.0,
         380.0, True),
        ("mistral/mistral-small-3.1", "Mistral Small 3.1", "Mistral", _SELF, True, 0.83, 1080.0,
         140.0, True),
        ("microsoft/phi-4", "Phi-4", "Microsoft", _SELF, True, 0.8, 1080.0, 150.0, True),
        ("local/smollm2-360m", "SmolLM2 360M", "Hugging Face", _SELF, True, 0.41, 35.0, 30.0, True),
        ("openai/gpt-4.1", "GPT-4.1", "OpenAI", _API, False, 0.9, 1900.0, 610.0, False),
        ("google/gemma-3-27b-it", "Gemma 3 27B", "Google", _SELF, True, 0.84, 2150.0, 210.0, True),
        ("meta/llama-3.3-70b-instruct", "Llama 3.3 70B Instruct", "Meta", _SELF, True, 0.87,
         4300.0, 260.0, False),
    )
]  # fmt: skip
_EXCLUDED = _CANDIDATES.pop()
_LICENCE = "Llama 3.3 Community Licence is not on the allowed list."
_CARD = "MMLU from https://example.org/model-card (2026-11-28)"

_TICKETS = {
    "billing": "I was charged twice for my subscription this month, invoice #{n}. Please fix it.",
    "technical": "The app crashes when I upload a CSV larger than {n} MB. Error: <timeout>.",
    "account": "I can't log in after resetting my password; the link expired after {n} minutes.",
    "shipping": "Order {n} was marked delivered but nothing arrived & the tracking page is empty.",
    "refund": "Please refund order {n}; the item arrived broken and I'd like my money back.",
    "other": "Do you have a student discount? I'm asking for a class of {n} people.",
}


def _candidate(spec: dict[str, Any], rng: random.Random, eligible: bool = True) -> dict[str, Any]:
    measured = spec["measured"]
    half_width = 0.09 if measured else 0.0
    ttft_samples = [round(rng.lognormvariate(0, 0.35) * spec["ttft"], 1) for _ in range(60)]
    e2e_samples = [round(t + rng.lognormvariate(0, 0.3) * 80, 1) for t in ttft_samples]
    cost = spec["cost"]
    is_open = spec["open_weights"]
    return {
        "id": spec["id"],
        "label": f"{spec['name']} ({spec['deployment']})",
        "name": spec["name"],
        "vendor": spec["vendor"],
        "deployment": spec["deployment"],
        "open_weights": is_open,
        "eligible": eligible,
        "exclusions": []
        if eligible
        else [
            {"rule": "licence", "message": _LICENCE},
            {"rule": "hardware", "message": "needs 2×H100 80GB; the spec allows 1×L4."},
        ],
        "warnings": [{"rule": "lifecycle", "message": "Deprecation announced for 2027-03-01."}]
        if spec["id"] == "openai/gpt-4.1"
        else [],
        "measured": measured,
        "not_measured_reason": None if measured else "not measured (set the vendor's API key)",
        "quality": {
            "metric": "accuracy",
            "mean": spec["q"],
            "ci_low": round(spec["q"] - half_width, 3) if measured else None,
            "ci_high": round(min(spec["q"] + half_width, 1.0), 3) if measured else None,
            "n": 60 if measured else None,
            "provenance": "measured" if measured else "catalog",
            "source": "run 12" if measured else _CARD,
        },
        "per_category": {
            category: {"mean": round(min(max(spec["q"] + rng.uniform(-0.15, 0.1), 0), 1), 2),
                       "n": 10}
            for category in CATEGORIES
        }
        if measured
        else {},
        "latency": {
            "ttft_p50_ms": spec["ttft"],
            "ttft_p95_ms": round(spec["ttft"] * 1.9, 1),
            "e2e_p50_ms": round(spec["ttft"] + 80, 1),
            "e2e_p95_ms": round(spec["ttft"] * 1.9 + 160, 1),
            "tpot_ms": 12.0,
            "output_tokens_per_s": 83.0,
            "provenance": "measured" if measured else "estimate",
            "source": "bench run 12, 8 concurrent" if measured else "vendor median, catalog",
            "ttft_samples_ms": ttft_samples if measured else [],
            "e2e_samples_ms": e2e_samples if measured else [],
        },
        "cost": {
            "usd_per_month": cost,
            "usd_per_1k_requests": round(cost / 1200, 4),
            "usd_per_correct_answer": round(cost / 1200 / 1000 / spec["q"], 6),
            "provenance": "estimate" if is_open else "catalog",
            "source": "GPU list price × hours" if is_open else "https://example.org/pricing",
            "as_of": "2026-11-28",
            "breakdown": {
                "input": None if is_open else round(cost * 0.8, 2),
                "cached_input": None if is_open else 0.0,
                "output": None if is_open else round(cost * 0.2, 2),
                "gpu": cost if is_open else None,
                "operations": 0.0 if is_open else None,
                "hardware": "1xL4" if is_open else None,
                "replicas": 1 if is_open else None,
            },
            "assumptions": ["730 hours per month", "no prompt caching"] if not is_open else
            ["1×L4 at $0.74/h, 24/7", "throughput at p95 TTFT ≤ 1 s: 12 req/s"],
        },
        "criteria": {"quality": spec["q"], "latency": 0.6, "cost": 0.7,
                     "control": 0.9 if is_open else 0.2, "lock_in": 0.9 if is_open else 0.3},
        "score": round(spec["q"] * 0.7 + 0.2, 3),
        "meets_needs": {"quality": spec["q"] >= 0.8, "latency": True,
                        "budget": cost <= 1000 or None},
        "pareto": False,  # set by make_decision once all candidates are known
        "p_best": None,
        "rank": None,
    }  # fmt: skip


def _response_text(
    category: str, correct: bool, rng: random.Random, long_every: int, index: int
) -> str:
    if long_every and index % long_every == 0:
        # A rambling model: long output, to exercise truncation.
        return f"Ticket {index}. " + ("Let me think about this step by step. " * 140) + category
    if correct:
        return category
    return rng.choice([c for c in CATEGORIES if c != category])


def _crossing(curve: list[dict[str, float]]) -> float | None:
    """Where the open line first drops to the closed one (log-log interpolation), if it does."""
    for before, after in itertools.pairwise(curve):
        gap_before = math.log(before["open_usd_per_month"] / before["closed_usd_per_month"])
        gap_after = math.log(after["open_usd_per_month"] / after["closed_usd_per_month"])
        if gap_before > 0 >= gap_after:
            t = gap_before / (gap_before - gap_after)
            low, high = math.log(before["requests_per_day"]), math.log(after["requests_per_day"])
            return round(math.exp(low + t * (high - low)), 1)
    return None


def make_decision(
    n_items: int = 120,
    n_candidates: int = 5,
    *,
    seed: int = 7,
    payload: bool = True,
    input_chars: int = 200,
    long_every: int = 37,
) -> dict[str, Any]:
    """A decision dict like the engine's; `payload` puts hostile HTML in the last item."""
    rng = random.Random(seed)
    chosen = [_candidate(spec, rng) for spec in _CANDIDATES[:n_candidates]]
    chosen.sort(key=lambda c: -c["score"])
    for rank, candidate in enumerate(chosen, start=1):
        candidate["rank"] = rank
        candidate["p_best"] = round(0.64 / rank, 3)
    excluded = _candidate(_EXCLUDED, rng, eligible=False)
    items = []
    for index in range(n_items):
        category = CATEGORIES[index % len(CATEGORIES)]
        text = _TICKETS[category].format(n=1000 + index)
        while len(text) < input_chars:
            text += " " + _TICKETS[category].format(n=index)
        responses = {}
        for candidate in chosen:
            correct = rng.random() < candidate["quality"]["mean"]
            response = _response_text(category, correct, rng, long_every, index)
            responses[candidate["id"]] = {
                "text": response,
                "score": 1.0 if correct else 0.0,
                "ttft_ms": round(
                    rng.lognormvariate(0, 0.3) * candidate["latency"]["ttft_p50_ms"], 1
                ),
                "error": None,
            }
        items.append(
            {
                "item_id": f"t{index:05d}",
                "input": text,
                "expected": category,
                "category": category,
                "responses": responses,
            }
        )
    if payload and items:
        hostile = items[-1]
        hostile["item_id"] = PAYLOAD_ITEM_ID
        hostile["input"] = f"Ticket text {PAYLOAD_IMG} </script><script>window.__pwned=1</script>"
        first, *rest = chosen
        hostile["responses"][first["id"]]["text"] = f"billing {PAYLOAD_SCRIPT}"
        for candidate in rest:
            hostile["responses"][candidate["id"]]["text"] = PAYLOAD_IMG
        if len(chosen) > 1:
            hostile["responses"][chosen[1]["id"]]["error"] = "HTTP 500: <b>upstream</b> & failed"
    best_open = next((c for c in chosen if c["open_weights"]), None)
    best_closed = next((c for c in chosen if not c["open_weights"]), None)
    curve = []
    volume = 1000.0
    while volume <= 2_000_000:
        closed = volume / 40000 * (best_closed["cost"]["usd_per_month"] if best_closed else 118.0)
        replicas = max(1, -(-volume // 150_000))
        open_cost = replicas * (best_open["cost"]["usd_per_month"] if best_open else 540.0)
        curve.append({"requests_per_day": volume, "open_usd_per_month": open_cost,
                      "closed_usd_per_month": round(closed, 2)})  # fmt: skip
        volume *= 1.5
    crossing = _crossing(curve)
    for candidate in chosen:
        cost, quality = candidate["cost"]["usd_per_month"], candidate["quality"]["mean"]
        candidate["pareto"] = not any(
            (o["cost"]["usd_per_month"], -o["quality"]["mean"]) < (cost, -quality)
            and o["quality"]["mean"] >= quality
            for o in chosen
        )
    winner = chosen[0]
    return {
        "llmpick_version": "0.1.0",
        "spec_hash": "sha256:" + "ab12" * 16,
        "spec_path": "examples/quickstart/llmpick.yaml",
        "generated_at": "2026-11-28T17:00:00Z",
        "run_id": "run-12",
        "name": "support-ticket-triage",
        "description": "Route incoming support tickets to one of six queues <fast & cheap>.",
        "needs": {
            "task": "classification",
            "quality": {"metric": "accuracy", "min": 0.8},
            "latency": {"ttft_p95_ms": 1000},
            "budget": {"usd_per_month": 1000},
            "languages": ["en", "de"],
        },
        "constraints": {
            "licences": ["apache-2.0", "mit", "proprietary-api"],
            "data_residency": "EU",
            "hardware": {"gpus": ["L4"], "max_gpus": 1},
        },
        "weights": {"quality": 0.4, "latency": 0.15, "cost": 0.25, "control": 0.1, "lock_in": 0.1},
        "volume": {"requests_per_day": 40000, "mean_input_tokens": 350, "mean_output_tokens": 5},
        "recommendation": {
            "id": winner["id"],
            "label": winner["name"],
            "reasons": [
                "Highest weighted score (quality 0.4, cost 0.25).",
                "Meets the accuracy need of 0.8 on your data.",
            ],
            "runner_up": chosen[1]["id"] if len(chosen) > 1 else None,
            "best_open": best_open["id"] if best_open else None,
            "best_closed": best_closed["id"] if best_closed else None,
            "what_would_change": ["Above ~150k requests/day self-hosting becomes cheaper."],
            "confidence": 0.83,
        },
        "candidates": [*chosen, excluded],
        "break_even": {
            "open_id": best_open["id"] if best_open else None,
            "closed_id": best_closed["id"] if best_closed else None,
            "requests_per_day": crossing,
            "note": "Self-hosting includes one always-on replica; ops time not priced.",
            "curve": curve,
        },
        "sensitivity": {
            "volume_flip_requests_per_day": crossing,
            "volume_flip_note": "the best open model takes over",
            "volume_flip_winner": best_open["id"] if best_open else None,
            "weight_changes": [{"weight": "cost", "delta": 0.12, "new_winner": chosen[-1]["id"]}],
        },
        "provenance_legend": {
            "measured": "measured by llmpick on your dataset/endpoint in this run",
            "catalog": "from the bundled catalog (source and date given)",
            "estimate": "computed from catalog facts and stated assumptions",
            "assumed": "a default assumption you can override in the spec",
        },
        "items": items,
    }


@pytest.fixture
def decision() -> dict[str, Any]:
    return make_decision()


@pytest.fixture(scope="session")
def large_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """report.html for 10,000 items × 10 candidates with ~350-token inputs (written once)."""
    from llmpick.report import write_report

    decision = make_decision(10_000, 10, input_chars=1400)
    return write_report(decision, tmp_path_factory.mktemp("large-report")).html


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    return tmp_path / "report"
