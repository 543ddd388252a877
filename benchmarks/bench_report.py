"""How long write_report takes for 10,000 items × 10 candidates, and how big the files are.

Run: .venv/bin/python benchmarks/bench_report.py [--items 10000] [--candidates 10] [--runs 3]

Prints: the best-of-N wall time of `write_report` (all three files, fsync included) and of each
renderer alone, the size of report.html (must stay under 10 MB), decision.md and decision.json,
and how many long texts the item browser truncated to fit. The decision comes from the report
tests' fixture builder (tests/report/conftest.py): realistic triage tickets of ~350 tokens.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.report.conftest import make_decision

from llmpick.report import decision_json, render_html, render_markdown, write_report


def _best_of(runs: int, action: Callable[[], object]) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--candidates", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    start = time.perf_counter()
    decision = make_decision(args.items, args.candidates, input_chars=1400)
    built = time.perf_counter() - start
    print(f"fixture: {args.items:,} items × {args.candidates} candidates, built in {built:.2f} s")

    with tempfile.TemporaryDirectory() as folder:
        out_dir = Path(folder)
        total = _best_of(args.runs, lambda: write_report(decision, out_dir))
        html = _best_of(args.runs, lambda: render_html(decision))
        markdown = _best_of(args.runs, lambda: render_markdown(decision))
        as_json = _best_of(args.runs, lambda: decision_json(decision))
        sizes = {p.name: p.stat().st_size for p in out_dir.iterdir()}
        page = (out_dir / "report.html").read_text(encoding="utf-8")

    print(f"write_report: {total:.2f} s (best of {args.runs})")
    print(
        f"  render_html {html:.2f} s, render_markdown {markdown:.3f} s, "
        f"decision_json {as_json:.2f} s"
    )
    for name, size in sorted(sizes.items()):
        limit = "  (limit 10 MB)" if name == "report.html" else ""
        print(f"  {name}: {size / 1e6:.2f} MB{limit}")
    marker = "long texts are truncated to "
    if marker in page:
        at = page.index(marker)
        print("  item browser:", page[page.rindex(">", 0, at) + 1 : page.index("here", at)].strip())


if __name__ == "__main__":
    main()
