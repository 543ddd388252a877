"""Read the organization's test cases from JSONL, CSV, Parquet or a saved Hugging Face dataset.

Every row becomes an `Item` with an id, the input, the reference answer and a category, plus all
of its fields (templates may use any of them). A bad row (invalid JSON, a missing field, a
duplicate id) is reported with its file and row number; all bad rows are listed at once.
"""

from __future__ import annotations

import csv
import itertools
import json
import random
import re
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

MAX_ROW_BYTES = 256 * 2**20
"""Longest row read; a longer one is refused before it fills memory (no model takes more)."""

MAX_ROW_DEPTH = 100
"""Deepest nesting of lists and objects in a row; deeper ends Python's parsers in a crash."""

MAX_CSV_FIELD_BYTES = MAX_ROW_BYTES
"""The csv module's own limit is 128 KiB per field, less than a long document needs."""

_UTF8_BOM = b"\xef\xbb\xbf"
_SURROGATE_ESCAPE = re.compile(r"\\[uU][dD][89a-fA-F][0-9a-fA-F]{2}")

# What a file is when it starts with these bytes, for a message better than "not UTF-8".
_SIGNATURES: tuple[tuple[bytes, str, str], ...] = (
    (b"\x1f\x8b", "gzip-compressed", "decompress it (gunzip -k FILE) and point at the result"),
    (b"BZh", "bzip2-compressed", "decompress it (bunzip2 -k FILE) and point at the result"),
    (b"\xfd7zXZ\x00", "xz-compressed", "decompress it (unxz -k FILE) and point at the result"),
    (b"\x28\xb5\x2f\xfd", "zstd-compressed", "decompress it (unzstd FILE) and point at the result"),
    (b"PK\x03\x04", "a ZIP archive (or an .xlsx workbook)", "export or extract it as CSV or JSONL"),
    (b"PAR1", "a Parquet file", "name it .parquet or set `dataset.format: parquet`"),
    (b"SQLite format 3\x00", "an SQLite database", "export the table as CSV or JSONL"),
    (b"\xff\xfe", "UTF-16 text", "save it as UTF-8 (in Excel: 'CSV UTF-8')"),
    (b"\xfe\xff", "UTF-16 text", "save it as UTF-8 (in Excel: 'CSV UTF-8')"),
)


class _Bad(str):
    """A row that could not be parsed; the string says why."""


def _read_rows(path: Path, format: str) -> Iterator[Row]:
    if not path.exists():
        raise DatasetError(
            f"dataset {path} not found; check `dataset.path` (it is relative to the spec file)"
        )
    if path.is_dir():
        return _read_hf_folder(path)
    if not path.is_file():
        raise DatasetError(
            f"dataset {path} is not a regular file (a device, pipe or socket); "
            "point `dataset.path` at a JSONL, CSV or Parquet file"
        )
    kind = format if format != "auto" else _format_from_suffix(path)
    _refuse_other_file_kinds(path, kind)
    readers = {"jsonl": _read_jsonl, "csv": _read_csv, "parquet": _read_parquet}
    return readers[kind](path)


def _refuse_other_file_kinds(path: Path, kind: str) -> None:
    """A compressed, binary or UTF-16 file named like a text dataset, told apart by its first
    bytes (reading it as UTF-8 would report every row as broken)."""
    try:
        with path.open("rb") as handle:
            head = handle.read(16)
    except OSError as exc:
        raise DatasetError(f"dataset {path}: cannot read it: {exc.strerror}") from None
    if kind == "parquet":
        if head and not head.startswith(b"PAR1"):
            raise DatasetError(
                f"{path}: not a Parquet file (it does not start with 'PAR1'); "
                "set `dataset.format` to the format it has"
            )
        return
    for signature, what, fix in _SIGNATURES:
        if head.startswith(signature):
            raise DatasetError(f"{path}: the file is {what}, not {kind.upper()} text; {fix}")


