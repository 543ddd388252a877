"""`llmpick eval` of the quickstart's local model with prefix reuse on and off: same answers,
fewer prompt tokens computed, and the sampling settings stored with the run."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from llmpick.evaluation import RunOptions, evaluate
from llmpick.spec import load_spec
from llmpick.store import open_store

pytestmark = [
    pytest.mark.local_model,
    pytest.mark.skipif(importlib.util.find_spec("llama_cpp") is None, reason="needs `local`"),
]

QUICKSTART = Path(__file__).parents[2] / "examples" / "quickstart" / "llmpick.yaml"
LABEL = "local/smollm2-135m-instruct"


@pytest.mark.slow
@pytest.mark.timeout(900)  # two evaluations of a CPU model on a shared machine
def test_reuse_on_and_off_store_the_same_answers(tmp_path: Path) -> None:
    spec = load_spec(QUICKSTART)
    answers = {}
    with open_store(tmp_path / "db.sqlite") as store:
        for reuse in (False, True):
            options = RunOptions(
                use_cache=False, resume=False, limit=3, only=[LABEL], prefix_reuse=reuse
            )
            run_id = evaluate(spec, store, options).run_id
            answers[reuse] = list(store.responses(run_id, LABEL))
            (candidate,) = store.candidates(run_id)
            sampling = candidate.config["sampling"]
            assert sampling["repeat_penalty"] == 1.0 and sampling["temperature"] == 0.0
    texts = {reuse: [r.text for r in rows] for reuse, rows in answers.items()}
    assert texts[True] == texts[False] and len(texts[True]) == 3
    assert all(not r.cached_input_tokens for r in answers[False])
    # The same cache keys: the switch is not an input of the answer.
    assert [r.cache_key for r in answers[True]] == [r.cache_key for r in answers[False]]
    assert sum(r.cached_input_tokens or 0 for r in answers[True]) >= 200
