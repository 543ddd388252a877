from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmpick.evaluation import DatasetError, FieldMapping, load_dataset, select_items

MAPPING = FieldMapping(input_field="q", expected_field="a", id_field="id", category_field="cat")


def _jsonl(path: Path, rows: list[object]) -> Path:
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")
    return path


def test_jsonl_rows_become_items(tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "d.jsonl", [{"id": 7, "q": "2+2", "a": 4, "cat": "math", "hint": "x"}])
    [item] = load_dataset(path, MAPPING).items
    assert (item.id, item.input, item.expected, item.category) == ("7", "2+2", "4", "math")
    assert item.fields["hint"] == "x" and item.row == 1


def test_bad_rows_are_all_reported_with_row_numbers(tmp_path: Path) -> None:
    path = _jsonl(
        tmp_path / "d.jsonl",
        [
            {"id": 1, "q": "ok", "a": "y"},
            "{not json",
            {"id": 2, "a": "y"},
            {"id": 1, "q": "again", "a": "y"},
        ],
    )
    with pytest.raises(DatasetError) as caught:
        load_dataset(path, MAPPING)
    message = str(caught.value)
    assert "3 bad row(s)" in message
    assert "row 2: invalid JSON" in message
    assert "row 3: missing or empty field(s) q" in message
    assert "row 4: id '1' already used on row 1" in message
    loaded = load_dataset(path, MAPPING, skip_bad_rows=True)
    assert [i.id for i in loaded.items] == ["1"] and len(loaded.skipped) == 3


def test_csv_row_numbers_count_the_header(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("id,q,a\n1,hello,hi\n2,,hi\n")
    with pytest.raises(DatasetError, match=r"d.csv row 3: missing"):
        load_dataset(path, MAPPING)


def test_parquet(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    path = tmp_path / "d.parquet"
    pq.write_table(pa.table({"id": ["a", "b"], "q": ["x", "y"], "a": ["1", "2"]}), path)
    assert [i.input for i in load_dataset(path, MAPPING).items] == ["x", "y"]


def test_records_and_missing_file(tmp_path: Path) -> None:
    items = load_dataset([{"input": "hi", "expected": "yo"}]).items
    assert items[0].id == "1"
    with pytest.raises(DatasetError, match="relative to the spec file"):
        load_dataset(tmp_path / "nope.jsonl")
    with pytest.raises(DatasetError, match=r"set `dataset\.format`"):
        load_dataset(_jsonl(tmp_path / "d.txt", [{"input": "x"}]))


def test_saved_hugging_face_folder_needs_datasets(tmp_path: Path) -> None:
    try:
        import datasets
    except ImportError:
        with pytest.raises(DatasetError, match="pip install"):
            load_dataset(tmp_path)
        return
    datasets.Dataset.from_list([{"input": "x", "expected": "y"}]).save_to_disk(tmp_path / "hf")
    assert load_dataset(tmp_path / "hf").items[0].input == "x"


def test_sample_is_reproducible_and_keeps_file_order(tmp_path: Path) -> None:
    items = load_dataset([{"input": str(i), "expected": "x"} for i in range(50)]).items
    first = select_items(items, sample=10, seed=3)
    assert first == select_items(items, sample=10, seed=3)
    assert first != select_items(items, sample=10, seed=4)
    assert [i.row for i in first] == sorted(i.row for i in first)
    assert len(select_items(items, limit=5)) == 5
