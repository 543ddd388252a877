"""report.html in a real headless Chromium: renders offline, four charts, no errors, nothing runs.

Needs the Debian package `chromium` (`apt-get install -y chromium`); skipped when it is absent.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from llmpick.decision import Decision
from llmpick.report import write_report

from .chromium import find_chromium, open_page
from .conftest import PAYLOAD_IMG, PAYLOAD_ITEM_ID, PAYLOAD_SCRIPT, make_decision

CHROMIUM = find_chromium()
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="chromium is not installed (Debian: apt-get update && apt-get install -y chromium)",
)

CLICK_NEXT = """(() => {
  const next = document.querySelector('#item-browser [data-role=next]');
  if (next.disabled) { return false; }
  next.click();
  return true;
})()"""

PAGE_STATE = """(() => ({
  items: document.querySelectorAll('#item-browser [data-item]').length,
  status: document.querySelector('#item-browser [data-role=status]').textContent,
  payloadText: Array.from(document.querySelectorAll('#item-browser [data-item]'))
    .filter(item => item.querySelector('b').textContent === %r)
    .map(item => item.textContent).join(''),
  truncatedMarks: document.querySelectorAll('#item-browser .truncated').length,
  pwned: typeof window.__pwned,
  images: document.images.length,
  scripts: document.scripts.length,
}))()"""


async def test_report_renders_with_four_charts_and_no_errors(
    decision: Decision, out_dir: Path
) -> None:
    files = write_report(decision, out_dir)
    assert CHROMIUM is not None

    async with open_page(CHROMIUM) as page:
        await page.navigate(files.html.as_uri())
        charts = await page.evaluate(
            "Array.from(document.querySelectorAll('svg[data-chart]')).map(s => s.dataset.chart)"
        )
        rendered = await page.evaluate(
            "Array.from(document.querySelectorAll('svg[data-chart]'))"
            ".map(s => s.getBoundingClientRect().width > 100"
            " && s.querySelectorAll('*').length > 20)"
        )
        title = await page.evaluate("document.title")

    assert charts == ["quality-cost", "cost-volume", "latency", "category-quality"]
    assert rendered == [True, True, True, True]
    assert title == "llmpick report: support-ticket-triage"
    assert page.errors == []
    assert page.requests == [files.html.as_uri()]  # nothing else was fetched


async def test_hostile_model_output_runs_nothing_while_paging(
    decision: Decision, out_dir: Path
) -> None:
    files = write_report(decision, out_dir)
    assert CHROMIUM is not None

    async with open_page(CHROMIUM) as page:
        await page.navigate(files.html.as_uri())
        states = [await page.evaluate(PAGE_STATE % PAYLOAD_ITEM_ID)]
        while await page.evaluate(CLICK_NEXT):
            states.append(await page.evaluate(PAGE_STATE % PAYLOAD_ITEM_ID))

    assert [s["items"] for s in states] == [50, 50, 20]  # 120 items, 50 per page
    assert states[-1]["status"] == "Items 101–120 of 120 · page 3 of 3"
    shown = "".join(s["payloadText"] for s in states)
    assert PAYLOAD_SCRIPT in shown and PAYLOAD_IMG in shown  # shown literally, as text
    assert "error: ServerError: HTTP 500: <b>upstream</b> & failed" in shown
    assert {s["pwned"] for s in states} == {"undefined"}
    assert {s["images"] for s in states} == {0}
    assert {s["scripts"] for s in states} == {2}  # the inert JSON and the page's own script
    assert page.errors == []


async def test_filters_match_the_data(decision: Decision, out_dir: Path) -> None:
    files = write_report(decision, out_dir)
    first_id = decision.candidates[0].id
    wrong_for_first = sum(1 for item in decision.items if (item.responses[first_id].score or 0) < 1)
    disagreeing = sum(
        1 for item in decision.items if len({r.score for r in item.responses.values()}) > 1
    )
    assert CHROMIUM is not None

    async with open_page(CHROMIUM) as page:
        await page.navigate(files.html.as_uri())

        async def choose(role: str, value: str) -> str:
            result: str = await page.evaluate(
                f"""(() => {{
                  const select = document.querySelector('#item-browser [data-role={role}]');
                  select.value = {value!r};
                  select.dispatchEvent(new Event('change'));
                  return document.querySelector('#item-browser [data-role=status]').textContent;
                }})()"""
            )
            return result

        disagree_status = await choose("filter", "disagree")
        await choose("filter", "wrong")
        wrong_status = await choose("candidate", "0")
        rows_per_item = await page.evaluate(
            "Array.from(document.querySelectorAll('#item-browser [data-item] tr')).length"
            " / document.querySelectorAll('#item-browser [data-item]').length"
        )

    assert disagree_status.endswith(f"of {disagreeing} · page 1 of {-(-disagreeing // 50)}")
    assert f"of {wrong_for_first} ·" in wrong_status
    assert rows_per_item == 2  # header + the chosen candidate's response
    assert page.errors == []


async def test_truncated_texts_are_marked(out_dir: Path) -> None:
    decision = make_decision(60, 3, long_every=2)
    files = write_report(decision, out_dir, browser_budget_bytes=60_000)
    assert CHROMIUM is not None

    async with open_page(CHROMIUM) as page:
        await page.navigate(files.html.as_uri())
        state = await page.evaluate(PAGE_STATE % PAYLOAD_ITEM_ID)
        first_mark = await page.evaluate(
            "document.querySelector('#item-browser .truncated').textContent"
        )

    assert state["truncatedMarks"] > 0
    assert "truncated:" in first_mark and "full text in decision.json" in first_mark
    assert page.errors == []


@pytest.mark.slow
async def test_large_report_pages_through_10k_items(large_report: Path) -> None:
    assert CHROMIUM is not None

    async with open_page(CHROMIUM) as page:
        await page.navigate(large_report.as_uri())
        first = await page.evaluate(PAGE_STATE % PAYLOAD_ITEM_ID)
        await page.evaluate("document.querySelector('#item-browser [data-role=last]').click()")
        last = await page.evaluate(PAGE_STATE % PAYLOAD_ITEM_ID)

    assert first["status"] == "Items 1–50 of 10,000 · page 1 of 200"
    assert first["items"] == 50 and first["truncatedMarks"] > 0
    assert last["status"] == "Items 9,951–10,000 of 10,000 · page 200 of 200"
    assert PAYLOAD_SCRIPT in last["payloadText"] and last["pwned"] == "undefined"
    assert page.errors == []


LAYOUT = r"""(() => {
  const out = {wide_tables: [], clipped_text: [], nav: []};
  for (const box of document.querySelectorAll('main .scroll')) {
    if (box.scrollWidth > box.clientWidth + 1) out.wide_tables.push(box.parentElement.id);
  }
  for (const svg of document.querySelectorAll('svg[data-chart]')) {
    const frame = svg.getBoundingClientRect();
    for (const text of svg.querySelectorAll('text')) {
      const r = text.getBoundingClientRect();
      if (r.left < frame.left - 1 || r.top < frame.top - 1 || r.right > frame.right + 1
          || r.bottom > frame.bottom + 1 || text.textContent.endsWith('…')) {
        out.clipped_text.push(svg.dataset.chart + ': ' + text.textContent);
      }
    }
  }
  out.nav = Array.from(document.querySelectorAll('nav.toc a')).map(a => a.textContent);
  return out;
})()"""


async def test_at_1400_px_tables_fit_and_no_chart_label_is_cut(out_dir: Path) -> None:
    from .conftest import edited

    levels = [(1, 1.2, 90.0), (4, 4.4, 120.0), (16, 28.9, 560.0), (64, 40.0, 3811.0)]
    load_test = {
        "candidate": "meta/llama-3.1-8b-instruct",
        "id": "lt-1",
        "hardware": "1xL4",
        "requests_per_s": 28.9,
        "concurrency": 16,
        "source": "load test lt-1",
        "slo": {"ttft_p95_ms": 300, "e2e_p95_ms": 600},
        "levels": [
            {"concurrency": c, "requests_per_s": r, "e2e_p95_ms": e, "meets_slo": e <= 600}
            for c, r, e in levels
        ],
    }
    decision = edited(make_decision(60, 10), lambda d: d.update(load_tests=[load_test]))
    files = write_report(decision, out_dir)
    assert CHROMIUM is not None

    async with open_page(CHROMIUM) as page:
        await page.send(
            "Emulation.setDeviceMetricsOverride",
            width=1400,
            height=1000,
            deviceScaleFactor=1,
            mobile=False,
        )
        await page.navigate(files.html.as_uri())
        layout = await page.evaluate(LAYOUT)

    # Ten candidates with long names (Mistral Small 3.1 24B Instruct (2503), ...).
    assert layout["wide_tables"] == [], layout["wide_tables"]
    assert layout["clipped_text"] == [], layout["clipped_text"]
    assert "Load tests" in layout["nav"]
    assert page.errors == []
