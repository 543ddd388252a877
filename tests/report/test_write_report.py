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
from llmpick.report import (
    ReportError,
    ReportFiles,
    render_html,
    render_markdown,
    write_report,
)

from .conftest import PAYLOAD_IMG, PAYLOAD_SCRIPT

MAX_HTML_BYTES = 10 * 1024 * 1024


def test_public_api_is_complete() -> None:
    public = {name for name in dir(llmpick.report) if not name.startswith("_")}
    modules = {name for name in public if isinstance(getattr(llmpick.report, name), type(os))}
    assert set(llmpick.report.__all__) == public - modules - {"annotations"}


def test_writes_the_three_files(decision: dict[str, Any], out_dir: Path) -> None:
    files = write_report(decision, out_dir)

    assert isinstance(files, ReportFiles)
    assert [p.name for p in files] == ["report.html", "decision.md", "decision.json"]
    assert all(p.parent == out_dir and p.stat().st_size > 0 for p in files)
    assert sorted(p.name for p in out_dir.iterdir()) == [
        "decision.json",
        "decision.md",
        "report.html",
    ]


def test_json_round_trips(decision: dict[str, Any], out_dir: Path) -> None:
    files = write_report(decision, out_dir)

    assert json.loads(files.json.read_text(encoding="utf-8")) == decision
    assert files.json.read_text(encoding="utf-8").startswith('{\n  "llmpick_version"')


def test_json_writes_non_finite_numbers_as_null(decision: dict[str, Any], out_dir: Path) -> None:
    decision["break_even"]["requests_per_day"] = math.inf
    decision["candidates"][0]["score"] = math.nan

    files = write_report(decision, out_dir)

    written = json.loads(files.json.read_text(encoding="utf-8"))
    assert written["break_even"]["requests_per_day"] is None
    assert written["candidates"][0]["score"] is None


def test_json_keeps_a_lone_surrogate_from_model_output(
    decision: dict[str, Any], out_dir: Path
) -> None:
    decision["items"][0]["responses"]["openai/gpt-4o-mini"]["text"] = "broken \ud800 output"

    files = write_report(decision, out_dir)

    assert json.loads(files.json.read_text(encoding="utf-8")) == decision


def test_html_has_four_charts_and_every_section(decision: dict[str, Any]) -> None:
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
    assert "Llama 3.3 Community Licence is not on the allowed list." in html
    assert "Closed models: catalog list prices at your volume, not measured bills." in html
    assert 'class="prov prov-catalog"' in html and 'class="prov prov-measured"' in html


def test_html_is_self_contained(decision: dict[str, Any]) -> None:
    html = render_html(decision)

    loads = re.findall(r"<(?:script|link|img|iframe|object|embed)\b[^>]*\b(?:src|href)=", html)
    assert loads == ['<link rel="icon" href=']  # the empty data: favicon, nothing else
    assert "@import" not in html and "url(" not in html
    assert "default-src 'none'" in unescape(html)  # a CSP: no fetches, only our script runs


def test_untrusted_text_is_escaped_everywhere(decision: dict[str, Any]) -> None:
    decision["candidates"][0]["name"] = '<b onmouseover="x()">Evil</b>'
    decision["needs"]["task"] = "</script><script>alert(1)</script>"
    decision["recommendation"]["reasons"].append("<iframe src=//x>")
    decision["candidates"][0]["cost"]["source"] = "javascript:alert(1)"

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


def test_partial_decision_still_renders(out_dir: Path) -> None:
    files = write_report({"name": "empty", "candidates": [{"id": "x/y"}], "items": None}, out_dir)

    html = files.html.read_text(encoding="utf-8")
    assert len(re.findall(r'data-chart="[a-z-]+" data-empty="true"', html)) == 4
    assert "No recommendation" in html
    assert "# LLM choice for empty" in files.markdown.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("decision", "message"),
    [
        ("not a dict", "decision must be a dict"),
        ({"candidates": "gpt"}, "decision['candidates'] must be a list"),
        ({"items": {"t1": {}}}, "decision['items'] must be a list"),
        ({"name": {1, 2}}, "decision cannot be written as JSON"),
    ],
)
def test_wrong_shape_fails_clearly_and_writes_nothing(
    decision: Any, message: str, out_dir: Path
) -> None:
    with pytest.raises(ReportError, match=re.escape(message)):
        write_report(decision, out_dir)

    assert not out_dir.exists()


def test_failed_write_leaves_the_previous_report_intact(
    decision: dict[str, Any], out_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = write_report(decision, out_dir)
    before = {p.name: p.read_bytes() for p in first}

    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    decision["name"] = "second run"
    with pytest.raises(ReportError, match="No space left on device"):
        write_report(decision, out_dir)

    assert {p.name: p.read_bytes() for p in out_dir.iterdir()} == before  # no temp files left


def test_unwritable_folder_is_a_clear_error(decision: dict[str, Any], tmp_path: Path) -> None:
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


def test_a_load_test_adds_its_curve_and_table(decision: dict[str, Any]) -> None:
    decision["load_tests"] = [
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
    html = render_html(decision)
    charts = re.findall(r'<svg [^>]*data-chart="([a-z-]+)"', html)
    assert charts == ["quality-cost", "cost-volume", "latency", "capacity", "category-quality"]
    assert 'id="load-tests"' in html
    assert html.count('class="level pass"') == 3 and html.count('class="level fail"') == 1
    assert "SLO 600 ms" in html and "&lt;b&gt;slow&lt;/b&gt;" in html and "<b>slow</b>" not in html
    markdown = render_markdown(decision)
    assert "| 32 |" in markdown and "| 811 ms |" in markdown
    assert "`lt-20261128-000000-abcdef`" in markdown


def test_without_a_load_test_there_is_no_load_test_section(decision: dict[str, Any]) -> None:
    assert 'id="load-tests"' not in render_html(decision)
