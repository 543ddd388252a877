"""Prompt variants: every candidate runs on each, they are compared on the same items, and the
decision judges each candidate on its best variant and says which."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import llmpick
from llmpick.cli import app
from llmpick.evaluation import RunOptions, evaluate, summarize_run
from llmpick.spec import load_spec
from llmpick.store import open_store

from .conftest import QUEUES, ScriptedServer, last_user_text, write_tickets

runner = CliRunner()


def _answer(body: dict[str, Any]) -> str:
    """Right only when the prompt carries the queue in brackets (the `hinted` variant)."""
    text = last_user_text(body)
    for queue in QUEUES:
        if f"[{queue}]" in text:
            return queue
    return "other"


def _spec(folder: Path, server: ScriptedServer) -> Path:
    write_tickets(folder, 30)
    path = folder / "llmpick.yaml"
    path.write_text(
        f"""version: 1
name: variants
needs:
  quality: {{min_value: 0.5}}
candidates:
  - name: scripted
    endpoint: {{base_url: "{server.base_url}", model: m}}
    catalog_id: meta/llama-3.1-8b-instruct
dataset:
  path: tickets.jsonl
  id_field: id
  input_field: ticket
  expected_field: queue
  template: "Ticket: {{{{ ticket }}}}"
  max_output_tokens: 8
prompts:
  - name: plain
  - name: hinted
    template: "Ticket: {{{{ ticket }}}} [{{{{ queue }}}}]"
    system_prompt: "Answer with the queue only."
scoring:
  scorers:
    - {{type: choice, name: accuracy, choices: [billing, technical, account, shipping, other]}}
  primary: accuracy
"""
    )
    return path


def test_each_variant_is_run_and_compared_on_the_same_items(
    tmp_path: Path, scripted_server: ScriptedServer
) -> None:
    scripted_server.answer = _answer
    spec = load_spec(_spec(tmp_path, scripted_server))
    with open_store(tmp_path / "db.sqlite") as store:
        outcome = evaluate(spec, store, RunOptions())
        summary = summarize_run(store, outcome.run_id)
    labels = sorted(c.label for c in summary.candidates)
    assert labels == ["scripted · hinted", "scripted · plain"]
    assert len(scripted_server.requests) == 60  # 30 items x 2 variants: 60 distinct prompts
    hinted, plain = (summary.candidate(label) for label in labels)
    assert hinted.metrics["accuracy"].mean == 1.0
    assert plain.metrics["accuracy"].mean == pytest.approx(6 / 30)  # the "other" tickets
    (pair,) = [c for c in summary.comparisons if c.metric == "accuracy"]
    assert {pair.a, pair.b} == set(labels) and pair.method == "mcnemar" and pair.n == 30
    assert pair.p_value is not None and pair.p_value < 1e-6


def test_the_variants_of_one_served_endpoint_reach_it_one_after_another(
    tmp_path: Path, scripted_server: ScriptedServer
) -> None:
    # A self-hosted server keeps the KV cache of the prompt head it saw last; interleaving two
    # variants (two heads) would evict it on every request.
    seen: list[str] = []

    def answer(body: dict[str, Any]) -> str:
        system = [m for m in body.get("messages", []) if m.get("role") == "system"]
        seen.append("hinted" if system else "plain")
        return _answer(body)

    scripted_server.answer = answer
    spec = load_spec(_spec(tmp_path, scripted_server))
    with open_store(tmp_path / "db.sqlite") as store:
        evaluate(spec, store, RunOptions())
    assert len(seen) >= 60 and set(seen) == {"plain", "hinted"}
    switches = sum(a != b for a, b in itertools.pairwise(seen))
    assert switches == 1, seen


def test_the_decision_uses_the_best_variant_and_shows_the_paired_comparison(
    tmp_path: Path, scripted_server: ScriptedServer
) -> None:
    scripted_server.answer = _answer
    path = _spec(tmp_path, scripted_server)
    decision = llmpick.decide(path, db=tmp_path / "db.sqlite")
    (row,) = decision.candidates
    assert row.variant == "hinted" and row.quality.mean == 1.0
    assert [v.name for v in row.variants] == ["plain", "hinted"]
    plain = row.variants[0]
    assert not plain.chosen and plain.diff_vs_chosen == pytest.approx(6 / 30 - 1)
    assert (plain.only_this_right, plain.only_chosen_right) == (0, 24)
    assert plain.p_value is not None and plain.p_value < 1e-6
    assert decision.recommendation.status == "chosen"

    out = tmp_path / "report"
    llmpick.write_report(decision, out)
    markdown = (out / "decision.md").read_text()
    assert "| `scripted` | hinted * |" in markdown and "| 0 / 24 |" in markdown
    assert 'id="prompt-variants"' in (out / "report.html").read_text()
    assert json.loads((out / "decision.json").read_text())["candidates"][0]["variant"] == "hinted"


def test_eval_prints_every_variant(tmp_path: Path, scripted_server: ScriptedServer) -> None:
    scripted_server.answer = _answer
    path = _spec(tmp_path, scripted_server)
    result = runner.invoke(
        app, ["eval", str(path), "--db", str(tmp_path / "db.sqlite"), "--no-progress"]
    )
    assert result.exit_code == 0, result.output
    assert "scripted · plain" in result.output and "scripted · hinted" in result.output


def test_duplicate_variant_names_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "llmpick.yaml"
    path.write_text(
        "version: 1\ncandidates: [openai/gpt-5-mini]\nprompts:\n  - name: a\n  - name: a\n"
    )
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2 and "prompt variants named twice: a" in result.output
