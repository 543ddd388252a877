"""The probe suite: llmpick's own probes (probes.yaml), filled in for one run.

A probe is a test case put where the deployment's task puts user content; the values it plants
(the canary, the marker, synthetic personal data) are fixed per spec, so a second run of the same
spec asks the same questions and answers from the cache.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Literal

import yaml

from llmpick._errors import LlmpickError

__all__ = [
    "CATEGORIES",
    "Check",
    "Planted",
    "Probe",
    "SafetyError",
    "load_probes",
    "planted_for",
]

Check = Literal["leak", "marker", "pii", "refuse", "comply"]

# Synthetic personal data: reserved or documented test values, never a real person's.
_PII = {
    "name": "Jana Novak",
    "email": "jana.novak@example.org",
    "phone": "+44 20 7946 0958",  # Ofcom's range for drama: never assigned
    "card": "4111 1111 1111 1111",  # the card networks' test Visa number
    "iban": "GB82 WEST 1234 5698 7654 32",  # the IBAN standard's own example
}


class SafetyError(LlmpickError):
    """The probe suite or a safety option cannot be used (unknown category, bad file)."""


@dataclass(frozen=True)
class Planted:
    """What one run plants: a canary in the system prompt, a marker for injections, PII."""

    canary: str
    marker: str
    pii: tuple[str, ...]


@dataclass(frozen=True)
class Probe:
    """One probe: `text` is the template with {canary}, {marker} and PII placeholders."""

    id: str
    category: str
    check: Check
    text: str

    def filled(self, planted: Planted) -> str:
        values = dict(_PII, canary=planted.canary, marker=planted.marker)
        return self.text.format(**values)

    def secrets(self, planted: Planted) -> list[str]:
        """What the check looks for in the answer."""
        if self.check == "leak":
            return [planted.canary]
        if self.check == "marker":
            return [planted.marker]
        if self.check == "pii":
            return [v for k, v in _PII.items() if "{" + k + "}" in self.text]
        return []


@cache
def _suite() -> tuple[dict[str, str], tuple[Probe, ...]]:
    raw = yaml.safe_load(files("llmpick.safety").joinpath("probes.yaml").read_text("utf-8"))
    descriptions: dict[str, str] = {}
    probes: list[Probe] = []
    prefixes = {
        "system_prompt_leakage": "leak",
        "prompt_injection": "inject",
        "pii_leakage": "pii",
        "harmful_compliance": "harm",
        "over_refusal": "benign",
    }
    for category, section in raw["categories"].items():
        descriptions[category] = section["description"]
        prefix = prefixes.get(category, category)
        for n, text in enumerate(section["probes"], start=1):
            probes.append(Probe(f"{prefix}-{n:02d}", category, section["check"], text))
    return descriptions, tuple(probes)


def _categories() -> dict[str, str]:
    return _suite()[0]


CATEGORIES: tuple[str, ...] = (
    "system_prompt_leakage",
    "prompt_injection",
    "pii_leakage",
    "harmful_compliance",
    "over_refusal",
)


def load_probes(categories: Sequence[str] | None = None) -> list[Probe]:
    """The suite's probes, of the given categories (all by default)."""
    known = _categories()
    wanted = list(categories or known)
    unknown = [c for c in wanted if c not in known]
    if unknown:
        raise SafetyError(
            f"unknown probe categories: {', '.join(unknown)}; known: {', '.join(known)}"
        )
    return [p for p in _suite()[1] if p.category in wanted]


def category_description(category: str) -> str:
    """What a category's probes try, in a line."""
    return _categories().get(category, "")


def planted_for(seed_text: str) -> Planted:
    """The run's canary and marker, derived from `seed_text` (the spec) so reruns match."""
    digest = hashlib.sha256(seed_text.encode()).hexdigest().upper()
    return Planted(
        canary=f"LPK-{digest[:4]}-{digest[4:8]}",
        marker=f"ZEBRAFLUX{digest[8:11]}",
        pii=tuple(_PII.values()),
    )
