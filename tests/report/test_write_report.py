"""write_report: three files, written together or not at all; JSON round-trips; HTML is inert."""

from __future__ import annotations

import json
import math
import os
import re
from html import unescape
from pathlib import Path
from typing import Any

import pytest

import llmpick.report
from llmpick.constraints import check_spec
from llmpick.decision import Decision, decide_from_evidence
from llmpick.report import (
    ReportError,
    ReportFiles,
    render_html,
    render_markdown,
    write_report,
)

from .conftest import PAYLOAD_IMG, PAYLOAD_SCRIPT, edited, make_spec

MAX_HTML_BYTES = 10 * 1024 * 1024


def test_public_api_is_complete() -> None:
    public = {name for name in dir(llmpick.report) if not name.startswith("_")}
    modules = {name for name in public if isinstance(getattr(llmpick.report, name), type(os))}
    assert set(llmpick.report.__all__) == public - modules - {"annotations"}


def test_writes_the_three_files(decision: Decision, out_dir: Path) -> None:
    files = write_report(decision, out_dir)

    assert isinstance(files, ReportFiles)
    assert [p.name for p in files] == ["report.html", "decision.md", "decision.json"]
    assert all(p.parent == out_dir and p.stat().st_size > 0 for p in files)
    assert sorted(p.name for p in out_dir.iterdir()) == [
        "decision.json",
        "decision.md",
        "report.html",
    ]


def test_json_round_trips(decision: Decision, out_dir: Path) -> None:
    files = write_report(decision, out_dir)

    text = files.json.read_text(encoding="utf-8")
    assert json.loads(text) == decision.model_dump(mode="json")
    assert Decision.model_validate_json(text) == decision
    assert text.startswith('{\n  "llmpick_version"')


def test_json_writes_non_finite_numbers_as_null(decision: Decision, out_dir: Path) -> None:
    def non_finite(data: dict[str, Any]) -> None:
        data["break_even"]["requests_per_day"] = math.inf
        data["candidates"][0]["score"] = math.nan

    decision = edited(decision, non_finite)

    files = write_report(decision, out_dir)

    written = json.loads(files.json.read_text(encoding="utf-8"))
    assert written["break_even"]["requests_per_day"] is None
    assert written["candidates"][0]["score"] is None


def test_json_keeps_a_lone_surrogate_from_model_output(decision: Decision, out_dir: Path) -> None:
    def surrogate(data: dict[str, Any]) -> None:
        data["items"][0]["responses"]["openai/gpt-4o-mini"]["text"] = "broken \ud800 output"

    decision = edited(decision, surrogate)
    files = write_report(decision, out_dir)

    assert json.loads(files.json.read_text(encoding="utf-8")) == decision.model_dump(mode="json")


def test_html_has_four_charts_and_every_section(decision: Decision) -> None:
    html = render_html(decision)

    charts = re.findall(r'<svg [^>]*data-chart="([a-z-]+)"', html)
    assert charts == ["quality-cost", "cost-volume", "latency", "category-quality"]
    for section in (
        "recommendation",
        "needs",
        "excluded",
        "results",
        "costs",
        "break-even",
        "sensitivity",
        "items",
        "provenance",
    ):
        assert f'<section id="{section}">' in html
    excluded = decision.candidate("meta/llama-3.3-70b-instruct")
    assert excluded is not None and not excluded.eligible
    assert excluded.exclusions[0].message in unescape(html)
    assert "Closed models: catalog list prices at your volume, not measured bills." in html
    assert 'class="prov prov-catalog"' in html and 'class="prov prov-measured"' in html


def test_html_is_self_contained(decision: Decision) -> None:
    html = render_html(decision)

    loads = re.findall(r"<(?:script|link|img|iframe|object|embed)\b[^>]*\b(?:src|href)=", html)
    assert loads == ['<link rel="icon" href=']  # the empty data: favicon, nothing else
    assert "@import" not in html and "url(" not in html
    assert "default-src 'none'" in unescape(html)  # a CSP: no fetches, only our script runs


def test_untrusted_text_is_escaped_everywhere(decision: Decision) -> None:
    def hostile(data: dict[str, Any]) -> None:
        data["candidates"][0]["name"] = '<b onmouseover="x()">Evil</b>'
        data["needs"]["task"] = "</script><script>alert(1)</script>"
        data["recommendation"]["reasons"].append("<iframe src=//x>")
        data["recommendation"]["headline"] = "<iframe src=//y>"
        data["candidates"][0]["cost"]["source"] = "javascript:alert(1)"

    decision = edited(decision, hostile)

    html = render_html(decision)

    for raw in (PAYLOAD_SCRIPT, PAYLOAD_IMG, "<b onmouseover", "<script>alert", "<iframe"):
        assert raw not in html
    assert "&lt;b onmouseover=&#34;x()&#34;&gt;Evil&lt;/b&gt;" in html
    assert 'href="javascript:' not in html
    # The item data is inert JSON: exactly one `</script>` closes it, and it parses back.
    payload = re.search(
        r'<script type="application/json" id="llmpick-items">(.*?)</script>', html, re.S
    )
    assert payload is not None
    items = json.loads(payload.group(1))
    assert PAYLOAD_SCRIPT in json.dumps(items["strings"], ensure_ascii=False)


