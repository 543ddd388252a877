"""The three report files are replaced as a set: never a new decision.json beside an old
report.html, whatever stops the write half-way."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from llmpick.decision import Decision
from llmpick.report import ReportError, ensure_writable, write_report


def _contents(out_dir: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in out_dir.iterdir() if p.is_file()}


def test_a_folder_in_place_of_a_report_file_is_refused_before_anything_is_replaced(
    decision: Decision, out_dir: Path
) -> None:
    write_report(decision, out_dir)
    (out_dir / "decision.md").unlink()
    (out_dir / "decision.md").mkdir()  # the middle one of the three renames would fail
    before = _contents(out_dir)
    with pytest.raises(ReportError, match=r"decision\.md exists and is not a file"):
        ensure_writable(out_dir)  # `decide` asks this before evaluating
    with pytest.raises(ReportError, match="not a file"):
        write_report(decision.model_copy(update={"name": "second run"}), out_dir)
    assert _contents(out_dir) == before  # decision.json and report.html are the old ones


def test_a_rename_failing_half_way_puts_the_previous_files_back(
    decision: Decision, out_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_report(decision, out_dir)
    before = _contents(out_dir)
    real_replace = os.replace
    calls: list[Any] = []

    def second_rename_fails(source: Any, target: Any) -> None:
        calls.append(target)
        if len(calls) == 2:
            raise OSError(16, "Device or resource busy")
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", second_rename_fails)
    with pytest.raises(ReportError, match="busy"):
        write_report(decision.model_copy(update={"name": "second run"}), out_dir)
    monkeypatch.setattr(os, "replace", real_replace)
    assert _contents(out_dir) == before  # the first file replaced was put back; no temp files


def test_a_first_report_that_fails_half_way_leaves_no_report_files(
    decision: Decision, out_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_replace = os.replace
    calls: list[Any] = []

    def third_rename_fails(source: Any, target: Any) -> None:
        calls.append(target)
        if len(calls) == 3:
            raise OSError(16, "Device or resource busy")
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", third_rename_fails)
    with pytest.raises(ReportError):
        write_report(decision, out_dir)
    monkeypatch.setattr(os, "replace", real_replace)
    assert _contents(out_dir) == {}
