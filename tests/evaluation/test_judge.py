from __future__ import annotations

import pytest

from llmpick.evaluation import ScorerConfigError, build_scorer, parse_verdict


@pytest.mark.parametrize(
    ("text", "scale", "grade"),
    [
        ('{"reason": "ok", "verdict": "pass"}', "pass_fail", 1.0),
        ('Thinking... {"reason": "wrong queue", "verdict": "FAIL"}', "pass_fail", 0.0),
        ('```json\n{"pass": true}\n```', "pass_fail", 1.0),
        ("The answer is incorrect.\nVerdict: FAIL", "pass_fail", 0.0),
        ("Looks right. PASS", "pass_fail", 1.0),
        ('{"score": 4, "reason": "minor issue"}', "1-5", 4.0),
        ('{"score": "8/10"}', "1-10", 8.0),
        ("Score: **3**/5 because it rambles", "1-5", 3.0),
        ("I'd give it 7/10.", "1-10", 7.0),
        ("no idea", "1-5", None),
        ("", "pass_fail", None),
    ],
)
def test_parse_verdict(text: str, scale: str, grade: float | None) -> None:
    assert parse_verdict(text, scale) == grade


def test_judge_options_are_checked() -> None:
    with pytest.raises(ScorerConfigError, match="rubric"):
        build_scorer("llm_judge", "judged", {"judge": "openai/gpt-4o-mini"})
    with pytest.raises(ScorerConfigError, match="scale"):
        build_scorer("llm_judge", "judged", {"judge": "x", "rubric": "r", "scale": "1-7"})
