from __future__ import annotations

from pathlib import Path

import pytest

from llmpick.evaluation import (
    Item,
    Sample,
    Score,
    Scorer,
    ScorerConfigError,
    build_scorer,
    register_scorer,
    scorer_kinds,
)


def _sample(output: str, expected: str | None = None, **fields: object) -> Sample:
    return Sample(Item("1", "q", expected, None, dict(fields), 1), output)


def _score(kind: str, output: str, expected: str | None = None, **options: object) -> Score:
    return build_scorer(kind, None, options).score(_sample(output, expected))


def test_all_documented_kinds_are_registered() -> None:
    assert set(scorer_kinds()) >= {
        "exact", "normalized_exact", "contains", "regex", "choice", "numeric", "json_valid",
        "json_schema", "token_f1", "llm_judge", "python",
    }  # fmt: skip


def test_unknown_kind_and_bad_options_say_what_exists() -> None:
    with pytest.raises(ScorerConfigError, match="available: choice, contains"):
        build_scorer("fuzzy")
    with pytest.raises(ScorerConfigError, match=r"'acc' \(type choice\).*choices"):
        build_scorer("choice", "acc", {"labels": ["a"]})


def test_text_matchers() -> None:
    assert _score("exact", " Paris\n", "Paris").passed
    assert not _score("exact", "paris", "Paris").passed
    assert _score("normalized_exact", "The Paris!", "paris").passed
    assert _score("contains", "It is PARIS, France", "Paris").passed
    assert _score("contains", "red and blue", values=["red", "blue"], match="all").passed
    assert not _score("contains", "red", values=["red", "blue"], match="all").passed


def test_regex_with_capture_group() -> None:
    assert _score("regex", "Answer: B", pattern=r"answer:\s*(\w)", ignore_case=True).passed
    scored = _score("regex", "Answer: B", "b", pattern=r"Answer: (\w)", group=1)
    assert scored.passed and scored.detail == "B"
    with pytest.raises(ScorerConfigError, match="bad regex"):
        build_scorer("regex", None, {"pattern": "("})


def test_choice_reads_the_first_label_named() -> None:
    options = {"choices": ["billing", "technical", "other"], "aliases": {"billing": ["invoice"]}}
    assert _score("choice", "Billing. Not technical.", "billing", **options).passed
    assert _score("choice", "This is an invoice question", "billing", **options).passed
    wrong = _score("choice", "technical, maybe billing", "billing", **options)
    assert not wrong.passed and wrong.detail == "technical"
    assert _score("choice", "no idea", "other", **options).detail == "no label found"
    assert not _score("choice", "billings", "billing", **options).passed  # whole words only


def test_numeric_takes_the_last_number() -> None:
    assert _score("numeric", "3 apples + 9 = 12", "12").passed
    assert _score("numeric", "Total: 1,234.50 USD", "1234.5").passed
    assert _score("numeric", "about 101", "100", rel_tol=0.02).passed
    assert not _score("numeric", "about 103", "100", rel_tol=0.02).passed
    assert _score("numeric", "none", "5").detail == "no number in the answer"


def test_json_scorers(tmp_path: Path) -> None:
    assert _score("json_valid", '```json\n{"a": 1}\n```').passed
    assert not _score("json_valid", "{a: 1}").passed
    schema = {"type": "object", "required": ["queue"], "properties": {"queue": {"enum": ["x"]}}}
    assert _score("json_schema", '{"queue": "x"}', schema=schema).passed
    bad = _score("json_schema", '{"queue": "y"}', schema=schema)
    assert not bad.passed and bad.detail is not None and bad.detail.startswith("queue:")
    (tmp_path / "s.json").write_text('{"type": "array"}')
    scorer = build_scorer("json_schema", None, {"schema_path": "s.json"}, base_dir=tmp_path)
    assert scorer.score(_sample("[1]")).passed


def test_token_f1() -> None:
    scored = _score("token_f1", "the cat sat", "a cat sat down", pass_threshold=0.7)
    assert scored.value == pytest.approx(0.8) and scored.passed


def test_expected_needed() -> None:
    with pytest.raises(ScorerConfigError, match="expected_field"):
        _score("exact", "x", None)


async def test_python_function_from_a_file_next_to_the_spec(tmp_path: Path) -> None:
    (tmp_path / "my_checks.py").write_text(
        "def polite(output, expected, item):\n"
        "    return {'value': float('please' in output), 'detail': item.get('tone')}\n"
        "async def short(output, expected, item):\n"
        "    return len(output) < 5\n"
    )
    polite = build_scorer("python", None, {"function": "my_checks:polite"}, base_dir=tmp_path)
    scored = await polite.ascore(_sample("yes please", tone="warm"))
    assert scored.value == 1.0 and scored.detail == "warm"
    short = build_scorer("python", None, {"function": "my_checks:short"}, base_dir=tmp_path)
    assert (await short.ascore(_sample("hey"))).passed
    with pytest.raises(ScorerConfigError, match="cannot load"):
        build_scorer("python", None, {"function": "my_checks:missing"}, base_dir=tmp_path)


def test_users_register_their_own() -> None:
    class StartsWithYes(Scorer):
        kind = "starts_with_yes_test"

        def score(self, sample: Sample) -> Score:
            return Score.from_bool(sample.output.lower().startswith("yes"))

    register_scorer(StartsWithYes)
    assert build_scorer("starts_with_yes_test").score(_sample("Yes!")).passed
