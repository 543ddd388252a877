from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

CliRun = Callable[..., subprocess.CompletedProcess[str]]


def _built_in_kinds() -> list[str]:
    # Other tests register their own kinds in this process: ask a fresh one, as the CLI is.
    code = "from llmpick.evaluation import scorer_kinds; print(','.join(scorer_kinds()))"
    fresh = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return fresh.stdout.strip().split(",")


def test_scorers_list_shows_every_registered_kind_with_options_and_example(
    llmpick: CliRun,
) -> None:
    listed = llmpick("scorers", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    data = {d["kind"]: d for d in json.loads(listed.stdout)}
    assert sorted(data) == _built_in_kinds()
    choice = data["choice"]
    assert choice["example"]["type"] == "choice"
    assert {o["name"] for o in choice["options"]} == {"choices", "aliases", "case_sensitive"}
    text = llmpick("scorers", "list", columns=80)
    assert text.returncode == 0, text.stderr
    for kind in _built_in_kinds():
        assert f"\n{kind}: " in "\n" + text.stdout, kind
    assert text.stdout.count("example:") == len(_built_in_kinds())
    assert "{billing: [invoice]}" in text.stdout  # descriptions are text, not Rich markup
    assert max(len(line) for line in text.stdout.splitlines()) <= 80


def test_scorers_list_of_an_unknown_kind_names_the_known_ones(llmpick: CliRun) -> None:
    result = llmpick("scorers", "list", "fuzzy")
    assert result.returncode == 2
    assert "unknown scorer type 'fuzzy'; available: choice" in result.stderr


def test_validate_reports_every_scorer_mistake_in_one_run(llmpick: CliRun, tmp_path: Path) -> None:
    spec = tmp_path / "llmpick.yaml"
    spec.write_text(
        """version: 1
name: x
candidates: [local/smollm2-135m-instruct]
scoring:
  scorers:
    - {type: regex, name: accuracy, pattern: "("}
    - {type: regex, name: g, pattern: "(a)", group: 3}
    - {type: choice, name: c, choices: [x, y], aliases: {z: [q]}}
    - {type: json_schema, name: js}
  primary: accuracy
"""
    )
    result = llmpick("validate", str(spec))
    assert result.returncode == 2
    out = result.stdout + result.stderr
    assert "llmpick.yaml:6:" in out and "bad regex pattern" in out
    assert "scoring.scorers[1]: the pattern has no group 3" in out
    assert "scoring.scorers[2]: aliases for z, which are not among the choices" in out
    assert "scoring.scorers[3]: give exactly one of schema, schema_path" in out
    assert "4 problem(s)" in out
