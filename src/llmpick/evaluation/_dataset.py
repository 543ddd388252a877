"""Read the organization's test cases from JSONL, CSV, Parquet or a saved Hugging Face dataset.

Every row becomes an `Item` with an id, the input, the reference answer and a category, plus all
of its fields (templates may use any of them). A bad row (invalid JSON, a missing field, a
duplicate id) is reported with its file and row number; all bad rows are listed at once.
"""

from __future__ import annotations

import csv
import json
import random
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmpick._errors import LlmpickError

__all__ = ["DatasetError", "FieldMapping", "Item", "LoadedDataset", "load_dataset", "select_items"]

_MAX_SHOWN_PROBLEMS = 20


class DatasetError(LlmpickError):
    """The dataset cannot be read, or some rows are unusable; `problems` lists each one."""

    def __init__(self, message: str, problems: Sequence[str] = ()) -> None:
        self.problems = list(problems)
        shown = self.problems[:_MAX_SHOWN_PROBLEMS]
        more = len(self.problems) - len(shown)
        text = message
        if shown:
            text += "\n  " + "\n  ".join(shown)
            if more:
                text += f"\n  ... and {more} more"
        super().__init__(text)


@dataclass(frozen=True, slots=True)
class FieldMapping:
    """Which row fields hold the id, the input, the reference answer and the category."""

    input_field: str = "input"
    expected_field: str | None = "expected"
    id_field: str | None = None
    category_field: str | None = None


@dataclass(frozen=True, slots=True)
class Item:
    """One test case. `row` is the 1-based row (JSONL: line) it came from, for messages."""

    id: str
    input: str
    expected: str | None
    category: str | None
    fields: Mapping[str, Any]
    row: int


@dataclass
class LoadedDataset:
    path: Path | None
    items: list[Item]
    skipped: list[str] = field(default_factory=list)


def load_dataset(
    source: str | Path | Iterable[Mapping[str, Any]],
    mapping: FieldMapping | None = None,
    *,
    format: str = "auto",
    skip_bad_rows: bool = False,
) -> LoadedDataset:
    """Load items from a file, a folder saved by `datasets.Dataset.save_to_disk`, or records.

    `source` may also be any iterable of mappings (a list of dicts, a `datasets.Dataset`).
    Bad rows raise `DatasetError` listing all of them, unless `skip_bad_rows` (then they are
    returned in `skipped`).
    """
    mapping = mapping or FieldMapping()
    if isinstance(source, str | Path):
        path = Path(source)
        name = str(path)
        rows = _read_rows(path, format)
    else:
        path, name, rows = None, "<records>", ((n, dict(r)) for n, r in enumerate(source, 1))
    items, problems = _to_items(rows, mapping, name)
    if problems and not skip_bad_rows:
        raise DatasetError(
            f"{name}: {len(problems)} bad row(s); fix them or pass --skip-bad-rows", problems
        )
    if not items:
        raise DatasetError(f"{name}: no usable rows")
    return LoadedDataset(path, items, problems)


def select_items(
    items: Sequence[Item], *, limit: int | None = None, sample: int | None = None, seed: int = 0
) -> list[Item]:
    """`sample` picks that many items at random (reproducible with `seed`), kept in file order;
    `limit` then keeps the first ones."""
    chosen = list(items)
    if sample is not None and sample < len(chosen):
        picked = sorted(random.Random(seed).sample(range(len(chosen)), sample))
        chosen = [chosen[i] for i in picked]
    if limit is not None:
        chosen = chosen[:limit]
    return chosen


# Reading ---------------------------------------------------------------------------------------

Row = tuple[int, Any]  # (row number, parsed row or an error message string wrapped in _Bad)


class _Bad(str):
    """A row that could not be parsed; the string says why."""


