"""Shadow traffic: copies go to a challenger off the client's path, both answers are stored,
and the pairs are scored with the evaluation scorers and compared, paired, as a run."""

from __future__ import annotations

import json
import logging
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from llmpick.cli import app
from llmpick.gateway import ShadowScorer, score_shadow_pairs

from .conftest import Captured, backends_yaml, capturing_server, chat, gateway, mock_server

SHADOW = (
    "routes:\n  - model: chat\n    primary: primary\n"
    "    shadow: {backend: challenger, share: 1.0}\n"
)


async def test_shadow_pairs_are_stored_and_scored(db: Path) -> None:
    challenger = Captured(answer=lambda body: '{"label": "ok"}')
    with (
        mock_server(tokens=3) as (primary, stats),
        capturing_server(challenger) as (shadow_url, seen),
        gateway(backends_yaml(primary=primary, challenger=shadow_url) + SHADOW, db) as gw,
    ):
        for i in range(6):
            status, _ = await chat(gw, f"question {i}", stream=i % 2 == 1)
            assert status == 200
    assert stats["requests"] == 6
    assert len(seen.bodies) == 6
    assert all(b.get("stream") is None for b in seen.bodies)  # copies ask for whole answers
    rows = (
        sqlite3.connect(db)
        .execute(
            "SELECT route, primary_backend, challenger, prompt_json, primary_text, challenger_text "
            "FROM gateway_shadow"
        )
        .fetchall()
    )
    assert len(rows) == 6
    assert {r[4] for r in rows} == {"alpha bravo charlie"}
    assert {r[5] for r in rows} == {'{"label": "ok"}'}
    assert json.loads(rows[0][3])[0]["role"] == "user"

    report = score_shadow_pairs(db, [ShadowScorer("json_valid")])
    assert report.pairs == 6
    by_label = {c.label: c for c in report.summary.candidates}
    assert by_label["primary:primary"].metrics["json_valid"].mean == 0.0
    assert by_label["challenger:challenger"].metrics["json_valid"].mean == 1.0
    (comparison,) = report.summary.comparisons
    assert comparison.method == "mcnemar"
    assert (comparison.a_only, comparison.b_only) == (0, 6)

    result = CliRunner().invoke(
        app,
        [
            "gateway",
            "shadow-report",
            "--db",
            str(db),
            "--scorer",
            "exact",
            "--reference",
            "primary",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    means = {c["label"]: c["metrics"]["exact"]["mean"] for c in data["candidates"]}
    assert means == {"primary:primary": 1.0, "challenger:challenger": 0.0}
    shown = CliRunner().invoke(app, ["runs", "show", data["run_id"], "--db", str(db)])
    assert shown.exit_code == 0, shown.output


async def test_a_failing_challenger_never_touches_the_client(db: Path) -> None:
    # The challenger answers 500 after the client has its answer; stopping the gateway then
    # still stores the last pair (it once cancelled it: 2 rows of 3 on a slow CI run).
    with (
        mock_server(tokens=2) as (primary, _),
        capturing_server(Captured(status=500, delay_s=0.3)) as (shadow_url, seen),
        gateway(backends_yaml(primary=primary, challenger=shadow_url) + SHADOW, db) as gw,
    ):
        for _ in range(3):
            status, body = await chat(gw, "hi")
            assert status == 200
            assert body["choices"][0]["message"]["content"] == "alpha bravo"
    assert len(seen.bodies) == 3
    errors = (
        sqlite3.connect(db)
        .execute("SELECT COUNT(*) FROM gateway_shadow WHERE challenger_error IS NOT NULL")
        .fetchone()
    )
    assert errors == (3,)


async def test_a_stuck_challenger_does_not_hold_the_stop(
    db: Path, caplog: pytest.LogCaptureFixture
) -> None:
    grace = "limits: {shutdown_grace_s: 0.2}\n"
    with (
        mock_server(tokens=2) as (primary, _),
        capturing_server(Captured(delay_s=60)) as (shadow_url, _),
        caplog.at_level(logging.WARNING, logger="llmpick.gateway"),
    ):
        with gateway(
            backends_yaml(primary=primary, challenger=shadow_url) + SHADOW + grace, db
        ) as gw:
            status, _ = await chat(gw, "hi")
            assert status == 200
        # Without the grace the stop would wait on the copy until the test server gave up.
        assert "1 shadow copies still in flight after 0.2 s dropped" in caplog.text
    rows = sqlite3.connect(db).execute("SELECT COUNT(*) FROM gateway_shadow").fetchone()
    assert rows == (0,)


def test_no_pairs_is_a_clear_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["gateway", "shadow-report", "--db", str(tmp_path / "empty.sqlite")]
    )
    assert result.exit_code == 2
    assert "no shadow pairs stored" in result.output
