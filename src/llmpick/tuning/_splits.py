"""Train / validation / test splits of a dataset, as explicit lists of item ids.

The split is a pure function of the ids, the seed and the fractions, so the same dataset always
gives the same split, and the test ids (the items every candidate is evaluated on) can be checked
against the training ids by anyone reading the manifest.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from llmpick.tuning._errors import TuningError

__all__ = ["Splits", "split_ids"]


@dataclass(frozen=True)
class Splits:
    """Item ids per split; the three are disjoint and cover the dataset."""

    train: tuple[str, ...]
    validation: tuple[str, ...]
    test: tuple[str, ...]

    def sizes(self) -> dict[str, int]:
        return {
            "train": len(self.train),
            "validation": len(self.validation),
            "test": len(self.test),
        }


def split_ids(
    ids: Sequence[str],
    *,
    seed: int = 0,
    validation_fraction: float = 0.15,
    test_fraction: float = 0.15,
) -> Splits:
    """Shuffle `ids` with `seed` and cut them into train, validation and test.

    Each split gets at least one item (so a dataset needs three); ids keep their file order
    within a split. Raises `TuningError` on duplicate ids or fractions that leave no training.
    """
    if len(set(ids)) != len(ids):
        raise TuningError("the dataset has duplicate item ids; give each row a unique id")
    if not (0 < validation_fraction < 1 and 0 < test_fraction < 1):
        raise TuningError("validation and test fractions must each be between 0 and 1")
    if validation_fraction + test_fraction >= 1:
        raise TuningError(
            f"validation ({validation_fraction}) + test ({test_fraction}) fractions leave no "
            "items to train on; keep their sum below 1"
        )
    n = len(ids)
    if n < 3:
        raise TuningError(f"tuning needs at least 3 items (train, validation, test); got {n}")
    n_test = max(1, round(n * test_fraction))
    n_val = max(1, round(n * validation_fraction))
    if n - n_test - n_val < 1:
        n_val = max(1, n - n_test - 1)
    order = list(range(n))
    random.Random(seed).shuffle(order)
    test = set(order[:n_test])
    val = set(order[n_test : n_test + n_val])
    return Splits(
        train=tuple(ids[i] for i in range(n) if i not in test and i not in val),
        validation=tuple(ids[i] for i in range(n) if i in val),
        test=tuple(ids[i] for i in range(n) if i in test),
    )
