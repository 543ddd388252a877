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
    describe_scorers,
    register_scorer,
    scorer_kinds,
)


def _sample(output: str, expected: str | None = None, **fields: object) -> Sample:
    return Sample(Item("1", "q", expected, None, dict(fields), 1), output)


def _score(kind: str, output: str, expected: str | None = None, **options: object) -> Score:
    return build_scorer(kind, None, options).score(_sample(output, expected))


_BUILT_IN = {
    "exact", "normalized_exact", "contains", "regex", "choice", "numeric", "json_valid",
    "json_schema", "token_f1", "llm_judge", "python",
}  # fmt: skip


def test_all_documented_kinds_are_registered() -> None:
    assert set(scorer_kinds()) >= _BUILT_IN


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


def _sample_for(output: str, expected: str, input_text: str) -> Sample:
    return Sample(Item("1", input_text, expected, None, {}, 1), output)


_QUEUES = {"choices": ["billing", "technical", "other"], "aliases": {"billing": ["invoice"]}}
_TICKET = "My invoice shows a billing error for March, please fix it"


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        (" billing, technical or other.", "all labels listed"),
        ("Billing, cancel, technical or sales.", "the label asked for listed first"),
        ("Billing. Not technical.", "two labels named"),
        ("You route tickets. Answer with one word: billing, technical or other.", "prompt echo"),
        (f"Ticket: {_TICKET}\nQueue:", "the input echoed"),
        (f"Ticket: {_TICKET.upper()}", "the input echoed in capitals"),
        ("", "empty"),
        ("   \n", "blank"),
        ("billings", "not a whole word"),
    ],
)
def test_choice_scores_degenerate_answers_0(answer: str, why: str) -> None:
    scored = build_scorer("choice", None, _QUEUES).score(_sample_for(answer, "billing", _TICKET))
    assert scored.value == 0.0 and scored.passed is False, why


def test_choice_records_why_an_answer_scored_0() -> None:
    listing = _score("choice", "billing, technical or other", "billing", **_QUEUES)
    assert listing.is_ambiguous and listing.detail == "ambiguous: names billing, technical, other"
    assert _score("choice", "no idea", "other", **_QUEUES).detail == "no label found"
    assert not _score("choice", "no idea", "other", **_QUEUES).is_ambiguous


def test_choice_reads_the_one_label_named() -> None:
    assert _score("choice", "Billing.", "billing", **_QUEUES).passed
    assert _score("choice", "This is an invoice question", "billing", **_QUEUES).passed
    assert _score("choice", "billing. Yes, billing", "billing", **_QUEUES).passed  # one label
    assert _score("choice", "An invoice, so billing", "billing", **_QUEUES).passed  # its alias
    wrong = _score("choice", "technical", "billing", **_QUEUES)
    assert not wrong.passed and wrong.detail == "technical" and not wrong.is_ambiguous
    # The answer after an echoed ticket counts, the ticket's own words do not.
    echoed = _sample_for(f"Ticket: {_TICKET}\nQueue: technical", "technical", _TICKET)
    assert build_scorer("choice", None, _QUEUES).score(echoed).passed
    # A short input is no echo: an answer repeating a one-word input is the answer.
    short = _sample_for("billing", "billing", "billing?")
    assert build_scorer("choice", None, _QUEUES).score(short).passed


def test_choice_extract_is_none_when_several_labels_are_named() -> None:
    scorer = build_scorer("choice", None, _QUEUES)
    assert scorer.extract("technical, maybe billing") is None  # type: ignore[attr-defined]
    assert scorer.labels_named("technical, maybe billing") == ["technical", "billing"]  # type: ignore[attr-defined]
    assert scorer.extract("invoice") == "billing"  # type: ignore[attr-defined]


def test_choice_aliases_must_belong_to_a_choice() -> None:
    with pytest.raises(ScorerConfigError, match="aliases for biling"):
        build_scorer(
            "choice", "acc", {"choices": ["billing", "other"], "aliases": {"biling": ["x"]}}
        )


