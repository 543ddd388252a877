"""`eval` in CI: progress as plain lines while it runs when piped, and `--fail-under` gating,
against the project's mock OpenAI-compatible server on 127.0.0.1 (answers: alpha bravo ...)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from llmpick.testing import MockServerConfig, ServerThread, create_mock_app

CliRun = Callable[..., subprocess.CompletedProcess[str]]
_MAIN = "import sys; sys.argv[0] = 'llmpick'; from llmpick.cli import main; main()"


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    with ServerThread(create_mock_app(MockServerConfig(tokens=3))) as server:
        yield server.url + "/v1"


def _spec(folder: Path, url: str, pattern: str, n: int = 20) -> Path:
    with (folder / "cases.jsonl").open("w") as handle:
        for i in range(n):
            handle.write(json.dumps({"id": f"c{i}", "input": f"case {i}", "expected": "x"}) + "\n")
    spec = folder / "llmpick.yaml"
    spec.write_text(
        f"""version: 1
name: ci-gate
candidates:
  - name: mock-a
    endpoint: {{base_url: "{url}", model: mock-a}}
  - name: mock-b
    endpoint: {{base_url: "{url}", model: mock-b}}
dataset:
  path: cases.jsonl
scoring:
  scorers:
    - {{type: regex, name: accuracy, pattern: "{pattern}"}}
  primary: accuracy
"""
    )
    return spec


def test_piped_eval_prints_progress_lines_before_its_summary(
    llmpick: CliRun, tmp_path: Path, server_url: str
) -> None:
    spec = _spec(tmp_path, server_url, "^alpha")
    # stdout and stderr into one pipe, in the order they were written.
    result = subprocess.run(
        [sys.executable, "-c", _MAIN, "eval", str(spec), "--db", str(tmp_path / "db.sqlite")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "80", "LLMPICK_HOME": str(tmp_path)},
    )
    assert result.returncode == 0, result.stdout
    lines = result.stdout.splitlines()
    assert "\x1b" not in result.stdout  # no cursor moves or colours in a pipe
    for label in ("mock-a", "mock-b"):
        progress = [line for line in lines if line.startswith(f"{label}: ")]
        assert progress[0] == f"{label}: 0/20 items"
        assert re.fullmatch(rf"{label}: 20/20 items, done, [\d.,]+ items/s", progress[-1])
        assert len(progress) >= 3  # at least one line on the way
        # Every progress line comes before the summary the run ends with.
        assert lines.index(progress[-1]) < next(i for i, x in enumerate(lines) if "Quality" in x)


@pytest.mark.parametrize(
    ("pattern", "threshold", "code"),
    [
        ("^alpha", "0.9", 0),  # every answer matches: accuracy 1.0
        ("^never", "0.5", 1),  # none does: 0.0 is below 0.5
        ("^never", "0", 0),
    ],
)
def test_fail_under_exits_1_below_the_threshold(
    llmpick: CliRun, tmp_path: Path, server_url: str, pattern: str, threshold: str, code: int
) -> None:
    spec = _spec(tmp_path, server_url, pattern, n=5)
    args = ["eval", str(spec), "--db", str(tmp_path / "db.sqlite"), "--fail-under", threshold]
    result = llmpick(*args)
    assert result.returncode == code, result.stderr
    if code:
        assert f"--fail-under {threshold}: the best accuracy is 0.000" in result.stderr
    else:
        assert f"--fail-under {threshold}: mock-a reaches accuracy" in result.stderr


def test_fail_under_with_a_named_candidate(
    llmpick: CliRun, tmp_path: Path, server_url: str
) -> None:
    spec = _spec(tmp_path, server_url, "^alpha", n=5)
    db = str(tmp_path / "db.sqlite")
    result = llmpick("eval", str(spec), "--db", db, "-c", "mock-b", "--fail-under", "1")
    assert result.returncode == 0, result.stderr
    assert "mock-b reaches accuracy 1.000" in result.stderr
