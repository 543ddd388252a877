"""Turn the spec's candidate list into models with facts: catalog entry and how they'd be run.

Resolution is the join of the spec and the catalog every later step needs (constraints,
evaluation, costs): which catalog entry supplies the facts, and whether the model would be called
as a vendor API or hosted by the organization itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from llmpick.catalog import Catalog, CatalogEntry
from llmpick.spec import Candidate

Deployment = Literal["api", "self-hosted"]


@dataclass(frozen=True)
class ResolvedCandidate:
    """A spec candidate with the catalog facts that apply to it."""

    candidate: Candidate
    entry: CatalogEntry | None
    deployment: Deployment

    @property
    def id(self) -> str:
        """The catalog id, or the candidate's name for endpoints and files with no entry."""
        if self.candidate.model is not None:
            return self.entry.id if self.entry else self.candidate.model
        return self.candidate.label

    @property
    def label(self) -> str:
        return self.candidate.label

    @property
    def open_weights(self) -> bool:
        return self.entry.open_weights if self.entry else self.deployment == "self-hosted"


def resolve_candidates(candidates: list[Candidate], catalog: Catalog) -> list[ResolvedCandidate]:
    """Look every candidate up; raise `UnknownModelError` (with suggestions) for unknown ids."""
    resolved = []
    for candidate in candidates:
        ref = candidate.catalog_ref
        entry = catalog.get(ref) if ref else None
        resolved.append(ResolvedCandidate(candidate, entry, _deployment(candidate, entry)))
    return resolved


def _deployment(candidate: Candidate, entry: CatalogEntry | None) -> Deployment:
    if candidate.gguf is not None or candidate.tune is not None:
        return "self-hosted"
    if candidate.endpoint is not None:
        return "self-hosted" if candidate.endpoint.self_hosted else "api"
    assert entry is not None
    return "self-hosted" if entry.open_weights else "api"


__all__ = ["Deployment", "ResolvedCandidate", "resolve_candidates"]
