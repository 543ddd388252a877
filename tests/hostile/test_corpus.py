"""Every hostile input in `corpus/` through the real CLI: the exit code and the located message
the manifest names, never a traceback, within a few seconds each.

A case is one entry of `corpus/manifest.yaml`:

    - id: spec-alias-bomb-flow          # the test id
      kind: spec                        # spec | dataset | cli | store
      file: specs/alias-bomb-flow.yaml  # copied into the case's own folder
      also: [specs/fake.gguf]           # more files copied beside it
      make: huge_row                    # a generator below, for inputs too big to commit
      args: [validate, '{file}']        # default for a spec: validate FILE
      exit: 2
      expect: ['alias-bomb-flow.yaml:8:8: (yaml)', 'aliases expand']   # substrings of output
      absent: [...]                     # substrings that must not be printed
      once: [...]                       # substrings printed exactly once

A dataset case is evaluated: a spec is written around the dataset (`dataset:` options merged
in) whose one candidate is a real OpenAI-compatible mock server on 127.0.0.1.
"""

from __future__ import annotations

import gzip
import io
import json
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from llmpick.cli import app
from llmpick.testing import MockServerConfig, ServerThread, create_mock_app

CORPUS = Path(__file__).parent / "corpus"
CASES: list[dict[str, Any]] = yaml.safe_load((CORPUS / "manifest.yaml").read_text())
runner = CliRunner()

_KEYS = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY")


@pytest.fixture(scope="module")
def mock_url() -> Iterator[str]:
    with ServerThread(create_mock_app(MockServerConfig())) as server:
        yield server.url + "/v1"


# ----------------------------------------------------------------- generated (too big to commit)


def _big_csv_field(work: Path) -> None:
    """One field of 200 KiB: over the csv module's default 128 KiB limit."""
    (work / "big-field.csv").write_text(f"input,expected\n{'x' * 200_000},x\nshort,y\n")


def _huge_row(work: Path) -> None:
    """An 8 MB input: surely over a 128k-token window (the issue's 50 MB row takes the same
    path, only slower to write and store)."""
    with (work / "huge-row.jsonl").open("w") as handle:
        handle.write(json.dumps({"input": "word " * 1_600_000, "expected": "a"}) + "\n")
        handle.write(json.dumps({"input": "a short question", "expected": "a"}) + "\n")


def _deep_json_row(work: Path) -> None:
    """A row nested 100,000 levels deep (RecursionError in json.loads)."""
    deep = '{"input": ' + "[" * 100_000 + "]" * 100_000 + ', "expected": "a"}'
    (work / "deep-row.jsonl").write_text(deep + "\n" + '{"input": "q", "expected": "a"}\n')


def _gzip_jsonl(work: Path) -> None:
    data = b'{"input": "q", "expected": "a"}\n'
    (work / "cases.jsonl").write_bytes(gzip.compress(data))


