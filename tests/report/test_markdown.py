"""decision.md: an ADR a team can commit, with untrusted text neutralised."""

from __future__ import annotations

from typing import Any

import pytest

from llmpick.report import markdown_escape, render_markdown

from .conftest import PAYLOAD_IMG


def test_record_has_the_adr_sections(decision: dict[str, Any]) -> None:
    text = render_markdown(decision)

    assert text.startswith("# Use Claude Haiku 4.5 for support-ticket-triage\n")
    assert "- Status: proposed" in text
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
    assert (
        "requests per day, where Qwen2.5 7B Instruct (`qwen/qwen2.5-7b-instruct`) would win" in text
    )


def test_options_table_lists_every_candidate_with_exclusions(decision: dict[str, Any]) -> None:
    text = render_markdown(decision)

    rows = [line for line in text.splitlines() if line.startswith("| ") and "`" in line]
    option_rows = [r for r in rows if "| Option |" not in r and r.count("|") == 10]
    assert len(option_rows) == len(decision["candidates"])
    excluded = next(r for r in option_rows if "llama-3.3-70b" in r)
    assert "excluded: Llama 3.3 Community Licence is not on the allowed list." in excluded
    assert "0.87 [0.78, 0.96] (measured)" in text


def test_untrusted_text_cannot_inject_markup(decision: dict[str, Any]) -> None:
    decision["candidates"][0]["name"] = "Evil | model\n# heading"
    decision["recommendation"]["reasons"] = [PAYLOAD_IMG, "[click](javascript:alert(1))"]

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
