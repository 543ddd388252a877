"""Per-case assertions: checks a dataset row carries for itself, beside the spec-wide scorers.

A row's `assert` field is a list of checks (a JSON list in a CSV cell):

    {"id": "t7", "ticket": "Refund my order", "queue": "billing",
     "assert": [{"type": "contains", "value": "refund"},
                {"type": "not_contains", "value": "sorry"},
                {"type": "regex", "value": "^(billing|other)\\b"},
                {"type": "max_latency_ms", "value": 2000}]}

Every scorer kind of the registry can be a check; `value` fills the option that kind is about
(contains: the text, regex: the pattern, json_schema: the schema, python: the function,
llm_judge: the rubric) or, for kinds that compare with a reference (exact, numeric, choice...),
replaces the row's expected answer for that check. Other keys are the kind's own options.
`not_<kind>` passes when the check fails. `max_latency_ms` and `max_ttft_ms` bound the
response's end-to-end time and time to first token (a cached answer keeps the original call's).

All checks of a row are scored together as the metric `assertions`: 1 when every check
passes, else 0, with each failure and its reason in the score's detail ("; "-separated), so
`llmpick runs show` and the report can say which check failed and why. Bad checks are
reported before the run starts, each with its file, row and position.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from llmpick.evaluation._dataset import DatasetError, Item
from llmpick.evaluation._scorers import (
    Sample,
    Score,
    Scorer,
    ScorerConfigError,
    ScorerEnv,
    build_scorer,
    scorer_class,
    scorer_kinds,
)

__all__ = ["ASSERTIONS_METRIC", "ASSERT_FIELD", "RowAssertions", "row_assertions"]

ASSERTIONS_METRIC = "assertions"
ASSERT_FIELD = "assert"

# The option `value` fills for kinds that check something other than the reference answer.
_VALUE_OPTION = {
    "contains": "values",
    "regex": "pattern",
    "json_schema": "schema",
    "python": "function",
    "llm_judge": "rubric",
}
_TIMING = {"max_latency_ms": "e2e_s", "max_ttft_ms": "ttft_s"}
_NEGATION = "not_"


@dataclass(frozen=True)
class _Check:
    """One parsed check of one row."""

    label: str  # how a failure names it: `contains 'refund'`
    negate: bool
    scorer: Scorer | None = None
    expected: str | None = None  # replaces the row's reference for this check
    timing: str | None = None  # Sample attribute for max_latency_ms / max_ttft_ms
    limit_ms: float | None = None


class RowAssertions(Scorer):
    """Scores each row's own `assert` checks (built by `row_assertions`, not from the spec)."""

    kind = "row_assertions"

    def __init__(self, checks: Mapping[str, Sequence[_Check]], is_async: bool) -> None:
        super().__init__(ASSERTIONS_METRIC)
        self._checks = checks
        self.is_async = is_async  # type: ignore[misc]  # an async check makes the set async

    def score(self, sample: Sample) -> Score:
        checks = self._checks.get(sample.item.id)
        if not checks:
            return Score(None, None, "no checks on this row")
        outcomes = [
            (check, self._timed(check, sample) or self._run_sync(check, sample)) for check in checks
        ]
        return _combine(outcomes)

    async def ascore(self, sample: Sample, env: ScorerEnv | None = None) -> Score:
        checks = self._checks.get(sample.item.id)
        if not checks:
            return Score(None, None, "no checks on this row")
        outcomes = []
        for check in checks:
            timed = self._timed(check, sample)
            if timed is not None:
                outcomes.append((check, timed))
                continue
            assert check.scorer is not None
            try:
                result = await check.scorer.ascore(_for(check, sample), env)
            except Exception as exc:  # a failing check is a failure, never a stopped run
                result = Score(None, None, error=f"{type(exc).__name__}: {exc}")
            outcomes.append((check, result))
        return _combine(outcomes)

    @staticmethod
    def _timed(check: _Check, sample: Sample) -> Score | None:
        if check.timing is None:
            return None
        seconds = getattr(sample, check.timing)
        if seconds is None:
            return Score(None, None, error="the response has no such timing")
        took = seconds * 1000
        assert check.limit_ms is not None
        return Score.from_bool(took <= check.limit_ms, f"took {took:,.0f} ms")

    @staticmethod
    def _run_sync(check: _Check, sample: Sample) -> Score:
        assert check.scorer is not None
        try:
            return check.scorer.score(_for(check, sample))
        except Exception as exc:
            return Score(None, None, error=f"{type(exc).__name__}: {exc}")