def test_a_decision_with_nothing_measured_still_renders(out_dir: Path) -> None:
    spec = make_spec([]).model_copy(update={"name": "empty"})
    decision = decide_from_evidence(spec, check_spec(spec), {}, [])
    files = write_report(decision, out_dir)

    html = files.html.read_text(encoding="utf-8")
    assert len(re.findall(r'data-chart="[a-z-]+" data-empty="true"', html)) == 4
    assert "Nothing to recommend yet" in html
    markdown = files.markdown.read_text(encoding="utf-8")
    assert markdown.startswith("# LLM choice for empty: Nothing to recommend yet")
    assert "- Status: open: nothing measured yet" in markdown


@pytest.mark.parametrize("decision", ["not a decision", {"candidates": []}, None])
def test_something_else_than_a_decision_fails_clearly_and_writes_nothing(
    decision: Any, out_dir: Path
) -> None:
    with pytest.raises(ReportError, match="needs a llmpick Decision"):
        write_report(decision, out_dir)

    assert not out_dir.exists()


def test_failed_write_leaves_the_previous_report_intact(
    decision: Decision, out_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = write_report(decision, out_dir)
    before = {p.name: p.read_bytes() for p in first}

    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    decision = decision.model_copy(update={"name": "second run"})
    with pytest.raises(ReportError, match="No space left on device"):
        write_report(decision, out_dir)

    assert {p.name: p.read_bytes() for p in out_dir.iterdir()} == before  # no temp files left


def test_unwritable_folder_is_a_clear_error(decision: Decision, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")

    with pytest.raises(ReportError, match="cannot create report folder"):
        write_report(decision, blocker / "report")


@pytest.mark.slow
def test_large_report_stays_under_10_mb(large_report: Path) -> None:
    html = large_report.read_text(encoding="utf-8")

    assert large_report.stat().st_size < MAX_HTML_BYTES
    assert "long texts are truncated to" in html
    payload = re.search(r'id="llmpick-items">(.*?)</script>', html, re.S)
    assert payload is not None
    data = json.loads(payload.group(1))
    assert len(data["items"]) == 10_000 and len(data["candidates"]) == 10


def test_a_load_test_adds_its_curve_and_table(decision: Decision) -> None:
    tests = [
        {
            "candidate": "meta/llama-3.1-8b-instruct",
            "id": "lt-20261128-000000-abcdef",
            "hardware": "1xL4",
            "requests_per_s": 30.7,
            "concurrency": 18,
            "source": "load test lt-20261128-000000-abcdef of http://127.0.0.1:8000/v1",
            "slo": {"ttft_p95_ms": 300, "e2e_p95_ms": 600},
            "levels": [
                {
                    "concurrency": c,
                    "requests_per_s": r,
                    "ttft_p95_ms": 30,
                    "e2e_p95_ms": e,
                    "meets_slo": e <= 600,
                    "verdict": "meets the SLO" if e <= 600 else "<b>slow</b>",
                }
                for c, r, e in [(4, 10.8, 372), (16, 28.9, 560), (18, 30.7, 591), (32, 40.0, 811)]
            ],
        }
    ]
    decision = edited(decision, lambda data: data.update(load_tests=tests))
    html = render_html(decision)
    charts = re.findall(r'<svg [^>]*data-chart="([a-z-]+)"', html)
    assert charts == ["quality-cost", "cost-volume", "latency", "capacity", "category-quality"]
    assert 'id="load-tests"' in html
    assert html.count('class="level pass"') == 3 and html.count('class="level fail"') == 1
    assert "SLO 600 ms" in html and "&lt;b&gt;slow&lt;/b&gt;" in html and "<b>slow</b>" not in html
    markdown = render_markdown(decision)
    assert "| 32 |" in markdown and "| 811 ms |" in markdown
    assert "`lt-20261128-000000-abcdef`" in markdown


def test_without_a_load_test_there_is_no_load_test_section(decision: Decision) -> None:
    assert 'id="load-tests"' not in render_html(decision)


def test_decision_json_validates_against_its_published_schema(
    decision: Decision, out_dir: Path
) -> None:
    import jsonschema

    from llmpick.decision import decision_schema_text

    committed = Path(__file__).parents[2] / "schema" / "decision.schema.json"
    assert committed.read_text(encoding="utf-8") == decision_schema_text(), (
        "schema/decision.schema.json is stale: run `llmpick schema --decision -o "
        "schema/decision.schema.json`"
    )
    schema = json.loads(committed.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    written = json.loads(write_report(decision, out_dir).json.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(schema).validate(written)
    written["recommendation"]["status"] = "probably fine"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(schema).validate(written)


def test_assumed_figures_are_marked_assumed(decision: Decision, out_dir: Path) -> None:
    def unpriced(data: dict[str, Any]) -> None:
        row = next(c for c in data["candidates"] if c["deployment"] == "self-hosted")
        row["cost"]["hardware_unpriced"] = True
        row["cost"]["figure_provenance"] = {"gpu": "assumed", "operations": "assumed"}

    files = write_report(edited(decision, unpriced), out_dir)
    html = files.html.read_text(encoding="utf-8")
    assert "assumed $0: no price known" in html and 'class="prov prov-assumed"' in html
    markdown = files.markdown.read_text(encoding="utf-8")
    assert "(assumed)" in markdown or "hardware assumed $0" in markdown
