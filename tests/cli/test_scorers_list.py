from __future__ import annotations

import json
import subprocess
from collections.abc import Callable

from llmpick.evaluation import scorer_kinds

CliRun = Callable[..., subprocess.CompletedProcess[str]]


def _built_in_kinds() -> list[str]:
    # Other tests register their own kinds in this process; the CLI's process has none of them.
    return [kind for kind in scorer_kinds() if not kind.endswith("_test")]


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
