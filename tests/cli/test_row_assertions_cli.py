"""A dataset row's own checks run with the eval, and `runs show` lists each failure with why."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from llmpick.testing import MockServerConfig, ServerThread, create_mock_app

CliRun = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    # Every answer is "alpha bravo charlie".
    with ServerThread(create_mock_app(MockServerConfig(tokens=3))) as server:
        yield server.url + "/v1"


def _spec(folder: Path, url: str, rows: list[dict[str, object]]) -> Path:
    (folder / "cases.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    spec = folder / "llmpick.yaml"
    spec.write_text(
        f"""version: 1
name: row-checks
candidates:
  - name: mock-a
    endpoint: {{base_url: "{url}", model: mock-a}}
dataset:
  path: cases.jsonl
  id_field: id
scoring:
  scorers:
    - {{type: contains, name: accuracy}}
  primary: accuracy
"""
    )
    return spec


def test_row_checks_are_scored_and_their_failures_shown_with_reasons(
    llmpick: CliRun, tmp_path: Path, server_url: str
) -> None:
    checks = [
        [{"type": "contains", "value": "bravo"}],
        [{"type": "contains", "value": "zulu"}],
        [{"type": "max_latency_ms", "value": 0.001}, {"type": "not_regex", "value": "^alpha"}],
        None,
    ]
    rows: list[dict[str, object]] = [
        {"id": f"c{n}", "input": f"q{n}", "expected": "alpha", "assert": c}
        for n, c in enumerate(checks)
    ]
    spec = _spec(tmp_path, server_url, rows)
    db = str(tmp_path / "db.sqlite")
    evaluated = llmpick("eval", str(spec), "--db", db, columns=100)
    assert evaluated.returncode == 0, evaluated.stderr
    shown = llmpick("runs", "show", "latest", "--db", db, columns=100)
    assert shown.returncode == 0, shown.stderr
    out = shown.stdout
    assert "Failed per-case checks (2 answers):" in out
    assert "c1 · mock-a: contains 'zulu': missing 'zulu'" in out
    assert "c2 · mock-a: max_latency_ms 0.001: took " in out
    assert "not_regex '^alpha': matched (alpha)" in out
    assert "c0 ·" not in out and "c3 ·" not in out
    # The metric `assertions` covers the 3 rows with checks: 1 of them passed.
    data = json.loads(llmpick("runs", "show", "latest", "--db", db, "--json").stdout)
    metric = data["candidates"][0]["metrics"]["assertions"]
    assert metric["n"] == 3 and metric["mean"] == pytest.approx(1 / 3)
    assert metric["score_errors"] == 0
    failures = {f["item_id"]: f["reasons"] for f in data["assertion_failures"]}
    assert failures["c1"] == ["contains 'zulu': missing 'zulu'"]
    assert len(failures["c2"]) == 2


def test_a_bad_row_check_stops_the_eval_before_any_call(
    llmpick: CliRun, tmp_path: Path, server_url: str
) -> None:
    check = {"type": "contans", "value": "x"}
    rows: list[dict[str, object]] = [
        {"id": "c0", "input": "q0", "expected": "a", "assert": [check]}
    ]
    spec = _spec(tmp_path, server_url, rows)
    result = llmpick("eval", str(spec), "--db", str(tmp_path / "db.sqlite"))
    assert result.returncode == 2
    assert "cases.jsonl row 1: assert[0]: unknown check type 'contans'" in result.stderr
    assert "Traceback" not in result.stderr


def test_runs_show_counts_answers_that_list_several_labels(
    llmpick: CliRun, tmp_path: Path, server_url: str
) -> None:
    rows = [{"id": f"c{n}", "input": f"q{n}", "expected": "alpha"} for n in range(3)]
    spec = _spec(tmp_path, server_url, rows)
    text = spec.read_text().replace(
        "{type: contains, name: accuracy}",
        "{type: choice, name: accuracy, choices: [alpha, bravo, other]}",
    )
    spec.write_text(text)
    db = str(tmp_path / "db.sqlite")
    assert llmpick("eval", str(spec), "--db", db).returncode == 0
    shown = llmpick("runs", "show", "latest", "--db", db, columns=120)
    # "alpha bravo charlie" names two labels: 0 on every item, though alpha comes first.
    assert "mock-a: 3 accuracy answer(s) named several answers at once" in shown.stdout
    assert "0.000" in shown.stdout