def test_contains_degenerate_answers() -> None:
    assert not _score("contains", "", "Paris").passed
    assert _score("contains", "", "Paris").detail == "missing 'Paris'"
    # Containment cannot see a list of guesses (documented: use `choice` for labels) ...
    assert _score("contains", "Paris, London or Berlin", "Paris").passed
    # ... but the reference inside an echoed question does not count.
    echoed = _sample_for("What is the capital of France, Paris or Lyon?", "Paris",
                         "What is the capital of France, Paris or Lyon?")  # fmt: skip
    assert not build_scorer("contains").score(echoed).passed
    assert _score("contains", "about 120", "12").passed
    assert not _score("contains", "about 120", "12", whole_word=True).passed
    assert _score("contains", "about 12.", "12", whole_word=True).passed
    with pytest.raises(ScorerConfigError, match="values"):
        build_scorer("contains", None, {"values": [""]})


def test_regex_reads_every_match() -> None:
    pattern = {"pattern": r"answer:\s*(\w)", "ignore_case": True, "group": 1}
    both = _score("regex", "Answer: A\nAnswer: B", "b", **pattern)
    assert both.is_ambiguous and both.value == 0.0 and both.detail == "ambiguous: A, B"
    assert _score("regex", "Answer: B. So the answer: b", "b", **pattern).passed  # same capture
    assert _score("regex", "Answer: A\nAnswer: B", "b", occurrence="last", **pattern).passed
    assert not _score("regex", "Answer: A\nAnswer: B", "b", occurrence="first", **pattern).passed
    assert _score("regex", "", "b", **pattern).detail == "no match"
    with pytest.raises(ScorerConfigError, match="no group 2"):
        build_scorer("regex", None, {"pattern": r"(\w)", "group": 2})
    with pytest.raises(ScorerConfigError, match="no group 'x'"):
        build_scorer("regex", None, {"pattern": r"(?P<y>\w)", "group": "x"})


def test_numeric_takes_the_last_number() -> None:
    assert _score("numeric", "3 apples + 9 = 12", "12").passed
    assert _score("numeric", "Total: 1,234.50 USD", "1234.5").passed
    assert _score("numeric", "about 101", "100", rel_tol=0.02).passed
    assert not _score("numeric", "about 103", "100", rel_tol=0.02).passed
    assert _score("numeric", "none", "5").detail == "no number in the answer"
    assert _score("numeric", "", "5").detail == "no number in the answer"


def test_numeric_occurrence_only_refuses_a_list_of_guesses() -> None:
    guesses = _score("numeric", "10, 11 or 12", "12", occurrence="only")
    assert guesses.is_ambiguous and guesses.detail == "ambiguous: numbers 10, 11, 12"
    assert _score("numeric", "12, yes 12", "12", occurrence="only").passed
    assert _score("numeric", "12 then 3", "12", occurrence="first").passed
    # Numbers of an echoed question do not count.
    question = "What is 3 plus 9 in total?"
    echoed = _sample_for(f"{question} 12", "12", question)
    assert build_scorer("numeric", None, {"occurrence": "only"}).score(echoed).passed


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


def test_every_kind_is_described_with_an_example_that_builds(tmp_path: Path) -> None:
    (tmp_path / "my_checks.py").write_text("def is_polite(output, expected, item):\n    return 1\n")
    described = {d.kind: d for d in describe_scorers()}
    assert sorted(described) == scorer_kinds()
    for kind, description in described.items():
        if kind not in _BUILT_IN:
            continue  # registered by other tests or packages; they keep their own examples
        assert description.summary, kind
        entry = dict(description.example)
        assert entry.pop("type") == kind
        name = entry.pop("name", None)
        build_scorer(kind, name, entry, base_dir=tmp_path)  # raises if the example is wrong
    choice = {o.name: o for o in described["choice"].options}
    assert choice["choices"].required and choice["choices"].type == "list[str]"
    assert choice["case_sensitive"].default is False
    assert "base_dir" not in {o.name for o in described["python"].options}
    assert "schema" in {o.name for o in described["json_schema"].options}  # the alias
    assert "ambiguous" in described["choice"].details


def test_the_spec_schema_names_every_built_in_scorer() -> None:
    from llmpick.spec import json_schema

    described = json_schema()["$defs"]["ScorerSpec"]["properties"]["type"]["description"]
    assert [kind for kind in sorted(_BUILT_IN) if f" {kind}," not in described] == []
    assert "llmpick scorers list" in described
