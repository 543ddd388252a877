"""A dataset row's own `assert` checks: parsed with located errors, scored with reasons."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmpick.evaluation import (
    ASSERTIONS_METRIC,
    DatasetError,
    Item,
    Sample,
    load_dataset,
    row_assertions,
)


def _item(checks: object, expected: str | None = "billing", item_id: str = "t1") -> Item:
    return Item(item_id, "Refund my order please", expected, None, {"assert": checks}, 3)


def _score(checks: object, output: str, e2e_s: float | None = 0.5, ttft_s: float | None = 0.1):  # type: ignore[no-untyped-def]
    item = _item(checks)
    scorer = row_assertions([item], "cases.jsonl")
    assert scorer is not None and scorer.metric == ASSERTIONS_METRIC
    return scorer.score(Sample(item, output, "m", e2e_s, ttft_s))


@pytest.mark.parametrize(
    ("checks", "problem"),
    [
        ("not json", "cases.jsonl row 3: assert: expected a list of checks"),
        ([{"value": "x"}], "cases.jsonl row 3: assert[0]: each check is a mapping with a `type`"),
        ([{"type": "fuzzy", "value": "x"}], "assert[0]: unknown check type 'fuzzy'; available: "),
        ([{"type": "max_latency_ms", "value": -1}], "assert[0]: max_latency_ms needs a positive"),
        ([{"type": "max_latency_ms", "value": "fast"}], "needs a positive number"),
        (
            [{"type": "regex", "value": "("}],
            "assert[0]: scorer 'regex' (type regex): pattern: bad regex pattern",
        ),
        ([{"type": "contains", "value": "x", "colour": 1}], "assert[0]: scorer 'contains'"),
    ],
)
def test_bad_checks_are_located_before_the_run(checks: object, problem: str) -> None:
    with pytest.raises(DatasetError) as caught:
        row_assertions([_item(checks)], "cases.jsonl")
    assert any(problem in p for p in caught.value.problems), caught.value.problems


def test_every_bad_check_of_every_row_is_listed_at_once() -> None:
    items = [
        _item([{"type": "fuzzy"}, {"type": "max_ttft_ms"}], item_id="a"),
        _item([{"type": "contains", "value": "ok"}], item_id="b"),
        _item(7, item_id="c"),
    ]
    with pytest.raises(DatasetError) as caught:
        row_assertions(items, "cases.jsonl")
    assert len(caught.value.problems) == 3


def test_rows_without_checks_give_no_scorer() -> None:
    assert row_assertions([_item(None), _item("")], "cases.jsonl") is None


def test_each_failure_says_which_check_and_why() -> None:
    checks = [
        {"type": "contains", "value": "refund"},
        {"type": "not_contains", "value": "sorry"},
        {"type": "regex", "value": "^billing\\b"},
        {"type": "max_latency_ms", "value": 2000},
        {"type": "max_ttft_ms", "value": 50},
        {"type": "choice", "choices": ["billing", "other"]},  # the row's own expected answer
        {"type": "exact", "value": "other"},  # `value` replaces the expected answer
    ]
    good = _score(checks, "billing", e2e_s=0.5, ttft_s=0.01)
    assert not good.passed  # `contains refund` fails on "billing"
    assert good.detail == "contains 'refund': missing 'refund'; exact 'other': failed"
    bad = _score(checks, "Sorry, billing, other", e2e_s=3.4, ttft_s=0.2)
    assert bad.value == 0.0 and bad.detail is not None
    reasons = bad.detail.split("; ")
    assert reasons == [
        "contains 'refund': missing 'refund'",
        "not_contains 'sorry': matched",
        "regex '^billing\\\\b': no match",
        "max_latency_ms 2000: took 3,400 ms",
        "max_ttft_ms 50: took 200 ms",
        "choice: ambiguous: names billing, other",
        "exact 'other': failed",
    ]
    passing = _score([{"type": "contains", "value": ["refund", "order"]}], "a refund", 0.1)
    assert passing.passed and passing.value == 1.0 and passing.detail == "1 check(s) passed"


def test_a_timing_check_on_an_answer_without_that_timing_fails_with_the_reason() -> None:
    scored = _score([{"type": "max_ttft_ms", "value": 10}], "x", ttft_s=None)
    assert not scored.passed
    assert scored.detail == "max_ttft_ms 10: could not check (the response has no such timing)"


def test_a_row_without_checks_has_no_value_and_no_error() -> None:
    items = [_item([{"type": "contains", "value": "x"}]), _item(None, item_id="t2")]
    scorer = row_assertions(items, "cases.jsonl")
    assert scorer is not None
    unchecked = scorer.score(Sample(items[1], "x"))
    assert unchecked.value is None and unchecked.error is None


def test_checks_in_a_csv_cell_are_json(tmp_path: Path) -> None:
    path = tmp_path / "cases.csv"
    path.write_text(
        'input,expected,assert\n"hi",billing,"[{""type"": ""contains"", ""value"": ""hi""}]"\n'
    )
    loaded = load_dataset(path)
    scorer = row_assertions(loaded.items, path)
    assert scorer is not None
    assert scorer.score(Sample(loaded.items[0], "hi there")).passed
