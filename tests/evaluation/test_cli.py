from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from llmpick.cli import app

from .conftest import ScriptedServer, write_spec

runner = CliRunner()


@pytest.fixture
def finished_run(tmp_path: Path, scripted_server: ScriptedServer) -> tuple[Path, Path]:
    url = scripted_server.base_url
    candidates = "".join(
        f"  - name: {name}\n    endpoint: {{base_url: '{url}', model: {name}}}\n"
        for name in ("alpha", "beta")
    )
    spec = write_spec(tmp_path, candidates + "  - openai/gpt-4.1-nano\n", n=10)
    return spec, tmp_path / "db.sqlite"


def test_eval_json_then_runs_commands(
    finished_run: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    spec, db = finished_run
    result = runner.invoke(app, ["eval", str(spec), "--db", str(db), "--json", "--no-progress"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    labels = {c["label"]: c for c in data["candidates"]}
    assert labels["alpha"]["metrics"]["accuracy"]["n"] == 10
    assert labels["openai/gpt-4.1-nano"]["reason"] == "not measured (set OPENAI_API_KEY)"
    run_id = data["run"]["id"]

    listed = runner.invoke(app, ["runs", "list", "--db", str(db), "--json"])
    assert json.loads(listed.stdout)[0]["id"] == run_id

    shown = runner.invoke(
        app, ["runs", "show", run_id[:12], "--db", str(db)], env={"COLUMNS": "200"}
    )
    assert shown.exit_code == 0 and "accuracy" in shown.stdout
    assert "not measured (set OPENAI_API_KEY)" in shown.stdout

    compared = runner.invoke(app, ["runs", "compare", "latest", "--db", str(db), "--json", "--all"])
    rows = json.loads(compared.stdout)["items"]
    assert len(rows) == 10 and set(rows[0]["answers"]) == {"alpha", "beta"}

    exported = runner.invoke(app, ["runs", "export", run_id, "--db", str(db), "--format", "csv"])
    table = list(csv.DictReader(io.StringIO(exported.stdout)))
    assert len(table) == 20 and {"score_accuracy", "ttft_s", "cost_usd"} <= set(table[0])
    jsonl = runner.invoke(app, ["runs", "export", run_id, "--db", str(db)])
    assert len(jsonl.stdout.splitlines()) == 20

    args = ["eval", str(spec), "--db", str(db), "--fresh", "--json", "--no-progress"]
    second = json.loads(runner.invoke(app, args).stdout)
    assert second["calls_made"] == 0 and second["from_cache"] == 20
    across = runner.invoke(
        app, ["runs", "compare", run_id, second["run"]["id"], "--db", str(db), "--json", "--all"]
    )
    answers = json.loads(across.stdout)["items"][0]["answers"]
    assert set(answers) == {"alpha [A]", "beta [A]", "alpha [B]", "beta [B]"}


def test_user_errors_are_one_line(tmp_path: Path, finished_run: tuple[Path, Path]) -> None:
    spec, db = finished_run
    missing = runner.invoke(app, ["runs", "show", "nope", "--db", str(db)])
    assert missing.exit_code == 2
    (tmp_path / "tickets.jsonl").write_text('{"id": "1", "ticket": "x"}\n')
    bad = runner.invoke(app, ["eval", str(spec), "--db", str(db), "--no-progress"])
    assert bad.exit_code == 2 and "row 1: missing or empty field(s) queue" in bad.output
    assert "Traceback" not in bad.output
    unknown = runner.invoke(app, ["eval", str(spec), "--db", str(db), "-c", "gamma"])
    assert unknown.exit_code == 2