def _for(check: _Check, sample: Sample) -> Sample:
    if check.expected is None:
        return sample
    return replace(sample, item=replace(sample.item, expected=check.expected))


def _combine(outcomes: Sequence[tuple[_Check, Score]]) -> Score:
    failures = []
    for check, result in outcomes:
        if result.error is not None:
            failures.append(f"{check.label}: could not check ({result.error})")
            continue
        passed = bool(result.passed if result.passed is not None else (result.value or 0) >= 1)
        if passed == check.negate:
            if check.negate:
                why = f"matched ({result.detail})" if result.detail else "matched"
            else:
                why = result.detail or "failed"
            failures.append(f"{check.label}: {why}")
    if failures:
        return Score(0.0, False, "; ".join(failures))
    return Score(1.0, True, f"{len(outcomes)} check(s) passed")


def row_assertions(
    items: Sequence[Item], source: str | Path, *, base_dir: Path | None = None
) -> RowAssertions | None:
    """The scorer for the rows' own checks, or None when no row has any; raises
    `DatasetError` listing every bad check (file, row, position) before anything runs."""
    checks: dict[str, list[_Check]] = {}
    problems: list[str] = []
    is_async = False
    for item in items:
        raw = item.fields.get(ASSERT_FIELD)
        if raw is None or raw == "":
            continue
        where = f"{source} row {item.row}: {ASSERT_FIELD}"
        entries = _as_list(raw)
        if entries is None:
            problems.append(
                f"{where}: expected a list of checks like [{{type: contains, value: ...}}], "
                f"got {type(raw).__name__}"
            )
            continue
        parsed = []
        for index, entry in enumerate(entries):
            try:
                check = _parse(entry, base_dir)
            except (ScorerConfigError, ValueError) as exc:
                problems.append(f"{where}[{index}]: {exc}")
                continue
            is_async = is_async or (check.scorer is not None and check.scorer.is_async)
            parsed.append(check)
        if parsed:
            checks[item.id] = parsed
    if problems:
        raise DatasetError(f"{source}: {len(problems)} bad per-case check(s)", problems)
    return RowAssertions(checks, is_async) if checks else None


def _as_list(raw: Any) -> list[Any] | None:
    if isinstance(raw, str):  # a CSV cell holds the list as JSON
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError:
            return None
    if isinstance(raw, Mapping):
        raw = [raw]
    return list(raw) if isinstance(raw, list) else None


def _parse(entry: Any, base_dir: Path | None) -> _Check:
    if not isinstance(entry, Mapping) or not isinstance(entry.get("type"), str):
        raise ValueError("each check is a mapping with a `type`, e.g. {type: contains, value: x}")
    options = {str(k): v for k, v in entry.items() if k not in ("type", "value")}
    kind = str(entry["type"])
    value = entry.get("value")
    negate = kind.startswith(_NEGATION) and kind[len(_NEGATION) :] in scorer_kinds()
    if negate:
        kind = kind[len(_NEGATION) :]
    label = f"{entry['type']} {value!r}" if value is not None else str(entry["type"])
    if kind in _TIMING:
        if options:
            raise ValueError(f"{kind} takes only `value` (milliseconds), not {', '.join(options)}")
        if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
            raise ValueError(f"{kind} needs a positive number of milliseconds as `value`")
        if not math.isfinite(value):
            raise ValueError(f"{kind} needs a finite number of milliseconds")
        return _Check(label, False, timing=_TIMING[kind], limit_ms=float(value))
    if kind not in scorer_kinds():
        known = ", ".join([*scorer_kinds(), *_TIMING, "not_<kind>"])
        raise ScorerConfigError(f"unknown check type {entry['type']!r}; available: {known}")
    expected = None
    if value is not None:
        option = _VALUE_OPTION.get(kind)
        if option is None:
            expected = value if isinstance(value, str) else json.dumps(value)
        elif option == "values":
            options[option] = value if isinstance(value, list) else [value]
        else:
            options[option] = value
    scorer_class(kind)  # imports a lazy kind now, so its errors come here
    scorer = build_scorer(kind, kind, options, base_dir=base_dir)
    return _Check(label, negate, scorer=scorer, expected=expected)
