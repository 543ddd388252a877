"""`runs export` writes the format its output file names, and refuses a contradiction."""

from __future__ import annotations

import csv
import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from llmpick.store import ItemRecord, open_store
from llmpick.testing.stored_run import StoredAnswer, store_run

CliRun = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "runs.sqlite"
    items = [ItemRecord(f"t{i}", i, f"ticket {i}", "billing", "billing") for i in range(3)]
    answers = {"alpha": {i.item_id: StoredAnswer("billing", 1.0) for i in items}}
    with open_store(path) as store:
        store_run(store, "20261202-030000-abcdef", items=items, answers=answers)
    return path


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-o", "out.csv", "--format", "jsonl"], "--format jsonl contradicts out.csv"),
        (["-o", "out.jsonl", "-f", "csv"], "--format csv contradicts out.jsonl"),
        (["-o", "out.txt"], "cannot tell the format of out.txt"),
        (["-f", "xml"], "unknown format 'xml'; use one of: csv, json, jsonl"),
    ],
)
def test_a_format_the_file_name_contradicts_is_refused_and_nothing_written(
    llmpick: CliRun, db: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    result = llmpick("runs", "export", "latest", "--db", str(db), *args)
    assert result.returncode == 2 and message in result.stderr, result.stderr
    assert not any(tmp_path.glob("out.*"))


def test_the_extension_chooses_the_format(llmpick: CliRun, db: Path, tmp_path: Path) -> None:
    for name in ("out.csv", "out.jsonl", "out.json", "out.data"):
        extra = ["--format", "csv"] if name == "out.data" else []
        result = llmpick("runs", "export", "latest", "--db", str(db), "-o", name, *extra)
        assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader((tmp_path / "out.csv").open()))
    assert [r["item_id"] for r in rows] == ["t0", "t1", "t2"]
    assert rows[0]["score_accuracy"] == "1.0"
    lines = (tmp_path / "out.jsonl").read_text().splitlines()
    assert [json.loads(line)["item_id"] for line in lines] == ["t0", "t1", "t2"]
    assert [r["item_id"] for r in json.loads((tmp_path / "out.json").read_text())] == [
        "t0",
        "t1",
        "t2",
    ]
    assert (tmp_path / "out.data").read_text().startswith("run_id,")  # --format for odd names
    stdout = llmpick("runs", "export", "latest", "--db", str(db))
    assert len(stdout.stdout.splitlines()) == 3  # stdout: JSONL
