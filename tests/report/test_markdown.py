"""decision.md: an ADR a team can commit, with untrusted text neutralised."""

from __future__ import annotations

from typing import Any

import pytest

from llmpick.decision import Decision
from llmpick.report import markdown_escape, render_markdown
from llmpick.report._view import format_ci

from .conftest import PAYLOAD_IMG, edited


def test_record_has_the_adr_sections(decision: Decision) -> None:
    text = render_markdown(decision)

    assert decision.recommendation.status == "chosen"
    assert text.startswith(f"# Use {decision.recommendation.label} for support-ticket-triage\n")
    assert "- Status: proposed" in text
    assert "- Evidence: 5 candidate(s) measured on the dataset, 1 eligible" in text
    headings = [line for line in text.splitlines() if line.startswith("## ")]
    assert headings == [
        "## Context",
        "## Options considered",
        "## Decision",
        "## Consequences",
        "## Provenance",
    ]
    assert "### What would change this decision" in text
    assert "40k requests per day" in text
    assert "### What to measure next" in text and "`openai/gpt-4.1`" in text


def test_options_table_lists_every_candidate_with_exclusions(decision: Decision) -> None:
    text = render_markdown(decision)

    rows = [line for line in text.splitlines() if line.startswith("| ") and "`" in line]
    option_rows = [r for r in rows if "| Option |" not in r and r.count("|") == 10]
    assert len(option_rows) == len(decision.candidates)
    excluded = next(r for r in option_rows if "llama-3.3-70b" in r)
    assert "excluded: " in excluded
    best = decision.candidates[0]
    assert f"{format_ci(best.quality.model_dump())} (measured)" in text


def test_untrusted_text_cannot_inject_markup(decision: Decision) -> None:
    def hostile(data: dict[str, Any]) -> None:
        data["candidates"][0]["name"] = "Evil | model\n# heading"
        data["recommendation"]["reasons"] = [PAYLOAD_IMG, "[click](javascript:alert(1))"]

    decision = edited(decision, hostile)

    text = render_markdown(decision)

    assert "<img" not in text and "\n# heading" not in text
    assert '&lt;img src=x onerror="window.\\_\\_pwned=1"&gt;' in text
    assert "\\[click\\](javascript:alert(1))" in text
    assert "Evil \\| model # heading" in text


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("plain text", "plain text"),
        ("a|b", "a\\|b"),
        ("*bold* _it_ `code`", "\\*bold\\* \\_it\\_ \\`code\\`"),
        ("line one\nline two", "line one line two"),
        ("# not a heading", "\\# not a heading"),
        ("1. not a list", "1\\. not a list"),
        ("- not a list", "\\- not a list"),
        ("<b>&amp;</b>", "&lt;b&gt;&amp;amp;&lt;/b&gt;"),
        (None, ""),
        (0.5, "0.5"),
    ],
)
def test_markdown_escape(raw: object, escaped: str) -> None:
    assert markdown_escape(raw) == escaped
