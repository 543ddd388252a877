"""The spec's held-out split, seeded or from given files: no torch needed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmpick.spec import load_spec
from llmpick.tuning import TuningError, held_out

SPEC = """\
version: 1
candidates:
  - local/smollm2-135m-instruct
  - tune: {base: local/smollm2-135m-instruct}
dataset:
  path: test.jsonl
  id_field: id
  expected_field: queue
"""


def rows(folder: Path, name: str, ids: list[str]) -> None:
    (folder / name).write_text(
        "".join(
            json.dumps({"id": i, "input": f"ticket {i}", "queue": "billing"}) + "\n" for i in ids
        )
    )


def test_the_seeded_split_holds_out_the_same_ids_for_every_candidate(tmp_path: Path) -> None:
    rows(tmp_path, "test.jsonl", [f"T{n}" for n in range(40)])
    (tmp_path / "llmpick.yaml").write_text(SPEC + "  split: {seed: 3, test_fraction: 0.25}\n")
    held = held_out(load_spec(tmp_path / "llmpick.yaml"))
    assert held is not None and not held.given_files
    assert held.splits.sizes() == {"train": 24, "validation": 6, "test": 10}
    assert set(held.test_ids).isdisjoint(held.splits.train + held.splits.validation)
    assert "seed 3" in held.source and "10 test" in held.source


def test_given_files_hold_out_every_test_item(tmp_path: Path) -> None:
    rows(tmp_path, "test.jsonl", ["A1", "A2", "A3"])
    rows(tmp_path, "train.jsonl", [f"B{n}" for n in range(10)])
    spec = SPEC + "  train_path: train.jsonl\n"
    (tmp_path / "llmpick.yaml").write_text(spec)
    held = held_out(load_spec(tmp_path / "llmpick.yaml"))
    assert held is not None and held.given_files
    assert held.test_ids == ("A1", "A2", "A3")
    assert len(held.splits.train) + len(held.splits.validation) == 10
    assert held.splits.validation  # a seeded share of the training file
    rows(tmp_path, "val.jsonl", ["C1", "C2"])
    (tmp_path / "llmpick.yaml").write_text(spec + "  validation_path: val.jsonl\n")
    held = held_out(load_spec(tmp_path / "llmpick.yaml"))
    assert held is not None and held.splits.validation == ("C1", "C2")
    assert len(held.splits.train) == 10


def test_a_test_id_in_the_training_file_is_refused(tmp_path: Path) -> None:
    rows(tmp_path, "test.jsonl", ["A1", "A2", "A3"])
    rows(tmp_path, "train.jsonl", ["B1", "A2", "B3", "B4"])
    (tmp_path / "llmpick.yaml").write_text(SPEC + "  train_path: train.jsonl\n")
    with pytest.raises(TuningError, match=r"also in the test file test.jsonl \(e.g. A2\)"):
        held_out(load_spec(tmp_path / "llmpick.yaml"))


def test_nothing_is_held_out_without_tuning(tmp_path: Path) -> None:
    rows(tmp_path, "test.jsonl", ["A1", "A2", "A3"])
    (tmp_path / "llmpick.yaml").write_text(
        SPEC.replace("  - tune: {base: local/smollm2-135m-instruct}\n", "")
    )
    assert held_out(load_spec(tmp_path / "llmpick.yaml")) is None