def _read_rows(path: Path, format: str) -> Iterator[Row]:
    if not path.exists():
        raise DatasetError(
            f"dataset {path} not found; check `dataset.path` (it is relative to the spec file)"
        )
    if path.is_dir():
        return _read_hf_folder(path)
    kind = format if format != "auto" else _format_from_suffix(path)
    readers = {"jsonl": _read_jsonl, "csv": _read_csv, "parquet": _read_parquet}
    return readers[kind](path)


def _format_from_suffix(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    if suffix in (".csv", ".tsv"):
        return "csv"
    if suffix in (".parquet", ".pq"):
        return "parquet"
    raise DatasetError(
        f"{path}: cannot tell the format from the extension {suffix or '(none)'}; "
        "set `dataset.format` to jsonl, csv or parquet"
    )


def _read_jsonl(path: Path) -> Iterator[Row]:
    with path.open(encoding="utf-8") as handle:
        for line_number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                yield line_number, json.loads(line)
            except json.JSONDecodeError as exc:
                yield line_number, _Bad(f"invalid JSON ({exc.msg} at column {exc.colno})")


def _read_csv(path: Path) -> Iterator[Row]:
    with path.open(encoding="utf-8", newline="") as handle:
        delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
        reader = csv.DictReader(handle, delimiter=delimiter)
        for record in reader:
            if None in record:
                yield reader.line_num, _Bad("more values than header columns")
                continue
            yield reader.line_num, record


def _read_parquet(path: Path) -> Iterator[Row]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise DatasetError(
            f"{path}: reading Parquet needs pyarrow: pip install 'llmpick[eval]'"
        ) from None
    row_number = 0
    for batch in pq.ParquetFile(path).iter_batches(batch_size=10_000):
        for record in batch.to_pylist():
            row_number += 1
            yield row_number, record


def _read_hf_folder(path: Path) -> Iterator[Row]:
    try:
        import datasets
    except ImportError:
        raise DatasetError(
            f"{path} is a folder: reading a saved Hugging Face dataset needs `datasets`: "
            "pip install datasets"
        ) from None
    loaded = datasets.load_from_disk(str(path))
    if isinstance(loaded, datasets.DatasetDict):
        split = "test" if "test" in loaded else next(iter(loaded))
        loaded = loaded[split]
    return ((n, dict(r)) for n, r in enumerate(loaded, 1))


# Validation ------------------------------------------------------------------------------------


def _to_items(
    rows: Iterable[Row], mapping: FieldMapping, name: str
) -> tuple[list[Item], list[str]]:
    items: list[Item] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    required = [f for f in (mapping.input_field, mapping.expected_field, mapping.id_field) if f]
    for row_number, record in rows:
        if isinstance(record, _Bad):
            problems.append(f"{name} row {row_number}: {record}")
            continue
        if not isinstance(record, Mapping):
            problems.append(
                f"{name} row {row_number}: expected an object with fields, "
                f"got {type(record).__name__}"
            )
            continue
        missing = [f for f in required if record.get(f) is None or record[f] == ""]
        if missing:
            present = ", ".join(sorted(map(str, record))) or "none"
            problems.append(
                f"{name} row {row_number}: missing or empty field(s) {', '.join(missing)} "
                f"(fields here: {present})"
            )
            continue
        item_id = str(record[mapping.id_field]) if mapping.id_field else str(row_number)
        if item_id in seen:
            problems.append(
                f"{name} row {row_number}: id {item_id!r} already used on row {seen[item_id]}"
            )
            continue
        seen[item_id] = row_number
        category = record.get(mapping.category_field) if mapping.category_field else None
        expected = record[mapping.expected_field] if mapping.expected_field else None
        text = record[mapping.input_field]
        items.append(
            Item(
                id=item_id,
                input=text if type(text) is str else _as_text(text),
                expected=(
                    None
                    if expected is None
                    else expected
                    if type(expected) is str
                    else _as_text(expected)
                ),
                category=None if category is None else str(category),
                fields=record,
                row=row_number,
            )
        )
    return items, problems


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)