def _format_from_suffix(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    if suffix in (".csv", ".tsv"):
        return "csv"
    if suffix in (".parquet", ".pq"):
        return "parquet"
    if suffix in (".gz", ".bz2", ".xz", ".zst", ".zip"):
        raise DatasetError(
            f"{path}: compressed datasets are not read; decompress it and point "
            "`dataset.path` at the .jsonl, .csv or .parquet file inside"
        )
    raise DatasetError(
        f"{path}: cannot tell the format from the extension {suffix or '(none)'}; "
        "set `dataset.format` to jsonl, csv or parquet"
    )


def _lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """(line number, bytes) of each line, without a leading byte-order mark; a line longer
    than MAX_ROW_BYTES is refused before it is read whole."""
    with path.open("rb") as handle:
        for number in itertools.count(1):
            line = handle.readline(MAX_ROW_BYTES + 1)
            if not line:
                return
            if len(line) > MAX_ROW_BYTES:
                raise DatasetError(
                    f"{path} row {number}: longer than {MAX_ROW_BYTES // 2**20} MiB; "
                    "no model reads a row that long"
                )
            if number == 1:
                line = line.removeprefix(_UTF8_BOM)
            yield number, line


def _not_utf8(exc: UnicodeDecodeError, data: bytes) -> str:
    return (
        f"not UTF-8 text (byte 0x{data[exc.start]:02x} at column {exc.start + 1}); "
        "save the file as UTF-8"
    )


def _read_jsonl(path: Path) -> Iterator[Row]:
    for line_number, data in _lines(path):
        try:
            line = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield line_number, _Bad(_not_utf8(exc, data))
            continue
        if not line.strip():
            continue
        yield line_number, _parse_json_row(line)


def _parse_json_row(line: str) -> Any:
    try:
        record = json.loads(line, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        return _Bad(f"invalid JSON ({exc.msg} at column {exc.colno})")
    except RecursionError:
        return _Bad(f"nested more than {MAX_ROW_DEPTH} levels deep")
    except ValueError as exc:  # NaN/Infinity, or an integer of over 4,300 digits
        reason = str(exc) if isinstance(exc, _NotJson) else "a number of over 4,300 digits"
        return _Bad(f"invalid JSON ({reason})")
    # Nesting that json.loads survives can still end a later json.dumps (the store) in a
    # RecursionError; only a line with that many brackets can nest that deep.
    if line.count("[") + line.count("{") > MAX_ROW_DEPTH and _too_deep(record):
        return _Bad(f"nested more than {MAX_ROW_DEPTH} levels deep")
    if _SURROGATE_ESCAPE.search(line) and _has_lone_surrogate(record):
        return _Bad("contains a lone UTF-16 surrogate escape (like \\ud800), which is not text")
    return record


class _NotJson(ValueError):
    pass


def _refuse_constant(name: str) -> Any:
    raise _NotJson(f"{name} is not a JSON value; write a number or a string")


def _too_deep(value: Any) -> bool:
    pending = [(value, 1)]
    while pending:
        node, depth = pending.pop()
        if depth > MAX_ROW_DEPTH:
            return True
        if not isinstance(node, dict | list):
            continue
        children = node.values() if isinstance(node, dict) else node
        pending.extend((c, depth + 1) for c in children if isinstance(c, dict | list))
    return False


def _has_lone_surrogate(record: Any) -> bool:
    try:
        json.dumps(record, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _read_csv(path: Path) -> Iterator[Row]:
    """Rows of a CSV (TSV by extension) file, each numbered by the line it starts on.

    Read strictly: a quote inside a quoted field must be doubled, so `"he said "hi""` is an
    error instead of silently becoming `he said hi"`. A record that runs over several lines
    and then breaks (an unclosed quote swallowing the rows after it) is reported at the line
    the quote opened, and every line it swallowed is reported too (none vanish unseen).
    """
    if csv.field_size_limit() < MAX_CSV_FIELD_BYTES:
        csv.field_size_limit(MAX_CSV_FIELD_BYTES)
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    reader = csv.reader(_decoded_lines(path), delimiter=delimiter, strict=True)
    header: list[str] | None = None
    while True:
        start = reader.line_num + 1
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield from _broken_record(start, reader.line_num, str(exc))
            continue
        if not values or (header is not None and values == [""]):
            continue  # a blank line
        if header is None:
            header = _csv_header(path, values)
            continue
        end = reader.line_num
        if len(values) != len(header) and end > start:
            problem = f"has {len(values)} values for {len(header)} columns"
            yield from _broken_record(start, end, problem)
            continue
        if len(values) > len(header):
            yield start, _Bad(f"{len(values)} values for {len(header)} header columns")
            continue
        yield start, dict(zip(header, values, strict=False))


def _broken_record(start: int, end: int, problem: str) -> Iterator[Row]:
    if "field larger than field limit" in problem:
        yield start, _Bad(f"a field is longer than {MAX_CSV_FIELD_BYTES // 2**20} MiB")
        return
    if end > start:
        # The record ran over several lines and then broke: a quote opened on its first row
        # was not closed there and swallowed the rows after it (reported, each of them).
        endings = {
            "unexpected end of data": "reached the end of the file",
            "expected after": "closed in the middle of a field",
        }
        how = next((text for key, text in endings.items() if key in problem), problem)
        yield (
            start,
            _Bad(
                f"a quote opened on this row is not closed on it: rows {start}-{end} were read as "
                f"one record, which {how}; close the quote, or double each quote inside quotes"
            ),
        )
        for line in range(start + 1, end + 1):
            yield line, _Bad(f"inside the unclosed quote from row {start}")
        return
    if "expected after" in problem:
        yield (
            start,
            _Bad(
                'a quote inside a quoted field is not doubled (write "" for each " inside '
                'quotes, e.g. "he said ""hi""")'
            ),
        )
        return
    yield start, _Bad(f"unreadable CSV ({problem})")


def _csv_header(path: Path, values: list[str]) -> list[str]:
    names = [value.strip() for value in values]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise DatasetError(
            f"{path} row 1: the header repeats column(s) {', '.join(map(repr, repeated))}; "
            "give every column its own name"
        )
    return names


def _decoded_lines(path: Path) -> Iterator[str]:
    for number, data in _lines(path):
        try:
            yield data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DatasetError(f"{path} row {number}: {_not_utf8(exc, data)}") from None


def _read_parquet(path: Path) -> Iterator[Row]:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise DatasetError(
            f"{path}: reading Parquet needs pyarrow: pip install 'llmpick[eval]'"
        ) from None
    row_number = 0
    try:
        for batch in pq.ParquetFile(path).iter_batches(batch_size=10_000):
            for record in batch.to_pylist():
                row_number += 1
                yield row_number, record
    except (pa.ArrowException, OSError) as exc:
        after = f" after row {row_number}" if row_number else ""
        raise DatasetError(
            f"{path}: not a readable Parquet file{after} ({exc}); it may be truncated or "
            "corrupt: write it again"
        ) from None


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
            array = " (a JSON array: write one object per line)" if isinstance(record, list) else ""
            problems.append(
                f"{name} row {row_number}: expected an object with fields, "
                f"got {type(record).__name__}{array}"
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
