"""Read the decision dict leniently and format its figures the same way in HTML and Markdown.

The decision engine may leave any figure null or missing (a model that was not measured, a price
the catalog lacks); every reader here returns None for those and every formatter shows an en dash,
so a partial decision still renders. Wrong types count as missing: a report should never crash on
a figure it can show as unknown.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from llmpick._errors import LlmpickError

__all__ = [
    "MISSING",
    "ReportError",
    "as_dict",
    "as_list",
    "as_number",
    "as_text",
    "breakdown_value",
    "candidate_name",
    "candidates",
    "check_decision",
    "dig",
    "eligible_candidates",
    "format_ci",
    "format_count",
    "format_ms",
    "format_number",
    "format_percent",
    "format_plain",
    "format_rate",
    "format_usd",
    "is_http_url",
    "provenance_text",
]

MISSING = "–"


class ReportError(LlmpickError):
    """The decision cannot be written as a report (wrong shape, or the folder cannot be written)."""


def check_decision(decision: object) -> dict[str, Any]:
    """Fail with a clear message when the decision is not a dict with a list of candidates."""
    if not isinstance(decision, Mapping):
        raise ReportError(
            f"decision must be a dict (the decision engine's output), got {type(decision).__name__}"
        )
    for key in ("candidates", "items"):
        value = decision.get(key)
        if value is not None and not isinstance(value, list):
            raise ReportError(
                f"decision[{key!r}] must be a list or null, got {type(value).__name__}; "
                "pass the dict the decision engine produced"
            )
    return dict(decision)


def dig(value: object, *keys: str) -> Any:
    """`value[k1][k2]...`, or None as soon as a level is missing or not a dict."""
    for key in keys:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def as_dict(value: object) -> Mapping[str, Any]:
    """A read-only view of a mapping (no copy: the report never mutates the decision)."""
    if isinstance(value, dict):
        return value
    return dict(value) if isinstance(value, Mapping) else {}


def as_list(value: object) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else []


def as_number(value: object) -> float | None:
    """A finite int/float as float; None for anything else (bools, NaN, strings, null)."""
    kind = type(value)
    if kind is float:
        number: float = value  # type: ignore[assignment]
    elif kind is int:
        number = float(value)  # type: ignore[arg-type]
    elif isinstance(value, bool) or not isinstance(value, int | float):
        return None
    else:
        number = float(value)
    return number if math.isfinite(number) else None


def as_text(value: object) -> str:
    """Any value as display text; None as empty."""
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def candidates(decision: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [dict(c) for c in as_list(decision.get("candidates")) if isinstance(c, Mapping)]


def eligible_candidates(decision: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Candidates not excluded (a missing `eligible` counts as eligible), best rank first."""
    chosen = [c for c in candidates(decision) if c.get("eligible") is not False]
    return sorted(chosen, key=_rank_key)


def _rank_key(candidate: Mapping[str, Any]) -> tuple[float, float]:
    rank = as_number(candidate.get("rank"))
    score = as_number(candidate.get("score"))
    return (rank if rank is not None else math.inf, -(score if score is not None else -math.inf))


def candidate_name(candidate: Mapping[str, Any] | None, fallback: object = None) -> str:
    """The short human name of a candidate: name, then label, then id."""
    if candidate:
        for key in ("name", "label", "id"):
            text = as_text(candidate.get(key)).strip()
            if text:
                return text
    return as_text(fallback) or MISSING


def format_number(value: object, digits: int = 2) -> str:
    number = as_number(value)
    return MISSING if number is None else f"{number:.{digits}f}"


def format_percent(value: object, digits: int = 0) -> str:
    number = as_number(value)
    return MISSING if number is None else f"{number * 100:.{digits}f}%"


def format_usd(value: object) -> str:
    """Dollars with precision that suits the size: $0.0004, $1.23, $1,234, $1.2M."""
    number = as_number(value)
    if number is None:
        return MISSING
    size = abs(number)
    if size >= 1e6:
        return f"${number / 1e6:,.2f}M"
    if size >= 1000:
        return f"${number:,.0f}"
    if size >= 1 or size == 0:
        return f"${number:,.2f}"
    return f"${number:.2g}" if size >= 0.0001 else f"${number:.1e}"


def format_ms(value: object) -> str:
    number = as_number(value)
    if number is None:
        return MISSING
    if number >= 10_000:
        return f"{number / 1000:,.1f} s"
    return f"{number:,.0f} ms" if number >= 10 else f"{number:.1f} ms"


def format_count(value: object) -> str:
    """Large counts readably: 950, 40k, 1.2M."""
    number = as_number(value)
    if number is None:
        return MISSING
    size = abs(number)
    for scale, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if size >= scale * 0.9995:  # so that 999,999 reads 1M, not 1e+03k
            return f"{number / scale:.3g}{suffix}"
    return f"{number:.3g}"


def format_plain(value: object) -> str:
    """A spec value as written: 40000.0 as 40000, booleans as yes/no, None as `not set`."""
    if value is None:
        return "not set"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and math.isfinite(value):
        return str(int(value)) if value.is_integer() else f"{value:.6g}"
    return as_text(value)


def format_rate(value: object, unit: str) -> str:
    number = as_number(value)
    return MISSING if number is None else f"{number:,.1f} {unit}"


def format_ci(quality: Mapping[str, Any] | None) -> str:
    """`0.82 [0.71, 0.90]`, or the mean alone when the interval is missing."""
    mean = as_number(dig(quality, "mean"))
    if mean is None:
        return MISSING
    low, high = as_number(dig(quality, "ci_low")), as_number(dig(quality, "ci_high"))
    if low is None or high is None:
        return f"{mean:.2f}"
    return f"{mean:.2f} [{low:.2f}, {high:.2f}]"


def provenance_text(figure: Mapping[str, Any] | None) -> str:
    """One line saying where a figure comes from: `catalog · <source> · 2026-11-28`."""
    kind = as_text(dig(figure, "provenance")).strip() or "unknown"
    parts = [kind]
    source = as_text(dig(figure, "source")).strip()
    if source:
        parts.append(source)
    as_of = as_text(dig(figure, "as_of")).strip()
    if as_of:
        parts.append(f"as of {as_of}")
    return " · ".join(parts)


_HTTP_URL = re.compile(r"^https?://[^\s<>\"']+$", re.IGNORECASE)


def is_http_url(value: object) -> bool:
    """True only for plain http(s) links: anything else (javascript:, data:) is shown as text."""
    return isinstance(value, str) and bool(_HTTP_URL.match(value.strip()))


# Cost-breakdown entries that are money; the others are counts, rates, shares or names.
_MONEY_KEYS = frozenset(
    {"input", "cached_input", "output", "batch_savings", "gpu", "operations", "hardware_usd",
     "usd_per_hour_per_replica", "tuning", "one_off"}
)  # fmt: skip


def breakdown_value(key: str, value: object) -> str:
    """One cost-breakdown entry as text: dollars only for money (never `$2` replicas)."""
    number = as_number(value)
    if number is None:
        return as_text(value)
    if key in _MONEY_KEYS or key.endswith("_usd") or key.startswith("usd_"):
        return format_usd(number)
    if key == "utilization" or key.endswith("_share"):
        return format_percent(number, 1)
    if key.endswith("_per_s") or "_per_s_" in key:
        return f"{number:,.2f}/s"
    return f"{number:,.0f}" if float(number).is_integer() else f"{number:,.2f}"
