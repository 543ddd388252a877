from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from llmpick.evaluation import RunOptions, evaluate, run_async, summarize_run
from llmpick.spec import load_spec
from llmpick.store import open_store

from .conftest import QUEUES, ScriptedServer, last_user_text, write_spec


def _endpoint(server: ScriptedServer, name: str = "scripted", concurrency: int = 4) -> str:
    return (
        f"  - name: {name}\n"
        f"    endpoint: {{base_url: '{server.base_url}', model: m}}\n"
        f"    max_concurrency: {concurrency}\n"
    )


def _expected_accuracy(n: int) -> float:
    # The oracle is right when the ticket names its queue (every third) or the queue is "other".
    return sum(1 for i in range(n) if i % 3 == 0 or QUEUES[i % 5] == "other") / n


def test_quality_latency_and_unmeasured_candidates(
    tmp_path: Path, scripted_server: ScriptedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    spec = write_spec(tmp_path, _endpoint(scripted_server) + "  - openai/gpt-4o-mini\n")
    with open_store(tmp_path / "db.sqlite") as store:
        outcome = evaluate(load_spec(spec), store)
        summary = summarize_run(store, outcome.run_id)
    assert outcome.calls_made == 20 and scripted_server.total == 20
    measured = summary.candidate("scripted")
    accuracy = measured.metrics["accuracy"]
    assert accuracy.mean == pytest.approx(_expected_accuracy(20))
    assert accuracy.method == "wilson" and accuracy.ci_low < accuracy.mean < accuracy.ci_high
    assert set(accuracy.by_category) == set(QUEUES)
    assert measured.latency["e2e_s"].n == 20 and measured.latency["ttft_s"].p95 is not None
    assert measured.mean_output_tokens == 2
    assert measured.cost is not None and not measured.cost.priced  # an endpoint: no list price
    closed = summary.candidate("openai/gpt-4o-mini")
    assert closed.status == "not_measured"
    assert closed.reason == "not measured (set OPENAI_API_KEY)"
    assert not closed.metrics  # never invented numbers


def test_cached_rerun_makes_no_calls_and_no_cache_does(
    tmp_path: Path, scripted_server: ScriptedServer
) -> None:
    spec = load_spec(write_spec(tmp_path, _endpoint(scripted_server)))
    with open_store(tmp_path / "db.sqlite") as store:
        first = evaluate(spec, store)
        again = evaluate(spec, store, RunOptions(resume=False))
        assert scripted_server.total == 20 and again.calls_made == 0 and again.cached == 20
        assert again.run_id != first.run_id
        a = summarize_run(store, first.run_id).candidate("scripted").per_item
        b = summarize_run(store, again.run_id).candidate("scripted")
        assert b.per_item == a and b.from_cache == 20
        uncached = evaluate(spec, store, RunOptions(resume=False, use_cache=False, limit=5))
        assert uncached.calls_made == 5 and scripted_server.total == 25


def test_repeat_sample_and_limit(tmp_path: Path, scripted_server: ScriptedServer) -> None:
    spec = load_spec(write_spec(tmp_path, _endpoint(scripted_server)))
    with open_store(tmp_path / "db.sqlite") as store:
        outcome = evaluate(spec, store, RunOptions(sample=6, seed=1, repeat=3))
        summary = summarize_run(store, outcome.run_id)
    assert outcome.items == 6 and outcome.calls_made == 18  # each repeat is its own sample
    accuracy = summary.candidate("scripted").metrics["accuracy"]
    assert len(accuracy.repeat_means) == 3 and accuracy.repeat_std == 0.0


def test_paired_comparison_between_candidates(
    tmp_path: Path, scripted_server: ScriptedServer
) -> None:
    def answer(body: dict[str, Any]) -> str:
        # Model "bad" always says billing; the other is the oracle.
        if body["model"] == "bad":
            return "billing"
        text = last_user_text(body).lower()
        return next((q for q in QUEUES if q in text), "other")

    scripted_server.answer = answer
    candidates = _endpoint(scripted_server) + (
        f"  - name: bad\n    endpoint: {{base_url: '{scripted_server.base_url}', model: bad}}\n"
    )
    spec = load_spec(write_spec(tmp_path, candidates, n=40))
    with open_store(tmp_path / "db.sqlite") as store:
        summary = summarize_run(store, evaluate(spec, store).run_id)
    [pair] = [p for p in summary.comparisons if p.metric == "accuracy"]
    assert (pair.a, pair.b, pair.method, pair.n) == ("scripted", "bad", "mcnemar", 40)
    assert pair.diff > 0 and pair.prob_a_better > 0.9 and pair.p_value is not None


def test_rejected_key_marks_candidate_not_measured(
    tmp_path: Path, scripted_server: ScriptedServer
) -> None:
    scripted_server.status = 401
    spec = load_spec(write_spec(tmp_path, _endpoint(scripted_server)))
    with open_store(tmp_path / "db.sqlite") as store:
        summary = summarize_run(store, evaluate(spec, store).run_id)
    candidate = summary.candidate("scripted")
    assert candidate.status == "not_measured" and "401" in (candidate.reason or "")
    assert scripted_server.total < 20  # it stopped calling


def test_failed_calls_are_stored_as_errors(tmp_path: Path, scripted_server: ScriptedServer) -> None:
    scripted_server.status = 400
    spec = load_spec(write_spec(tmp_path, _endpoint(scripted_server), n=5))
    with open_store(tmp_path / "db.sqlite") as store:
        outcome = evaluate(spec, store)
        summary = summarize_run(store, outcome.run_id)
        assert store.completed_keys(outcome.run_id, "scripted") == set()
    candidate = summary.candidate("scripted")
    assert candidate.status == "failed" and candidate.errors == 5
    assert "every call failed" in (candidate.reason or "")


def test_llm_judge_scores_and_records_its_cost(
    tmp_path: Path, scripted_server: ScriptedServer
) -> None:
    def answer(body: dict[str, Any]) -> str:
        text = last_user_text(body)
        if "grading" in text:
            verdict = "pass" if "Billing" in text.split("Assistant's answer:")[-1] else "fail"
            return f'Sure. {{"reason": "checked", "verdict": "{verdict}"}}'
        return "Billing."

    scripted_server.answer = answer
    judge = (
        "    - type: llm_judge\n      name: judged\n"
        f"      judge: {{base_url: '{scripted_server.base_url}', model: judge, "
        "catalog_id: openai/gpt-4o-mini}\n"
        "      rubric: The answer names exactly one queue.\n"
    )
    spec = load_spec(write_spec(tmp_path, _endpoint(scripted_server), judge, n=5))
    with open_store(tmp_path / "db.sqlite") as store:
        summary = summarize_run(store, evaluate(spec, store).run_id)
        again = evaluate(spec, store, RunOptions(resume=False))
    candidate = summary.candidate("scripted")
    assert candidate.metrics["judged"].mean == 1.0
    assert candidate.cost is not None and candidate.cost.judge_usd is not None
    # 100 input + 2 output tokens per judge call at gpt-4o-mini list prices, 5 calls.
    assert candidate.cost.judge_usd == pytest.approx(5 * (100 * 0.15 + 2 * 0.6) / 1e6)
    assert again.calls_made == 0 and scripted_server.total == 10  # judge calls cached too


async def test_cancelled_run_resumes_without_repeating_calls(
    tmp_path: Path, scripted_server: ScriptedServer
) -> None:
    spec = load_spec(write_spec(tmp_path, _endpoint(scripted_server, concurrency=1), n=30))
    with open_store(tmp_path / "db.sqlite") as store:
        task = asyncio.create_task(run_async(spec, store))
        for _ in range(2000):
            if scripted_server.total >= 10:
                break
            await asyncio.sleep(0.005)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        [run] = store.list_runs()
        assert run.status == "interrupted"
        done = store.completed_keys(run.id, "scripted")
        before = dict(scripted_server.requests)
        outcome = await run_async(spec, store)
        assert outcome.resumed and outcome.run_id == run.id
        assert outcome.skipped_done == len(done)
        scores = list(store.scores(run.id))
        text_of = {i.item_id: i.input for i in store.items(run.id)}
    assert sorted(s.item_id for s in scores) == sorted(f"t{i}" for i in range(30))
    # The prompts of the items finished before the cut, exactly as the server saw them: each
    # was asked once before and not again after the resume.
    prompts_done = {f"Ticket: {text_of[item]}" for item, _ in done}
    assert done and prompts_done <= set(before), (prompts_done - set(before), list(before)[:3])
    for prompt in prompts_done:
        assert scripted_server.requests[prompt] == before[prompt] == 1, prompt
