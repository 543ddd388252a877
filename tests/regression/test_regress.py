"""`llmpick regress`: a corrupted deployment fails, an unchanged one passes, a small test set is
underpowered, and over many A/A comparisons the false-alarm rate stays at or under alpha."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import numpy as np
import pytest
from typer.testing import CliRunner

from llmpick.cli import app
from llmpick.regress import compare_scores, items_to_detect
from llmpick.testing import ServerThread
from llmpick.testing.scripted_server import ScriptedServer, last_user_text, scripted_app

runner = CliRunner()
QUEUES = ["billing", "technical", "account", "shipping", "other"]


def _right(body: dict[str, Any]) -> str:
    """The queue is in the ticket text (`... [billing]`): a perfect model."""
    text = last_user_text(body)
    return next((q for q in QUEUES if f"[{q}]" in text), "other")


def _corrupted(body: dict[str, Any]) -> str:
    """Wrong on the tickets whose number is divisible by 3 (a known third of the items)."""
    text = last_user_text(body)
    number = int(text.split("#")[1].split()[0])
    return "wrong" if number % 3 == 0 else _right(body)


@pytest.fixture
def servers() -> Iterator[tuple[ScriptedServer, ScriptedServer]]:
    good = ScriptedServer(url="", answer=_right)
    bad = ScriptedServer(url="", answer=_corrupted)
    with ServerThread(scripted_app(good)) as one, ServerThread(scripted_app(bad)) as two:
        good.url, bad.url = one.url, two.url
        yield good, bad


def _spec(folder: Path, url: str, *, items: int = 90, detectable: float = 0.3) -> Path:
    with (folder / "tickets.jsonl").open("w") as handle:
        for n in range(items):
            queue = QUEUES[n % 5]
            handle.write(
                json.dumps({"id": f"t{n}", "ticket": f"#{n} [{queue}]", "q": queue}) + "\n"
            )
    path = folder / "llmpick.yaml"
    path.write_text(
        f"""version: 1
name: regress-test
needs: {{latency: {{ttft_p95_ms: 5000, e2e_p95_ms: 10000}}}}
candidates:
  - name: deployed
    endpoint: {{base_url: "{url}", model: m}}
    catalog_id: meta/llama-3.1-8b-instruct
dataset:
  path: tickets.jsonl
  id_field: id
  input_field: ticket
  expected_field: q
  template: "Ticket {{{{ ticket }}}}"
  max_output_tokens: 4
scoring:
  scorers: [{{type: exact, name: accuracy}}]
  primary: accuracy
regress: {{alpha: 0.05, detectable_drop: {detectable}}}
"""
    )
    return path


def _baseline(spec: Path, db: Path) -> None:
    result = runner.invoke(app, ["eval", str(spec), "--db", str(db), "--no-progress"])
    assert result.exit_code == 0, result.output


def test_a_corrupted_deployment_fails_with_junit(
    tmp_path: Path, servers: tuple[ScriptedServer, ScriptedServer]
) -> None:
    good, bad = servers
    spec, db, junit = _spec(tmp_path, good.base_url), tmp_path / "db.sqlite", tmp_path / "r.xml"
    _baseline(spec, db)
    args = ["regress", str(spec), "-c", "deployed", "--db", str(db), "--junit", str(junit)]
    result = runner.invoke(app, [*args, "--endpoint", bad.base_url])

    assert result.exit_code == 1, result.output
    assert "quality dropped" in result.output and "30 worse" in result.output
    assert bad.total >= 90  # the deployment itself was asked, not the cache
    suite = ElementTree.parse(junit).getroot()
    assert suite.get("failures") == "1" and suite.get("tests") == "3"
    failure = suite.find("testcase[@name='quality']/failure")
    assert failure is not None and "30 items lost, 0 gained" in (failure.get("message") or "")


def test_an_unchanged_deployment_passes_with_junit(
    tmp_path: Path, servers: tuple[ScriptedServer, ScriptedServer]
) -> None:
    good, _ = servers
    spec, db, junit = _spec(tmp_path, good.base_url), tmp_path / "db.sqlite", tmp_path / "r.xml"
    _baseline(spec, db)
    calls = good.total
    args = ["regress", str(spec), "-c", "deployed", "--db", str(db), "--junit", str(junit)]
    result = runner.invoke(app, args)

    assert result.exit_code == 0, result.output
    assert good.total >= calls + 90  # fresh calls, never the cache
    suite = ElementTree.parse(junit).getroot()
    assert suite.get("failures") == "0"


def test_a_test_set_too_small_for_the_margin_is_underpowered(
    tmp_path: Path, servers: tuple[ScriptedServer, ScriptedServer]
) -> None:
    good, _ = servers
    spec, db = _spec(tmp_path, good.base_url, items=20, detectable=0.02), tmp_path / "db.sqlite"
    _baseline(spec, db)
    result = runner.invoke(app, ["regress", str(spec), "-c", "deployed", "--db", str(db)])
    assert result.exit_code == 3, result.output
    assert "paired items are needed" in result.output


def test_no_baseline_is_a_clear_error(
    tmp_path: Path, servers: tuple[ScriptedServer, ScriptedServer]
) -> None:
    good, _ = servers
    spec = _spec(tmp_path, good.base_url)
    result = runner.invoke(
        app, ["regress", str(spec), "-c", "deployed", "--db", str(tmp_path / "d")]
    )
    assert result.exit_code == 2 and "no finished run measured 'deployed'" in result.output


def test_the_false_alarm_rate_over_1000_aa_comparisons_is_at_most_alpha() -> None:
    # The same endpoint twice with sampling on: every item passes with its own probability
    # (p in 0.3..0.95), drawn independently in each run.
    rng = np.random.default_rng(7)
    chance = rng.uniform(0.3, 0.95, size=200)
    alarms = 0
    for _ in range(1000):
        before = {f"i{k}": float(rng.random() < p) for k, p in enumerate(chance)}
        after = {f"i{k}": float(rng.random() < p) for k, p in enumerate(chance)}
        check, *_ = compare_scores(
            before, after, alpha=0.05, max_drop=0.0, detectable_drop=0.1, power=0.8
        )
        alarms += check.outcome == "fail"
    assert alarms / 1000 <= 0.05


def test_items_to_detect_a_two_point_drop_matches_the_issue() -> None:
    # "proving a 2-point drop takes roughly 800-3,000 paired items depending on how often the
    # two disagree": 5% and 15% disagreement.
    assert 800 <= (items_to_detect(0.02, 0.05, alpha=0.05, power=0.8) or 0) <= 1000
    assert 2800 <= (items_to_detect(0.02, 0.15, alpha=0.05, power=0.8) or 0) <= 3000


def test_a_non_binary_metric_uses_the_paired_permutation_test() -> None:
    rnd = random.Random(3)
    before = {f"i{k}": rnd.random() for k in range(80)}
    after = {k: max(0.0, v - 0.3) for k, v in before.items()}
    check, p, *_ = compare_scores(
        before, after, alpha=0.05, max_drop=0.0, detectable_drop=0.1, power=0.8
    )
    assert check.outcome == "fail" and "sign-flip" in check.message and p is not None
