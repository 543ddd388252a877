"""Prompt variants: each candidate is judged on its best variant, and the others are compared
with it on the same items, so a model is never ruled out because of one prompt."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from llmpick.decision._evidence import Evidence
from llmpick.decision._model import VariantResult
from llmpick.evaluation import VARIANT_SEPARATOR, mcnemar_exact_p

__all__ = ["best_variants"]


def best_variants(
    evidence: Mapping[str, Evidence], labels: Sequence[str], variants: Sequence[str]
) -> tuple[dict[str, Evidence], dict[str, tuple[str, list[VariantResult]]]]:
    """Evidence by candidate label (each candidate's best-scoring variant, the first on a tie),
    and per candidate the variant chosen with every variant's comparison against it."""
    if not variants:
        return dict(evidence), {}
    chosen: dict[str, Evidence] = {}
    compared: dict[str, tuple[str, list[VariantResult]]] = {}
    for label in labels:
        found = {
            name: ev
            for name in variants
            if (ev := evidence.get(f"{label}{VARIANT_SEPARATOR}{name}")) is not None
        }
        if not found:
            continue
        measured = {n: ev for n, ev in found.items() if ev.quality and ev.quality.mean is not None}
        best = (
            max(measured, key=lambda n: (measured[n].quality.mean, -variants.index(n)))  # type: ignore[union-attr]
            if measured
            else next(iter(found))
        )
        chosen[label] = replace(found[best], candidate_id=label)
        compared[label] = (best, [_compare(n, found[n], found[best], n == best) for n in found])
    return chosen, compared


def _compare(name: str, ev: Evidence, best: Evidence, is_best: bool) -> VariantResult:
    q, b = ev.quality, best.quality
    if q is None or q.mean is None:
        return VariantResult(name=name, chosen=is_best)
    result = VariantResult(
        name=name, mean=q.mean, ci_low=q.ci_low, ci_high=q.ci_high, n=q.n, chosen=is_best
    )
    if is_best or b is None or b.mean is None:
        return result
    shared = q.scores_by_item.keys() & b.scores_by_item.keys()
    only_this = sum(1 for i in shared if q.scores_by_item[i] >= 1 > b.scores_by_item[i])
    only_best = sum(1 for i in shared if b.scores_by_item[i] >= 1 > q.scores_by_item[i])
    binary = all(q.scores_by_item[i] in (0.0, 1.0) for i in shared) and all(
        b.scores_by_item[i] in (0.0, 1.0) for i in shared
    )
    diff = (
        sum(q.scores_by_item[i] - b.scores_by_item[i] for i in shared) / len(shared)
        if shared
        else None
    )
    return result.model_copy(
        update={
            "diff_vs_chosen": diff,
            "only_this_right": only_this,
            "only_chosen_right": only_best,
            "p_value": mcnemar_exact_p(only_this, only_best) if binary and shared else None,
        }
    )
