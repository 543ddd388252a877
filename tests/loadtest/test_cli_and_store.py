"""`llmpick loadtest` end to end: the spec's prompts against a real server on 127.0.0.1, the
result stored, and `llmpick decide` costing the endpoint with it."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from llmpick.cli import app
from llmpick.loadtest import LoadTestError, plan_load_test, result_of_record
from llmpick.spec import load_spec
from llmpick.store import open_store
from llmpick.testing import STATS, MockServerConfig, ServerThread, create_mock_app

runner = CliRunner()


@pytest.fixture
def server() -> Iterator[ServerThread]:
    config = MockServerConfig(ttft_ms=5, itl_ms=5, tokens=6)
    with ServerThread(create_mock_app(config)) as running:
        yield running


def _write_spec(folder: Path, base_url: str) -> Path:
    rows = [{"id": f"t{i}", "text": f"ticket number {i}", "label": "billing"} for i in range(12)]
    (folder / "tickets.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    spec = folder / "llmpick.yaml"
    spec.write_text(
        f"""version: 1
name: lt-test
needs:
  latency: {{ttft_p95_ms: 2000, e2e_p95_ms: 4000}}
  volume: {{requests_per_day: 10000, mean_input_tokens: 50, mean_output_tokens: 6}}
constraints:
  infrastructure: {{gpu_usd_per_hour: {{L4: 1.0}}, ops_hours_per_month: 0}}
candidates:
  - name: served
    endpoint: {{base_url: "{base_url}", model: mock}}
    catalog_id: meta/llama-3.1-8b-instruct
  - openai/gpt-4o-mini
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


def test_the_plan_uses_the_spec_prompts_at_the_volume_answer_length(
    tmp_path: Path, server: ServerThread
) -> None:
    plan = plan_load_test(load_spec(_write_spec(tmp_path, f"{server.url}/v1")), "served")
    assert len(plan.prompts) == 12
    assert plan.prompts[0][-1].content == "Route this ticket: ticket number 0"  # type: ignore[union-attr]
    assert plan.params.max_tokens == 6 and plan.catalog_id == "meta/llama-3.1-8b-instruct"
    assert plan.provider_config["max_retries"] == 0  # a failure is counted, never retried


def test_only_served_endpoints_can_be_load_tested(tmp_path: Path, server: ServerThread) -> None:
    loaded = load_spec(_write_spec(tmp_path, f"{server.url}/v1"))
    with pytest.raises(LoadTestError, match="give the candidate an `endpoint:`"):
        plan_load_test(loaded, "openai/gpt-4o-mini")
    with pytest.raises(LoadTestError, match="no candidate named 'nope'; the spec has: served"):
        plan_load_test(loaded, "nope")


def test_loadtest_is_stored_and_decide_costs_the_endpoint_with_it(
    tmp_path: Path, server: ServerThread
) -> None:
    spec = _write_spec(tmp_path, f"{server.url}/v1")
    db = tmp_path / "db.sqlite"
    result = runner.invoke(
        app,
        ["loadtest", str(spec), "-c", "served", "-H", "1xL4", "--levels", "1,2",
         "--requests", "8", "--db", str(db), "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert [level["concurrency"] for level in printed["levels"]] == [1, 2]
    assert printed["requests_per_s"] > 0 and printed["hardware"] == "1xL4"
    assert server.app[STATS]["requests"] >= 2 + 8 + 8  # warm-up, then each level's budget

    with open_store(db) as store:
        (record,) = store.load_tests(candidate="served")
    assert record.requests_per_s == printed["requests_per_s"]
    assert result_of_record(record).to_dict() == printed

    listed = runner.invoke(app, ["runs", "loadtests", "--db", str(db), "--json"])
    assert listed.exit_code == 0, listed.output
    assert [row["id"] for row in json.loads(listed.stdout)] == [record.id]
    shown = runner.invoke(app, ["runs", "show", record.id[:12], "--db", str(db)])
    assert shown.exit_code == 0, shown.output
    assert "Capacity:" in shown.output and "served" in shown.output

    server.app[STATS]["peak_active"] = 0
    decided = runner.invoke(
        app, ["decide", str(spec), "--db", str(db), "--no-progress", "-o", str(tmp_path / "out")]
    )
    assert decided.exit_code == 0, decided.output
    # The evaluation measured the endpoint at its load-tested operating point (not 64 at once).
    assert f"served evaluated at concurrency {record.concurrency}" in decided.output
    assert 1 <= server.app[STATS]["peak_active"] <= record.concurrency
    assert f"measured by load test {record.id}" in decided.output
    decision = json.loads((tmp_path / "out" / "decision.json").read_text())
    row = next(r for r in decision["candidates"] if r["id"] == "served")
    assert row["cost"]["provenance"] == "measured"
    (shown,) = decision["load_tests"]
    assert shown["id"] == record.id and [lv["concurrency"] for lv in shown["levels"]] == [1, 2]
    assert 'id="load-tests"' in (tmp_path / "out" / "report.html").read_text()


def test_an_unknown_load_test_id_is_a_one_line_error(tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite"
    open_store(db).close()
    result = runner.invoke(app, ["runs", "show", "lt-nope", "--db", str(db)])
    assert result.exit_code == 2 and "no load test 'lt-nope'" in result.output


def test_a_bad_levels_option_is_a_one_line_error(tmp_path: Path, server: ServerThread) -> None:
    spec = _write_spec(tmp_path, f"{server.url}/v1")
    result = runner.invoke(app, ["loadtest", str(spec), "-c", "served", "--levels", "1,two"])
    assert result.exit_code == 2
    assert "--levels takes comma-separated numbers, e.g. 1,2,4,8" in result.output


def test_ctrl_c_stops_the_sweep_and_saves_nothing(tmp_path: Path, server: ServerThread) -> None:
    spec = _write_spec(tmp_path, f"{server.url}/v1")
    db = tmp_path / "db.sqlite"
    command = [sys.executable, "-c", "from llmpick.cli import main; main()", "loadtest",
               str(spec), "-c", "served", "-H", "1xL4", "--levels", "1", "--requests", "100000",
               "--db", str(db)]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while server.app[STATS]["requests"] < 5:  # well into the first level
        assert process.poll() is None and time.monotonic() < deadline, "no load arrived"
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=30)
    assert process.returncode == 130
    assert b"Interrupted. Nothing was saved." in output and b"Traceback" not in output
    with open_store(db) as store:
        assert store.load_tests() == []
