"""report.html: one self-contained page (inline CSS, SVG and script; no network at all).

Dataset and model strings are untrusted. Jinja2 autoescaping covers the page, the charts escape
their own text, the item data is inert JSON, and a Content-Security-Policy lets only the page's
own script (by hash) run and forbids every network request, as a second line of defence.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from functools import cache
from importlib.resources import files
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from llmpick.report._charts import (
    capacity_chart,
    category_quality_chart,
    cost_volume_chart,
    latency_chart,
    loss_chart,
    quality_cost_chart,
)
from llmpick.report._item_browser import DEFAULT_BUDGET_BYTES, build_browser_data
from llmpick.report._markdown import GUARDRAIL_NOTES
from llmpick.report._view import (
    MISSING,
    as_dict,
    as_list,
    as_number,
    as_text,
    candidate_name,
    candidates,
    dig,
    eligible_candidates,
    format_ci,
    format_count,
    format_ms,
    format_number,
    format_percent,
    format_plain,
    format_rate,
    format_usd,
    is_http_url,
    provenance_text,
)

if TYPE_CHECKING:
    from llmpick.decision import Decision

__all__ = ["render_html"]

_KNOWN_PROVENANCE = frozenset({"measured", "catalog", "estimate", "assumed", "none"})


def _template_text(name: str) -> str:
    return files("llmpick.report").joinpath("templates", name).read_text(encoding="utf-8")


@cache
def _environment() -> Environment:
    environment = Environment(
        loader=PackageLoader("llmpick.report", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.globals.update(
        MISSING=MISSING,
        as_dict=as_dict,
        as_list=as_list,
        as_number=as_number,
        as_text=as_text,
        candidate_name=candidate_name,
        dig=dig,
        format_ci=format_ci,
        format_count=format_count,
        format_ms=format_ms,
        format_number=format_number,
        format_percent=format_percent,
        format_plain=format_plain,
        format_rate=format_rate,
        format_usd=format_usd,
        is_http_url=is_http_url,
        provenance_kind=provenance_kind,
        provenance_text=provenance_text,
    )
    return environment


def provenance_kind(figure: object) -> str:
    """The badge class for a figure: one of the known kinds, or `unknown` (never raw input)."""
    kind = as_text(dig(figure, "provenance")).strip().lower()
    return kind if kind in _KNOWN_PROVENANCE else "unknown"


def _script_hash(script: str) -> str:
    digest = hashlib.sha256(script.encode("utf-8")).digest()
    return "sha256-" + base64.b64encode(digest).decode("ascii")


def _sources(decision: Mapping[str, Any]) -> list[dict[str, str]]:
    """Every figure's provenance, one row per candidate and figure, for the provenance section."""
    rows = []
    for candidate in candidates(decision):
        for figure in ("quality", "latency", "cost"):
            data = as_dict(candidate.get(figure))
            if not data:
                continue
            rows.append(
                {
                    "candidate": candidate_name(candidate),
                    "figure": figure,
                    "kind": provenance_kind(data),
                    "source": as_text(data.get("source")),
                    "as_of": as_text(data.get("as_of")),
                }
            )
    return rows


def render_html(
    typed: Decision,
    budget_bytes: int = DEFAULT_BUDGET_BYTES,
    *,
    data: Mapping[str, Any] | None = None,
) -> str:
    """The full report page as a string (the caller writes it). `data` is the decision's JSON
    form when the caller already has it (the charts and item browser read that)."""
    decision = data if data is not None else typed.model_dump(mode="json")
    script = _template_text("item_browser.js.j2")
    by_id = {as_text(c.get("id")): c for c in candidates(decision)}
    recommendation = as_dict(decision.get("recommendation"))

    def lookup(candidate_id: object) -> dict[str, Any] | None:
        return by_id.get(as_text(candidate_id)) if candidate_id else None

    charts = {
        "quality_cost": quality_cost_chart(decision),
        "cost_volume": cost_volume_chart(decision),
        "latency": latency_chart(decision),
        "category_quality": category_quality_chart(decision),
        # Only when a load test fed the decision: most decisions have none.
        "capacity": capacity_chart(decision) if as_list(decision.get("load_tests")) else None,
        "loss": loss_chart(decision) if decision.get("tuning") else None,
    }
    context = {
        "d": decision,
        "dec": typed,
        "guardrail_notes": GUARDRAIL_NOTES,
        "rec": recommendation,
        "winner": lookup(recommendation.get("id")),
        "lookup": lookup,
        "eligible": eligible_candidates(decision),
        "excluded": [c for c in candidates(decision) if c.get("eligible") is False],
        "warned": [c for c in candidates(decision) if as_list(c.get("warnings"))],
        "charts": charts,
        "browser": build_browser_data(decision, budget_bytes),
        "sources": _sources(decision),
        "css": Markup(_template_text("report.css.j2")),
        "script": Markup(script),
        "csp": (
            "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
            f"script-src '{_script_hash(script)}'; base-uri 'none'; form-action 'none'"
        ),
    }
    return _environment().get_template("report.html.j2").render(context)
