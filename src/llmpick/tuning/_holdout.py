"""Which items are held out when a spec tunes a candidate, and which are trained on.

Either the spec gives the training files (`dataset.train_path`, optionally
`dataset.validation_path`) and every item of `dataset.path` is held out, or `dataset.path` is
split by item id with `dataset.split`'s seed and fractions. Either way the split is the spec's,
not a candidate's: every candidate (base, tuned, closed) is evaluated on the same test items,
and no test id is among the training or validation ids (checked here, by id).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from llmpick.evaluation import FieldMapping, Item, load_dataset
from llmpick.spec import Dataset, LoadedSpec
from llmpick.tuning._errors import TuningError
from llmpick.tuning._splits import Splits, split_ids

__all__ = ["HeldOut", "held_out", "read_split_items", "tunes"]


@dataclass(frozen=True)
class HeldOut:
    """The spec's split: ids per part and, in words, how it was made."""

    splits: Splits
    source: str
    given_files: bool

    @property
    def test_ids(self) -> tuple[str, ...]:
        return self.splits.test


def tunes(loaded: LoadedSpec) -> bool:
    """Whether the spec has a tuned candidate or gives training files."""
    spec = loaded.spec
    return spec.dataset is not None and (
        spec.dataset.train_path is not None or any(c.tune for c in spec.candidates)
    )


def held_out(loaded: LoadedSpec) -> HeldOut | None:
    """The spec's held-out split, or None when nothing in it is tuned."""
    if not tunes(loaded):
        return None
    return read_split_items(loaded)[0]


def read_split_items(loaded: LoadedSpec) -> tuple[HeldOut, dict[str, Item]]:
    """The split and every item in it by id (training, validation and test items)."""
    dataset = loaded.spec.dataset
    if dataset is None:
        raise TuningError(f"{loaded.path}: the spec has no `dataset` section to tune on")
    test = _items(loaded, dataset, dataset.path)
    split = dataset.split
    if dataset.train_path is None:
        ids = [i.id for i in test]
        splits = split_ids(
            ids,
            seed=split.seed,
            validation_fraction=split.validation_fraction,
            test_fraction=split.test_fraction,
        )
        sizes = splits.sizes()
        source = (
            f"a seeded split of {dataset.path} by item id (seed {split.seed}): "
            f"{sizes['train']} train, {sizes['validation']} validation, {sizes['test']} test"
        )
        return HeldOut(splits, source, False), {i.id: i for i in test}
    train = _items(loaded, dataset, dataset.train_path)
    if dataset.validation_path is not None:
        validation = _items(loaded, dataset, dataset.validation_path)
        val_source = f"{dataset.validation_path} ({len(validation)})"
    else:
        kept, carved = _carve(
            [i.id for i in train], seed=split.seed, fraction=split.validation_fraction
        )
        by_id = {i.id: i for i in train}
        train, validation = [by_id[i] for i in kept], [by_id[i] for i in carved]
        val_source = (
            f"a seeded {split.validation_fraction:.0%} of {dataset.train_path} "
            f"({len(validation)}, seed {split.seed})"
        )
    _refuse_overlap(dataset.train_path, train, validation, test, dataset)
    splits = Splits(
        train=tuple(i.id for i in train),
        validation=tuple(i.id for i in validation),
        test=tuple(i.id for i in test),
    )
    source = (
        f"given files: train {dataset.train_path} ({len(train)}), validation {val_source}; "
        f"every item of {dataset.path} ({len(test)}) is held out"
    )
    items = {i.id: i for i in (*train, *validation, *test)}
    return HeldOut(splits, source, True), items


def _items(loaded: LoadedSpec, dataset: Dataset, path: Path) -> list[Item]:
    mapping = FieldMapping(
        input_field=dataset.input_field,
        expected_field=dataset.expected_field,
        id_field=dataset.id_field,
        category_field=dataset.category_field,
    )
    source = path if path.is_absolute() else loaded.base_dir / path
    return load_dataset(source, mapping, format=dataset.format).items


def _carve(ids: Sequence[str], *, seed: int, fraction: float) -> tuple[list[str], list[str]]:
    """(train, validation): a seeded `fraction` of `ids` (at least one, leaving one to train)."""
    if len(ids) < 2:
        raise TuningError(
            f"tuning needs at least 2 training items (train and validation); got {len(ids)}"
        )
    n_val = min(len(ids) - 1, max(1, round(len(ids) * fraction)))
    order = list(range(len(ids)))
    random.Random(seed).shuffle(order)
    picked = set(order[:n_val])
    return (
        [ids[i] for i in range(len(ids)) if i not in picked],
        [ids[i] for i in range(len(ids)) if i in picked],
    )


def _refuse_overlap(
    train_path: Path,
    train: Sequence[Item],
    validation: Sequence[Item],
    test: Sequence[Item],
    dataset: Dataset,
) -> None:
    """A test id among the training or validation ids would be trained on and then scored."""
    test_ids = {i.id for i in test}
    train_ids = {i.id for i in train}
    for name, part in (("training", train), ("validation", validation)):
        leaked = sorted({i.id for i in part} & test_ids)
        if leaked:
            raise TuningError(
                f"{len(leaked)} {name} item id(s) are also in the test file {dataset.path} "
                f"(e.g. {', '.join(leaked[:3])}): an item evaluated on must never be trained "
                f"on; remove them from {train_path if name == 'training' else 'validation'} "
                "or give them other ids"
            )
    both = sorted(train_ids & {i.id for i in validation})
    if both:
        raise TuningError(
            f"{len(both)} item id(s) are both training and validation items (e.g. "
            f"{', '.join(both[:3])}); give each example one id in one file"
        )
    if len(train_ids) != len(train):
        raise TuningError(f"{train_path}: duplicate item ids; give each row a unique id")
