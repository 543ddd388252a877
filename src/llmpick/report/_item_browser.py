"""The item browser's data: every item and response, compact, size-capped and safe to inline.

The HTML embeds this as `<script type="application/json">`, which the browser never executes;
`<`, `>` and `&` are written as `\\u003c` etc. so `</script>` inside model output cannot end the
element early. The page's script renders it with `textContent` only.

Size: 10,000 items × 10 candidates must fit in a report under 10 MB. Texts are interned (triage
answers like "billing" are stored once) and, when the whole still exceeds the budget, every text
is cut to the same, largest length that fits; each cut text carries its original length so the
page marks it "truncated". Full texts stay in decision.json.
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup

from llmpick.report._view import as_dict, as_list, as_number, as_text, candidate_name, candidates

__all__ = ["DEFAULT_BUDGET_BYTES", "BrowserData", "build_browser_data", "escape_json_for_html"]

DEFAULT_BUDGET_BYTES = 8_500_000
# No text is longer than MAX_CAP in the page (one huge output would dwarf the rest); when the
# data still exceeds its budget, texts are cut to the largest cap that fits, down to MIN_CAP.
MAX_CAP, MIN_CAP = 20_000, 60
_HTML_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}


def escape_json_for_html(text: str) -> str:
    """JSON text made safe inside a `<script>` element (no `</script>`, `<!--` or entities)."""
    for raw, escaped in _HTML_ESCAPES.items():
        text = text.replace(raw, escaped)
    return text


@dataclass(frozen=True)
class BrowserData:
    """What the template needs: the script-safe JSON and what was left out to fit the budget."""

    json: Markup
    item_count: int
    items_included: int
    truncated_texts: int
    cap_chars: int | None
    size_bytes: int


def _score(value: object) -> float | None:
    number = as_number(value)
    return None if number is None else round(number, 4)


def build_browser_data(
    decision: Mapping[str, Any], budget_bytes: int = DEFAULT_BUDGET_BYTES
) -> BrowserData:
    """Encode the decision's items for the page, cutting texts (then items) to fit the budget."""
    candidate_ids: list[str] = []
    labels: list[str] = []
    index_of: dict[str, int] = {}

    def candidate_index(candidate_id: str, label: str | None = None) -> int:
        if candidate_id not in index_of:
            index_of[candidate_id] = len(candidate_ids)
            candidate_ids.append(candidate_id)
            labels.append(label or candidate_id)
        return index_of[candidate_id]

    for candidate in candidates(decision):
        candidate_id = as_text(candidate.get("id"))
        # Only candidates with answers get a column: an unmeasured one would be all blanks.
        if (
            candidate_id
            and candidate.get("eligible") is not False
            and candidate.get("measured") is not False
        ):
            candidate_index(candidate_id, candidate_name(candidate))

    strings: list[str] = []
    string_index: dict[str, int] = {}

    def intern(value: object) -> int:
        if value is None:
            return -1
        text = as_text(value)
        if text not in string_index:
            string_index[text] = len(strings)
            strings.append(text)
        return string_index[text]

    rows: list[list[Any]] = []
    for item in as_list(decision.get("items")):
        item = as_dict(item)
        responses = []
        scores = set()
        answers = set()
        for candidate_id, response in as_dict(item.get("responses")).items():
            response = as_dict(response)
            score = _score(response.get("score"))
            ttft = as_number(response.get("ttft_ms"))
            error = response.get("error")
            responses.append(
                [
                    candidate_index(str(candidate_id)),
                    intern(response.get("text")),
                    score,
                    None if ttft is None else round(ttft, 1),
                    intern(error) if error else -1,
                ]
            )
            scores.add(score)
            answers.add(as_text(response.get("text")).strip().casefold())
        scored = None not in scores
        disagree = len(scores) > 1 if scored else len(answers) > 1
        rows.append(
            [
                as_text(item.get("item_id")),
                intern(item.get("input")),
                intern(item.get("expected")),
                intern(item.get("category")),
                1 if disagree else 0,
                responses,
            ]
        )

    head = [{"id": i, "label": lbl} for i, lbl in zip(candidate_ids, labels, strict=True)]
    head_json = escape_json_for_html(_encode(head))
    rows_json = escape_json_for_html(_encode(rows))
    fixed = _utf8_size(head_json) + _utf8_size(rows_json) + 40
    cap = _estimate_cap(strings, budget_bytes - fixed)
    while True:
        strings_json, truncated = _encode_strings(strings, cap)
        size = fixed + _utf8_size(strings_json)
        if size <= budget_bytes or cap == MIN_CAP:
            break
        cap = max(int(cap * 0.9), MIN_CAP)  # the estimate was a little optimistic
    items_included = len(rows)
    if size > budget_bytes and rows:
        # Even the shortest cap does not fit: keep the leading items that do.
        items_included = max(int(len(rows) * budget_bytes / size * 0.95), 1)
        rows_json = escape_json_for_html(_encode(rows[:items_included]))
    text = f'{{"candidates":{head_json},"strings":{strings_json},"items":{rows_json}}}'
    return BrowserData(
        json=Markup(text),
        item_count=len(rows),
        items_included=items_included,
        truncated_texts=truncated,
        cap_chars=cap if truncated else None,
        size_bytes=_utf8_size(text),
    )


def _utf8_size(text: str) -> int:
    return len(text.encode("utf-8", errors="replace"))


def _encode(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _estimate_cap(strings: list[str], budget: int) -> int:
    """The largest per-text cap whose string table should fit `budget` bytes (estimated).

    Each text's encoded size is taken as linear in its length (its own bytes-per-char ratio),
    so the size at any cap is one bisection over the texts sorted by length.
    """
    if not strings:
        return MAX_CAP
    texts = sorted(strings, key=len)
    lengths = [len(text) for text in texts]
    ratios = [(_utf8_size(_encode(text)) - 2) / max(len(text), 1) for text in texts]
    below = [0.0]  # running sum of the full sizes of the shortest texts
    for length, ratio in zip(lengths, ratios, strict=True):
        below.append(below[-1] + length * ratio)
    above = [0.0] * (len(texts) + 1)  # running sum of ratios of the longest texts
    for index in range(len(texts) - 1, -1, -1):
        above[index] = above[index + 1] + ratios[index]
    per_text_overhead = 3  # quotes and comma

    def size_at(cap: int) -> float:
        split = bisect.bisect_right(lengths, cap)
        cut = len(texts) - split
        return below[split] + cap * above[split] + cut * 12 + len(texts) * per_text_overhead

    low, high = MIN_CAP, MAX_CAP
    if size_at(high) <= budget:
        return MAX_CAP
    while low < high:
        middle = (low + high + 1) // 2
        if size_at(middle) <= budget:
            low = middle
        else:
            high = middle - 1
    return low


def _encode_strings(strings: list[str], cap: int) -> tuple[str, int]:
    """The string table with each text cut to `cap` chars; a cut text is `[text, full_length]`."""
    table: list[object] = []
    truncated = 0
    for text in strings:
        if len(text) > cap:
            table.append([text[:cap], len(text)])
            truncated += 1
        else:
            table.append(text)
    return escape_json_for_html(_encode(table)), truncated