def _truncated_parquet(work: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    buffer = io.BytesIO()
    table = pa.table({"input": [f"q{i}" for i in range(500)], "expected": ["a"] * 500})
    pq.write_table(table, buffer)
    data = buffer.getvalue()
    (work / "truncated.parquet").write_bytes(data[: len(data) // 2])


def _store_with_renamed_column(work: Path) -> None:
    _fresh_store(work / "db.sqlite")
    with sqlite3.connect(work / "db.sqlite") as db:
        db.execute("ALTER TABLE runs RENAME COLUMN spec_name TO spec_title")


def _fresh_store(path: Path) -> None:
    from llmpick.store import open_store

    with open_store(path):
        pass


def _store(work: Path) -> None:
    _fresh_store(work / "db.sqlite")


def _text_as_store(work: Path) -> None:
    (work / "db.sqlite").write_text("this is a text file, not a database\n")


def _truncated_store(work: Path) -> None:
    _fresh_store(work / "db.sqlite")
    data = (work / "db.sqlite").read_bytes()
    (work / "db.sqlite").write_bytes(data[:200])


def _folder_named_jsonl(work: Path) -> None:
    (work / "folder.jsonl").mkdir()


GENERATORS: dict[str, Callable[[Path], None]] = {
    "folder_named_jsonl": _folder_named_jsonl,
    "big_csv_field": _big_csv_field,
    "huge_row": _huge_row,
    "deep_json_row": _deep_json_row,
    "gzip_jsonl": _gzip_jsonl,
    "truncated_parquet": _truncated_parquet,
    "store": _store,
    "store_with_renamed_column": _store_with_renamed_column,
    "text_as_store": _text_as_store,
    "truncated_store": _truncated_store,
}


# ------------------------------------------------------------------------------------ running


def _dataset_spec(work: Path, case: dict[str, Any], url: str) -> Path:
    dataset = {"path": Path(case["file"]).name, **case.get("dataset", {})}
    spec = {
        "name": "hostile",
        "candidates": [{"name": "mock", "endpoint": {"base_url": url, "model": "mock"}}],
        "dataset": dataset,
        **case.get("spec", {}),
    }
    path = work / "llmpick.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False).replace("{mock}", url))
    return path


def _default_args(case: dict[str, Any]) -> list[str]:
    if case["kind"] == "spec":
        return ["validate", "{file}"]
    if case["kind"] == "dataset":
        return ["eval", "{spec}", "--db", "{work}/db.sqlite", "--no-progress", "--fresh"]
    raise AssertionError(f"case {case['id']} needs `args`")


def _fill(arg: str, values: dict[str, str]) -> str:
    for name, value in values.items():
        arg = arg.replace("{" + name + "}", value)
    return arg


@pytest.mark.timeout(60)
@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_hostile_input(
    case: dict[str, Any], tmp_path: Path, mock_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in _KEYS:
        monkeypatch.delenv(key, raising=False)
    work = tmp_path
    values = {"work": str(work)}
    for relative in [case.get("file"), *case.get("also", [])]:
        if relative and (CORPUS / relative).is_file():
            shutil.copy(CORPUS / relative, work / Path(relative).name)
    if case.get("file"):
        values["file"] = str(work / Path(case["file"]).name)
    if case.get("make"):
        GENERATORS[case["make"]](work)
    if case["kind"] == "dataset":
        values["spec"] = str(_dataset_spec(work, case, mock_url))
    elif case.get("needs_spec"):
        values["spec"] = str(_dataset_spec(work, {"file": "cases.jsonl", **case}, mock_url))
        (work / "cases.jsonl").write_text('{"input": "q", "expected": "a"}\n')
    monkeypatch.chdir(work)
    args = [_fill(arg, values) for arg in (case.get("args") or _default_args(case))]

    _run_and_check(case, args, values)
    if "then" in case:
        then = case["then"]
        _run_and_check({"exit": 0, **then}, [_fill(a, values) for a in then["args"]], values)
    assert not (work / "PWNED").exists(), "a template or tag ran a command"


def _run_and_check(case: dict[str, Any], args: list[str], values: dict[str, str]) -> None:
    result = runner.invoke(app, args, env={"COLUMNS": "200"})
    output = result.output
    assert "Traceback" not in output, output
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"uncaught {result.exception!r}\n{output}")
    assert result.exit_code == case["exit"], output
    flat = " ".join(output.split())  # rich wraps long lines; compare with spaces collapsed
    for text in case.get("expect", []):
        assert " ".join(_fill(text, values).split()) in flat, f"{text!r} not in:\n{output}"
    for text in case.get("absent", []):
        assert text not in output, output
    for text in case.get("once", []):  # a problem is printed once, not in a list and the message
        assert flat.count(" ".join(_fill(text, values).split())) == 1, output


def test_corpus_is_large_and_every_file_is_used() -> None:
    files = {p.relative_to(CORPUS).as_posix() for p in CORPUS.rglob("*") if p.is_file()}
    files.discard("manifest.yaml")
    used = {case.get("file") for case in CASES} | {f for c in CASES for f in c.get("also", [])}
    assert len(files) >= 100, len(files)
    assert files <= used, sorted(files - used)
    assert len({case["id"] for case in CASES}) == len(CASES)
