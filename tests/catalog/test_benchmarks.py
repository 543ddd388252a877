"""Published benchmark scores in the catalog: on their scale, sourced, labelled as published."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from llmpick.catalog import Benchmark, Catalog, CatalogFileError
from llmpick.catalog._loader import load_entry_file
from llmpick.cli import _output, app

from .conftest import FIXTURE_ENTRIES

BENCHMARK = """benchmarks:
  - name: MMLU-Pro
    score: {score}
    unit: "{unit}"
    source: https://example.org/model-card
    as_of: 2026-11-28
"""


def _with_benchmark(score: str, unit: str) -> str:
    text = (FIXTURE_ENTRIES / "openai" / "gpt-4o.yaml").read_text()
    head = text.split("benchmarks:")[0] if "benchmarks:" in text else text
    return head.rstrip("\n") + "\n" + BENCHMARK.format(score=score, unit=unit)


@pytest.mark.parametrize(("score", "unit"), [("101", "%"), ("-1", "%"), ("72.5", "fraction")])
def test_a_score_off_its_scale_is_refused_with_its_line(score: str, unit: str) -> None:
    text = _with_benchmark(score, unit)
    with pytest.raises(CatalogFileError, match=r"x\.yaml: line \d+: benchmarks\.0: .*within"):
        load_entry_file(text, "x.yaml")


def test_percent_puts_shares_on_one_scale_and_leaves_ratings_out() -> None:
    common = {"name": "GPQA Diamond", "source": "https://example.org/card", "as_of": "2026-11-28"}
    assert Benchmark.model_validate({**common, "score": 0.725, "unit": "fraction"}).percent == 72.5
    assert Benchmark.model_validate({**common, "score": 72.5}).percent == 72.5
    assert Benchmark.model_validate({**common, "score": 1402, "unit": "elo"}).percent is None


def test_published_score_finds_a_benchmark_by_name(bundled_catalog: Catalog) -> None:
    entry = next(e for e in bundled_catalog if e.benchmarks)
    first = entry.benchmarks[0]
    found = entry.published_score(first.name.upper())
    assert found is not None and found.name == first.name
    assert entry.published_score("no such benchmark") is None


def test_catalog_show_labels_benchmarks_as_published(
    bundled_catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_output.console, "width", 250)
    entry = next(e for e in bundled_catalog if e.benchmarks)
    result = CliRunner().invoke(app, ["catalog", "show", entry.id])
    assert result.exit_code == 0, result.output
    assert "published, not measured on your data" in result.stdout
    assert entry.benchmarks[0].source in result.stdout


def test_every_bundled_benchmark_is_sourced_by_url(bundled_catalog: Catalog) -> None:
    for entry in bundled_catalog:
        for bench in entry.benchmarks:
            assert bench.source.startswith("https://"), f"{entry.id}: {bench.name} has no URL"
