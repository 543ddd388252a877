"""`llmpick catalog verify`: the bundled catalog re-checked against local copies of public
sources with planted disagreements (tests/catalog/fixtures/verify)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from llmpick.catalog import CatalogUpdateError, load_catalog, overrides_path, verify_catalog
from llmpick.cli import _output, app

from .conftest import FIXTURES

PLANTED = FIXTURES / "verify"
MODELS_DEV = PLANTED / "models_dev_planted.json"
OPENROUTER = PLANTED / "openrouter_planted.json"
runner = CliRunner()


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_output.console, "width", 250)


def _found(path: Path) -> set[tuple[str, str, float | int | None, float | int | None]]:
    result = verify_catalog(str(path), catalog=load_catalog())
    return {(d.model_id, d.fact, d.old, d.new) for d in result.disagreements}


def test_the_planted_models_dev_disagreements_are_reported_and_nothing_else() -> None:
    assert _found(MODELS_DEV) == {
        ("openai/gpt-4o-mini", "pricing.input_usd_per_mtok", 0.15, 1.5),
        ("anthropic/claude-sonnet-4-5", "limits.context_window_tokens", 200_000, 100_000),
        ("anthropic/claude-sonnet-4-5", "limits.max_output_tokens", 64_000, 8192),
    }


def test_the_planted_openrouter_disagreement_is_reported() -> None:
    assert _found(OPENROUTER) == {
        ("anthropic/claude-haiku-4-5", "pricing.output_usd_per_mtok", 5.0, 50.0),
    }


def test_agreement_counts_the_facts_both_sides_state() -> None:
    result = verify_catalog(str(OPENROUTER), catalog=load_catalog())
    # Haiku 4.5: 3 prices + 2 limits; Gemini 2.5 Flash: 2 prices + 2 limits (no cached price
    # in the catalog, none in the document). One of the 9 differs.
    assert result.compared == 9
    assert result.agreement == pytest.approx(8 / 9)


def test_cli_lists_disagreements_and_exits_1() -> None:
    result = runner.invoke(
        app, ["catalog", "verify", "--against", str(MODELS_DEV), "--against", str(OPENROUTER)]
    )
    assert result.exit_code == 1, result.output
    assert "3 disagreement(s)" in result.stdout and "1 disagreement(s)" in result.stdout
    assert "openai/gpt-4o-mini" in result.stdout and "$0.15" in result.stdout
    assert "$1.5" in result.stdout
    assert not overrides_path().exists()  # verify writes nothing


def test_cli_json_and_a_clean_source_exits_0(tmp_path: Path) -> None:
    clean = tmp_path / "clean.json"
    data = json.loads(OPENROUTER.read_text())
    data["data"] = data["data"][1:]  # only the agreeing Gemini entry
    clean.write_text(json.dumps(data))
    result = runner.invoke(app, ["catalog", "verify", "--against", str(clean), "--json"])
    assert result.exit_code == 0, result.output
    (report,) = json.loads(result.stdout)
    assert report["disagreements"] == [] and report["agreement"] == 1.0


def test_a_missing_or_malformed_source_is_a_one_line_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"something": "else"}')
    with pytest.raises(CatalogUpdateError, match=r"not a models\.dev api\.json"):
        verify_catalog(str(bad))
    result = runner.invoke(app, ["catalog", "verify", "--against", str(tmp_path / "none.json")])
    assert result.exit_code == 2 and "could not read" in result.output
