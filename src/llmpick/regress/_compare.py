"""The comparison behind `llmpick regress`: two runs' scores on the same items, as checks."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal
from xml.sax.saxutils import escape, quoteattr

import numpy as np

from llmpick.evaluation import mcnemar_exact_p, paired_sample_size

__all__ = ["Check", "Flip", "RegressionReport", "compare_scores", "items_to_detect"]

Outcome = Literal["pass", "fail", "underpowered", "skipped"]
EXIT_CODES = {"pass": 0, "fail": 1, "underpowered": 3}


@dataclass(frozen=True)
class Check:
    """One thing regress checked: quality, latency or cost."""

    name: str
    outcome: Outcome
    message: str


@dataclass(frozen=True)
class Flip:
    """An item whose score changed between the baseline and the new run."""

    item_id: str
    before: float
    after: float


@dataclass
class RegressionReport:
    candidate: str
    baseline_run: str
    new_run: str
    metric: str
    n: int
    baseline_mean: float | None
    new_mean: float | None
    p_value: float | None
    items_needed: int | None
    checks: list[Check] = field(default_factory=list)
    flips: list[Flip] = field(default_factory=list)

    @property
    def outcome(self) -> Outcome:
        outcomes = {c.outcome for c in self.checks}
        if "fail" in outcomes:
            return "fail"
        if "underpowered" in outcomes:
            return "underpowered"
        return "pass"

    @property
    def exit_code(self) -> int:
        """0: held; 1: a significant regression, a missed SLO or a cost rise; 3: underpowered."""
        return EXIT_CODES[self.outcome]

    def junit_xml(self) -> str:
        """The checks as a JUnit XML test suite (one test case each) for CI systems."""
        failures = sum(1 for c in self.checks if c.outcome == "fail")
        skipped = sum(1 for c in self.checks if c.outcome in ("underpowered", "skipped"))
        cases = []
        for check in self.checks:
            name = quoteattr(check.name)
            body = ""
            if check.outcome == "fail":
                body = (
                    f"<failure message={quoteattr(check.message)}>{escape(check.message)}</failure>"
                )
            elif check.outcome in ("underpowered", "skipped"):
                body = f"<skipped message={quoteattr(check.message)}/>"
            else:
                body = f"<system-out>{escape(check.message)}</system-out>"
            cases.append(
                f'  <testcase classname="llmpick.regress.{escape(self.candidate)}" '
                f"name={name}>{body}</testcase>"
            )
        suite = quoteattr(f"llmpick regress {self.candidate}")
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<testsuite name={suite} tests="{len(self.checks)}" failures="{failures}" '
            f'errors="0" skipped="{skipped}">\n' + "\n".join(cases) + "\n</testsuite>\n"
        )


def items_to_detect(drop: float, discordant: float, *, alpha: float, power: float) -> int | None:
    """Paired items needed to detect a `drop` when the two runs disagree on a `discordant` share
    of items (at least the drop itself): McNemar, two-sided (`paired_sample_size`)."""
    disc = max(discordant, drop)
    return paired_sample_size((disc + drop) / 2, (disc - drop) / 2, alpha=alpha, power=power)


def _binary(values: np.ndarray) -> bool:
    return bool(np.all((values == 0) | (values == 1)))


def _sign_flip_p(diffs: np.ndarray, rng: np.random.Generator, rounds: int = 4000) -> float:
    """Two-sided paired permutation p-value of the mean difference (random sign flips)."""
    observed = abs(float(diffs.mean()))
    if observed == 0 or len(diffs) == 0:
        return 1.0
    signs = rng.choice((-1.0, 1.0), size=(rounds, len(diffs)))
    means = np.abs((signs * diffs).mean(axis=1))
    return float((np.sum(means >= observed - 1e-12) + 1) / (rounds + 1))


def compare_scores(
    baseline: Mapping[str, float],
    new: Mapping[str, float],
    *,
    alpha: float,
    max_drop: float,
    detectable_drop: float,
    power: float,
    seed: int = 0,
) -> tuple[Check, float | None, int | None, list[Flip], int]:
    """The quality check on the items both runs scored: (check, p-value, items needed, flips,
    n). Fails only for a drop that is significant at `alpha` and larger than `max_drop`."""
    shared = sorted(baseline.keys() & new.keys())
    if not shared:
        return Check("quality", "fail", "no item was scored in both runs"), None, None, [], 0
    before = np.array([baseline[i] for i in shared])
    after = np.array([new[i] for i in shared])
    flips = [Flip(i, b, a) for i, b, a in zip(shared, before, after, strict=True) if a != b]
    drop = float(before.mean() - after.mean())
    if _binary(before) and _binary(after):
        lost = int(np.sum((before == 1) & (after == 0)))
        gained = int(np.sum((before == 0) & (after == 1)))
        p = mcnemar_exact_p(lost, gained)
        test = f"McNemar p={p:.3g} ({lost} items lost, {gained} gained)"
    else:
        p = _sign_flip_p(after - before, np.random.default_rng(seed))
        test = f"paired sign-flip p={p:.3g}"
    discordant = len(flips) / len(shared)
    needed = items_to_detect(detectable_drop, discordant, alpha=alpha, power=power)
    summary = f"{before.mean():.3f} -> {after.mean():.3f} on {len(shared)} paired items; {test}"
    if drop > max_drop and p < alpha:
        return (
            Check("quality", "fail", f"quality dropped: {summary}"),
            p,
            needed,
            flips,
            len(shared),
        )
    if drop > 0 and p < alpha:
        verdict = f"a significant drop within the allowed {max_drop:.3f}: {summary}"
        return Check("quality", "pass", verdict), p, needed, flips, len(shared)
    if needed is not None and len(shared) < needed:
        message = (
            f"not significant ({summary}), but {len(shared)} items cannot detect a "
            f"{detectable_drop:.3f} drop: about {needed:,} paired items are needed"
        )
        return Check("quality", "underpowered", message), p, needed, flips, len(shared)
    change = "no significant change" if not math.isclose(drop, 0) else "no change"
    return Check("quality", "pass", f"{change}: {summary}"), p, needed, flips, len(shared)
