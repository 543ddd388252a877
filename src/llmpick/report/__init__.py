"""The last step: turn a decision into a report a team can read, commit and re-use.

```python
from llmpick.report import write_report
files = write_report(llmpick.decide("llmpick.yaml"), Path("llmpick-report"))
print(files.html)  # report.html: self-contained, opens offline; charts, tables, item browser
```

`decision.md` is an ADR-style decision record (status "proposed" only when a measured candidate
meets every need) and `decision.json` is the `Decision`'s JSON dump. The three files are written
together or not at all.
"""

from __future__ import annotations

from llmpick.report._html import render_html
from llmpick.report._markdown import markdown_escape, render_markdown
from llmpick.report._view import ReportError
from llmpick.report._writer import (
    HTML_NAME,
    JSON_NAME,
    MARKDOWN_NAME,
    ReportFiles,
    decision_json,
    ensure_writable,
    write_report,
)

__all__ = [
    "HTML_NAME",
    "JSON_NAME",
    "MARKDOWN_NAME",
    "ReportError",
    "ReportFiles",
    "decision_json",
    "ensure_writable",
    "markdown_escape",
    "render_html",
    "render_markdown",
    "write_report",
]
