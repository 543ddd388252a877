"""Ids a user copies into the next command show whole at 80 columns, in every table that lists
them (the real CLI, piped, over a real store)."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from llmpick.store import ItemRecord, LoadTestRecord, open_store
from llmpick.testing.stored_run import StoredAnswer, store_run

CliRun = Callable[..., subprocess.CompletedProcess[str]]

RUN_ID = "20261202-024100-a1b2c3"
LABELS = [
    "anthropic/claude-haiku-5-5",
    "local/smollm2-135m-instruct",
    "google/gemini-2.5-flash-lite",
]
NOT_MEASURED = "openai/gpt-6-luna-with-a-long-name"
LOAD_TEST_ID = "lt-20261202-024500-d4e5f6"


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return write_store(tmp_path / "runs.sqlite")


def write_store(path: Path) -> Path:
    """A store with one finished run (long labels, one not measured) and one load test."""
    items = [
        ItemRecord(f"ticket-{i:03d}", i, f"ticket {i}", "billing", "billing") for i in range(25)
    ]
    # The first candidate is right on 4 items the second gets wrong and equal elsewhere: the
    # bootstrap interval excludes 0 while McNemar's exact p is 0.125.
    answers = {
        LABELS[0]: {i.item_id: StoredAnswer("billing", 1.0) for i in items},
        LABELS[1]: {
            i.item_id: StoredAnswer("billing", 0.0 if n < 4 else 1.0) for n, i in enumerate(items)
        },
        LABELS[2]: {i.item_id: StoredAnswer("other", float(n % 2)) for n, i in enumerate(items)},
    }
    with open_store(path) as store:
        store_run(
            store,
            RUN_ID,
            items=items,
            answers=answers,
            not_measured={NOT_MEASURED: "not measured (set OPENAI_API_KEY)"},
            spec_name="support-ticket-triage",
        )
        store.save_load_test(
            LoadTestRecord(
                id=LOAD_TEST_ID,
                created_at="2026-12-02T02:45:00+00:00",
                spec_name="support-ticket-triage",
                candidate="local/smollm2-135m-instruct-served-on-l4",
                endpoint="http://127.0.0.1:8000/v1/a/long/path/to/the/endpoint",
                model="smollm2-135m-instruct",
                requests_per_s=3.25,
                concurrency=4,
                hardware="1xL4",
            )
        )
    return path


def _whole(ids: list[str], output: str) -> list[str]:
    """The ids that do not show whole on some line of the output."""
    lines = output.splitlines()
    return [i for i in ids if not any(i in line for line in lines)]


def _fits(output: str, columns: int = 80) -> list[str]:
    """Lines wider than the screen, or cut short with an ellipsis."""
    return [line for line in output.splitlines() if len(line) > columns or "…" in line]


@pytest.mark.parametrize("columns", [80, 100])
def test_runs_list_and_loadtests_show_whole_ids(llmpick: CliRun, db: Path, columns: int) -> None:
    listed = llmpick("runs", "list", "--db", str(db), columns=columns)
    assert listed.returncode == 0, listed.stderr
    assert _whole([RUN_ID], listed.stdout) == [], listed.stdout
    assert _fits(listed.stdout, columns) == []
    tests = llmpick("runs", "loadtests", "--db", str(db), columns=columns)
    assert tests.returncode == 0, tests.stderr
    ids = [LOAD_TEST_ID, "local/smollm2-135m-instruct-served-on-l4"]
    assert _whole(ids, tests.stdout) == [], tests.stdout
    assert _fits(tests.stdout, columns) == []


@pytest.mark.parametrize("columns", [80, 100])
def test_runs_show_shows_whole_candidate_labels(llmpick: CliRun, db: Path, columns: int) -> None:
    shown = llmpick("runs", "show", RUN_ID, "--db", str(db), columns=columns)
    assert shown.returncode == 0, shown.stderr
    assert _whole([RUN_ID, *LABELS, NOT_MEASURED], shown.stdout) == [], shown.stdout
    assert _fits(shown.stdout, columns) == []
    assert _whole(["self-hosted", "mcnemar", "accuracy"], shown.stdout) == [], shown.stdout


def test_runs_show_explains_an_interval_that_disagrees_with_mcnemar(
    llmpick: CliRun, db: Path
) -> None:
    shown = llmpick("runs", "show", RUN_ID, "--db", str(db), columns=200)
    assert shown.returncode == 0, shown.stderr
    assert "0.125 †" in shown.stdout
    flat = " ".join(shown.stdout.split())
    assert f"† {LABELS[0]} vs {LABELS[1]}: the interval excludes 0 but p = 0.125" in flat
    assert "4 vs 0 items" in flat


@pytest.mark.parametrize("columns", [80, 100])
def test_catalog_list_shows_whole_ids(llmpick: CliRun, columns: int) -> None:
    from llmpick.catalog import load_catalog

    listed = llmpick("catalog", "list", columns=columns)
    assert listed.returncode == 0, listed.stderr
    ids = [entry.id for entry in load_catalog()]
    assert _whole(ids, listed.stdout) == [], listed.stdout
    assert _fits(listed.stdout, columns) == []
    # No column is folded letter by letter: its heading and values read whole.
    words = ["licence", "commercial", "context", "status", "Apache-2.0", "proprietary", "retired"]
    assert _whole(words, listed.stdout) == [], listed.stdout
