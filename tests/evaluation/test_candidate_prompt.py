"""A candidate may override the dataset's system prompt and worked examples: a tuned model has
learnt the task and reads a shorter prompt, while the others keep the dataset's. A prompt
variant's own parts win over the candidate's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from llmpick.evaluation import RunOptions, evaluate
from llmpick.spec import load_spec
from llmpick.store import open_store

from .conftest import ScriptedServer, oracle, write_tickets


def _spec(folder: Path, server: ScriptedServer, prompts: str = "") -> Path:
    write_tickets(folder, 6)
    path = folder / "llmpick.yaml"
    path.write_text(
        f"""version: 1
name: candidate-prompt
needs:
  quality: {{min_value: 0.5}}
candidates:
  - name: full
    endpoint: {{base_url: "{server.base_url}", model: full}}
    catalog_id: meta/llama-3.1-8b-instruct
  - name: short
    endpoint: {{base_url: "{server.base_url}", model: short}}
    catalog_id: meta/llama-3.1-8b-instruct
    system_prompt: "Queue only."
    few_shot: []
dataset:
  path: tickets.jsonl
  id_field: id
  input_field: ticket
  expected_field: queue
  template: "Ticket: {{{{ ticket }}}}"
  system_prompt: "You route tickets to one of five queues."
  few_shot:
    - {{input: "charged twice", output: billing}}
  max_output_tokens: 8
{prompts}scoring:
  scorers:
    - {{type: choice, name: accuracy, choices: [billing, technical, account, shipping, other]}}
  primary: accuracy
"""
    )
    return path


def _record(server: ScriptedServer) -> dict[str, list[list[dict[str, Any]]]]:
    seen: dict[str, list[list[dict[str, Any]]]] = {}

    def answer(body: dict[str, Any]) -> str:
        seen.setdefault(body["model"], []).append(body["messages"])
        return oracle(body)

    server.answer = answer
    return seen


def test_a_candidate_reads_its_own_system_prompt_and_no_examples(
    tmp_path: Path, scripted_server: ScriptedServer
) -> None:
    seen = _record(scripted_server)
    spec = load_spec(_spec(tmp_path, scripted_server))
    with open_store(tmp_path / "runs.db") as store:
        evaluate(spec, store, RunOptions())

    full = seen["full"][0]
    assert [m["role"] for m in full] == ["system", "user", "assistant", "user"]
    assert full[0]["content"] == "You route tickets to one of five queues."
    assert full[1]["content"] == "Ticket: charged twice"
    short = seen["short"]
    assert len(short) == 6
    assert all([m["role"] for m in messages] == ["system", "user"] for messages in short)
    assert {messages[0]["content"] for messages in short} == {"Queue only."}


def test_a_prompt_variant_overrides_the_candidate(
    tmp_path: Path, scripted_server: ScriptedServer
) -> None:
    seen = _record(scripted_server)
    variants = """prompts:
  - name: examples
    few_shot:
      - {input: "parcel lost", output: shipping}
"""
    spec = load_spec(_spec(tmp_path, scripted_server, variants))
    with open_store(tmp_path / "runs.db") as store:
        evaluate(spec, store, RunOptions())

    short = seen["short"][0]
    assert [m["role"] for m in short] == ["system", "user", "assistant", "user"]
    assert short[0]["content"] == "Queue only."  # the variant sets no system prompt
    assert short[1]["content"] == "Ticket: parcel lost"
