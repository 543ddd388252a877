"""`llmpick.decide(spec)` is the product: the CLI only prints and writes what it returns."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

import llmpick
from llmpick.cli import app
from llmpick.decision import Decision
from llmpick.testing import STATS, MockServerConfig, ServerThread, create_mock_app

runner = CliRunner()


@pytest.fixture
def server() -> Iterator[ServerThread]:
    with ServerThread(create_mock_app(MockServerConfig(tokens=4))) as running:
        yield running


def _write_spec(folder: Path, base_url: str) -> Path:
    rows = [{"id": f"t{i}", "text": f"ticket number {i}", "label": "billing"} for i in range(12)]
    (folder / "tickets.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    spec = folder / "llmpick.yaml"
    spec.write_text(
        f"""version: 1
name: pipeline-test
needs:
  quality: {{min_value: 0.9}}
  volume: {{requests_per_day: 10000, mean_input_tokens: 50, mean_output_tokens: 6}}
candidates:
  - name: served-a
    endpoint: {{base_url: "{base_url}", model: a}}
    catalog_id: meta/llama-3.1-8b-instruct
  - name: served-b
    endpoint: {{base_url: "{base_url}", model: b}}
    catalog_id: qwen/qwen2.5-7b-instruct
  - openai/gpt-5-mini
dataset:
  path: tickets.jsonl
  id_field: id
  input_field: text
  expected_field: label
  template: "Route this ticket: {{{{ text }}}}"
scoring:
  scorers: [{{type: contains, name: accuracy}}]
  primary: accuracy
"""
    )
    return spec


def _comparable(decision: Decision) -> Decision:
    return decision.model_copy(update={"generated_at": "", "notes": []})


def test_the_library_returns_what_the_cli_writes(tmp_path: Path, server: ServerThread) -> None:
    spec = _write_spec(tmp_path, f"{server.url}/v1")
    db = tmp_path / "db.sqlite"
    result = runner.invoke(
        app, ["decide", str(spec), "--db", str(db), "--no-progress", "-o", str(tmp_path / "out")]
    )
    assert result.exit_code == 0, result.output
    written = Decision.model_validate_json((tmp_path / "out" / "decision.json").read_text())
    calls = server.app[STATS]["requests"]

    decision = llmpick.decide(spec, db=db)

    assert isinstance(decision, Decision)
    assert _comparable(decision) == _comparable(written)
    # The second decide reused the finished evaluation: no model was called again.
    assert server.app[STATS]["requests"] == calls
    assert any("reused run" in note for note in decision.notes)
    # The mock answers no label, so nothing meets the 0.9 need: the CLI says so, never "Choose".
    assert decision.recommendation.status == "no_candidate_meets_needs"
    assert "No candidate meets every need yet" in result.output
    assert "openai/gpt-5-mini" in result.output and "OPENAI_API_KEY" in result.output


def test_require_meets_needs_exits_1_for_ci(tmp_path: Path, server: ServerThread) -> None:
    spec = _write_spec(tmp_path, f"{server.url}/v1")
    args = ["decide", str(spec), "--db", str(tmp_path / "db.sqlite"), "--no-progress"]
    result = runner.invoke(app, [*args, "-o", str(tmp_path / "out"), "--require-meets-needs"])
    assert result.exit_code == 1, result.output


def test_an_unwritable_report_folder_fails_before_any_model_is_called(
    tmp_path: Path, server: ServerThread
) -> None:
    spec = _write_spec(tmp_path, f"{server.url}/v1")
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    result = runner.invoke(
        app, ["decide", str(spec), "--db", str(tmp_path / "db"), "-o", str(blocker / "r")]
    )
    assert result.exit_code == 2 and "cannot write the report" in result.output
    assert server.app[STATS]["requests"] == 0


def test_the_public_api_is_small_and_complete() -> None:
    import types

    public = {
        n
        for n in dir(llmpick)
        if not n.startswith("_") and not isinstance(getattr(llmpick, n), types.ModuleType)
    } - {"annotations", "TYPE_CHECKING", "Any"}
    assert set(llmpick.__all__) - {"__version__"} == public
    for name in llmpick.__all__:
        assert getattr(llmpick, name) is not None


def test_the_decision_table_keeps_ids_whole_at_80_columns(
    tmp_path: Path, server: ServerThread
) -> None:
    import io

    from rich.console import Console

    from llmpick.cli import _output
    from llmpick.cli.decide_commands import print_decision

    decision = llmpick.decide(_write_spec(tmp_path, f"{server.url}/v1"), db=tmp_path / "db")
    buffer = io.StringIO()
    narrow = Console(file=buffer, width=80, color_system=None)
    original = _output.console
    _output.console = narrow
    try:
        import llmpick.cli.decide_commands as commands

        commands.console = narrow
        print_decision(decision)
    finally:
        _output.console = original
        commands.console = original
    text = buffer.getvalue()
    table = text.split("No candidate meets")[0]  # the table and its notes, before the advice
    assert all(len(line) <= 80 for line in table.splitlines()), table
    for row in decision.candidates:
        assert row.id in table, row.id


def test_latency_measured_under_a_queue_stays_out_of_the_latency_criterion(
    tmp_path: Path,
) -> None:
    # One slot, 100 ms per answer, and the spec insists on 8 in flight: requests queue.
    config = MockServerConfig(tokens=2, ttft_ms=100, slots=1)
    with ServerThread(create_mock_app(config)) as one_slot:
        spec = _write_spec(tmp_path, f"{one_slot.url}/v1")
        text = spec.read_text().replace(
            "    catalog_id: meta/llama-3.1-8b-instruct\n",
            "    catalog_id: meta/llama-3.1-8b-instruct\n    max_concurrency: 8\n",
            1,
        )
        spec.write_text(text)
        decision = llmpick.decide(spec, db=tmp_path / "db.sqlite")
    row = decision.candidate("served-a")
    assert row is not None and row.latency.under_queue is True
    assert "under a queue" in (row.latency.source or "")
    assert row.criteria is not None and row.criteria["latency"] is None
