"""Step 2 as one call: every candidate through every rule, eligible or excluded with reasons."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from llmpick.catalog import Catalog, load_catalog
from llmpick.constraints._candidates import ResolvedCandidate, resolve_candidates
from llmpick.constraints._hardware import check_hardware
from llmpick.constraints._rules import RULES, RuleResult
from llmpick.spec import Spec


@dataclass(frozen=True)
class CandidateVerdict:
    """One candidate's outcome: every rule that applied, in the order they ran."""

    candidate: ResolvedCandidate
    results: list[RuleResult]

    @property
    def eligible(self) -> bool:
        return not any(r.excludes for r in self.results)

    @property
    def exclusions(self) -> list[RuleResult]:
        return [r for r in self.results if r.excludes]

    @property
    def warnings(self) -> list[RuleResult]:
        return [r for r in self.results if not r.passed and r.severity == "warning"]

    @property
    def placement(self) -> dict[str, object]:
        """Where the hardware rule placed a self-hosted model (hardware, quantization, rented);
        empty for an API, an endpoint that already runs, or a model that did not fit."""
        return next(
            (r.details for r in self.results if r.rule == "hardware" and r.passed and r.details),
            {},
        )

    def to_dict(self) -> dict[str, Any]:
        c = self.candidate
        return {
            "id": c.id,
            "label": c.label,
            "deployment": c.deployment,
            "open_weights": c.open_weights,
            "eligible": self.eligible,
            "reasons": [
                {
                    "rule": r.rule,
                    "passed": r.passed,
                    "severity": r.severity,
                    "message": r.message,
                    **({"details": r.details} if r.details else {}),
                }
                for r in self.results
            ],
        }


@dataclass(frozen=True)
class CheckReport:
    verdicts: list[CandidateVerdict]

    @property
    def eligible(self) -> list[CandidateVerdict]:
        return [v for v in self.verdicts if v.eligible]

    @property
    def excluded(self) -> list[CandidateVerdict]:
        return [v for v in self.verdicts if not v.eligible]

    def to_dict(self) -> dict[str, Any]:
        return {"candidates": [v.to_dict() for v in self.verdicts]}


def check_candidates(
    spec: Spec, candidates: Iterable[ResolvedCandidate], rules: Iterable[str] | None = None
) -> CheckReport:
    """Run the named rules (default: all, hardware last) on already-resolved candidates."""
    names = list(rules) if rules is not None else [*RULES, "hardware"]
    verdicts = []
    for candidate in candidates:
        results = []
        for name in names:
            result = (
                check_hardware(candidate, spec)
                if name == "hardware"
                else RULES[name](candidate, spec)
            )
            if result is not None:
                results.append(result)
        verdicts.append(CandidateVerdict(candidate, results))
    return CheckReport(verdicts)


def check_spec(spec: Spec, catalog: Catalog | None = None) -> CheckReport:
    """Resolve the spec's candidates in the catalog and check each against every constraint.

    Raises `UnknownModelError` (with close ids) when a candidate is not in the catalog.
    """
    catalog = catalog or load_catalog()
    return check_candidates(spec, resolve_candidates(spec.candidates, catalog))
