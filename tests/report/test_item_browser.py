"""The item browser's embedded data: inert inside <script>, faithful, and within its budget."""

from __future__ import annotations

import json
from typing import Any

from llmpick.report import render_html
from llmpick.report._item_browser import build_browser_data

from .conftest import make_decision

HOSTILE = "</script><!-- <script>alert(1)</script> & \u2028 \"quoted\" 'single' ünïcode"


def _table(data: Any) -> dict[str, Any]:
    return json.loads(str(data.json))


def test_hostile_text_cannot_leave_the_json_element() -> None:
    decision = make_decision(3, 2, payload=False).model_dump(mode="json")
    decision["items"][0]["input"] = HOSTILE
    decision["items"][0]["item_id"] = "</script>"

    data = build_browser_data(decision)

    assert not {"<", ">", "&", "\u2028"} & set(str(data.json))
    table = _table(data)
    assert HOSTILE in table["strings"]
    assert table["items"][0][0] == "</script>"


def test_items_keep_their_responses_and_flags() -> None:
    decision = make_decision(12, 3, payload=False, long_every=0).model_dump(mode="json")
    first = decision["items"][0]

    table = _table(build_browser_data(decision))

    assert [c["id"] for c in table["candidates"]] == [c["id"] for c in decision["candidates"][:3]]
    strings = table["strings"]
    item_id, input_index, expected_index, category_index, disagree, responses = table["items"][0]
    assert (item_id, strings[input_index], strings[expected_index]) == (
        first["item_id"],
        first["input"],
        first["expected"],
    )
    assert strings[category_index] == first["category"]
    by_candidate = {table["candidates"][r[0]]["id"]: r for r in responses}
    for candidate_id, response in first["responses"].items():
        _, text_index, score, _ttft, error_index = by_candidate[candidate_id]
        assert (strings[text_index], score, error_index) == (
            response["text"],
            response["score"],
            -1,
        )
    scores = {r["score"] for r in first["responses"].values()}
    assert disagree == (1 if len(scores) > 1 else 0)
    assert len(strings) < 12 * 4  # repeated answers such as "billing" are stored once


def test_long_texts_are_cut_to_fit_the_budget_and_marked() -> None:
    decision = make_decision(200, 4, long_every=3).model_dump(mode="json")
    unlimited = build_browser_data(decision)

    data = build_browser_data(decision, budget_bytes=unlimited.size_bytes // 3)

    assert unlimited.truncated_texts == 0
    assert data.size_bytes <= unlimited.size_bytes // 3
    assert data.truncated_texts > 0 and data.cap_chars is not None
    cut = [entry for entry in _table(data)["strings"] if isinstance(entry, list)]
    assert len(cut) == data.truncated_texts
    assert all(len(text) == data.cap_chars and full > data.cap_chars for text, full in cut)
    assert data.items_included == data.item_count == 200


def test_items_are_dropped_only_when_even_short_texts_do_not_fit() -> None:
    typed = make_decision(400, 3, input_chars=300)
    decision = typed.model_dump(mode="json")

    data = build_browser_data(decision, budget_bytes=20_000)
    html = render_html(typed, budget_bytes=20_000)

    assert 0 < data.items_included < 400
    assert len(_table(data)["items"]) == data.items_included
    assert f"Only the first {data.items_included:,} items fit in this page" in html
