"""`llmpick runs list | show | compare | export | loadtests`: look at stored runs."""

from __future__ import annotations

import csv
import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import typer
from rich import box
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from llmpick.cli._output import DB_HELP, add_id_column, console, fail, print_json, print_table
from llmpick.cli._views import (
    ambiguous_answers,
    assertion_failures,
    print_load_test,
    render_assertion_failures,
    render_summary,
)

if TYPE_CHECKING:
    from llmpick.store import SqliteStore

runs_app = typer.Typer(
    help="List, show, compare and export evaluation runs; list and show load tests.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    """Add the `runs` group to the root app."""
    app.add_typer(runs_app, name="runs")


def _open(db: Path | None) -> SqliteStore:
    from llmpick.store import open_store

    if db is not None and not db.exists():
        fail(f"database {db} does not exist; run `llmpick eval SPEC --db {db}` first")
    return open_store(db)


def _run_id(store: SqliteStore, run: str) -> str:
    if run == "latest":
        found = store.latest_run_id()
        if found is None:
            fail("no runs yet; start one with `llmpick eval llmpick.yaml`")
        return found
    record = store.get_run(run)
    if record is None:
        fail(f"no run {run!r} (or the prefix is not unique); `llmpick runs list` shows the runs")
    return record.id


@runs_app.command("list")
def list_runs(
    db: Path | None = typer.Option(None, "--db", help=DB_HELP),
    limit: int = typer.Option(20, "--limit", "-n", help="How many recent runs to show."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """List recent evaluation runs, newest first.

    Example: llmpick runs list --limit 5
    """
    with _open(db) as store:
        runs = store.list_runs(limit)
        rows: list[dict[str, Any]] = []
        for run in runs:
            candidates = store.candidates(run.id)
            rows.append(
                {
                    "id": run.id,
                    "created_at": run.created_at,
                    "spec": run.spec_name,
                    "status": run.status,
                    "items": store.item_count(run.id),
                    "candidates": len(candidates),
                    "measured": sum(c.status == "measured" for c in candidates),
                }
            )
    if as_json:
        print_json(rows)
        return
    if not rows:
        console.print("No runs yet. Start one with: llmpick eval llmpick.yaml")
        return
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    add_id_column(table, "run")
    table.add_column("created", no_wrap=True)
    table.add_column("spec", overflow="fold")
    table.add_column("status", overflow="fold")
    table.add_column("items", justify="right")
    table.add_column("measured", justify="right")
    for r in rows:
        table.add_row(
            r["id"],
            _when(r["created_at"]),
            escape(r["spec"]),
            r["status"],
            str(r["items"]),
            f"{r['measured']} of {r['candidates']}",
        )
    print_table(table, [r["id"] for r in rows])


@runs_app.command("show")
def show(
    run: str = typer.Argument("latest", help="Run id (a unique prefix is enough) or `latest`."),
    db: Path | None = typer.Option(None, "--db", help=DB_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of tables."),
) -> None:
    """Show a run's quality (with 95% intervals), latency, cost, paired comparisons and which
    rows' own `assert` checks failed, with why.

    Example: llmpick runs show latest
    """
    from llmpick.evaluation import summarize_run

    if run.startswith("lt-"):
        _show_load_test(run, db, as_json)
        return
    with _open(db) as store:
        run_id = _run_id(store, run)
        summary = summarize_run(store, run_id)
        failures = assertion_failures(store, run_id)
        ambiguous = ambiguous_answers(store, run_id)
    if as_json:
        data = summary.to_dict()
        data["assertion_failures"] = [
            {"candidate": c, "item_id": i, "repeat": r, "reasons": why.split("; ")}
            for c, i, r, why in failures
        ]
        print_json(data)
        return
    render_summary(summary)
    for (candidate, metric), count in sorted(ambiguous.items()):
        console.print(
            Text(
                f"{candidate}: {count} {metric} answer(s) named several answers at once "
                "(ambiguous, scored 0)",
                style="yellow",
            )
        )
    render_assertion_failures(failures)


def _show_load_test(test_id: str, db: Path | None, as_json: bool) -> None:
    from llmpick.loadtest import result_of_record

    with _open(db) as store:
        record = store.get_load_test(test_id)
    if record is None:
        fail(f"no load test {test_id!r}; `llmpick runs loadtests` lists them")
    if as_json:
        print_json(record.result)
        return
    print_load_test(result_of_record(record))


@runs_app.command("loadtests")
def list_load_tests(
    db: Path | None = typer.Option(None, "--db", help=DB_HELP),
    candidate: str | None = typer.Option(None, "--candidate", "-c", help="Only this candidate."),
    limit: int = typer.Option(20, "--limit", "-n", help="How many recent load tests to show."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """List load tests of serving endpoints, newest first; `runs show ID` shows one.

    Example: llmpick runs loadtests --candidate llama-8b-vllm
    """
    with _open(db) as store:
        tests = store.load_tests(candidate=candidate, limit=limit)
    rows: list[dict[str, Any]] = [
        {
            "id": t.id,
            "created_at": t.created_at,
            "spec": t.spec_name,
            "candidate": t.candidate,
            "endpoint": t.endpoint,
            "hardware": t.hardware,
            "requests_per_s": t.requests_per_s,
            "concurrency": t.concurrency,
        }
        for t in tests
    ]
    if as_json:
        print_json(rows)
        return
    if not rows:
        console.print("No load tests yet. Run one with: llmpick loadtest llmpick.yaml -c NAME")
        return
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    add_id_column(table, "load test")
    table.add_column("created", no_wrap=True)
    add_id_column(table, "candidate")
    table.add_column("hardware", overflow="fold")
    table.add_column("capacity", overflow="fold")
    table.add_column("endpoint", overflow="fold")
    for r in rows:
        capacity = (
            f"{r['requests_per_s']:,.2f} req/s at {r['concurrency']}"
            if r["requests_per_s"] is not None
            else "no level met the SLO"
        )
        table.add_row(
            r["id"],
            _when(r["created_at"]),
            escape(r["candidate"]),
            escape(r["hardware"] or "-"),
            capacity,
            escape(r["endpoint"]),
        )
    print_table(table, [r["id"] for r in rows] + [r["candidate"] for r in rows])


@runs_app.command("compare")
def compare(
    run: str = typer.Argument("latest", help="Run id or `latest`."),
    run2: str | None = typer.Argument(None, help="A second run: compare the same candidates."),
    db: Path | None = typer.Option(None, "--db", help=DB_HELP),
    metric: str | None = typer.Option(None, "--metric", "-m", help="Metric (default: primary)."),
    show_all: bool = typer.Option(False, "--all", help="Show items where all agree too."),
    limit: int = typer.Option(50, "--limit", "-n", help="Most items to show."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Item by item: where candidates (or two runs) disagree, with each answer and score.

    Example: llmpick runs compare latest --metric accuracy
    """
    with _open(db) as store:
        first = _run_id(store, run)
        record = store.get_run(first)
        assert record is not None
        metric = metric or record.primary_metric
        columns: dict[str, tuple[str, str]] = {}  # column -> (run id, candidate label)
        runs = [first] if run2 is None else [first, _run_id(store, run2)]
        for index, run_id in enumerate(runs):
            for c in store.candidates(run_id):
                if c.status == "measured":
                    name = c.label if run2 is None else f"{c.label} [{'AB'[index]}]"
                    columns[name] = (run_id, c.label)
        items = {i.item_id: i for i in store.items(first)}
        answers: dict[str, dict[str, tuple[str | None, float | None]]] = defaultdict(dict)
        for name, (run_id, label) in columns.items():
            texts = {r.item_id: r.text for r in store.responses(run_id, label) if r.repeat == 0}
            for s in store.scores(run_id, label):
                if s.metric == metric and s.repeat == 0:
                    answers[s.item_id][name] = (texts.get(s.item_id), s.value)
    rows: list[dict[str, Any]] = []
    for item_id, item in items.items():
        per = answers.get(item_id, {})
        values = {v for _, v in per.values()}
        if not show_all and len(values) <= 1:
            continue
        rows.append(
            {
                "item_id": item_id,
                "input": item.input,
                "expected": item.expected,
                "answers": {name: {"text": t, "score": v} for name, (t, v) in per.items()},
            }
        )
    rows = rows[:limit]
    if as_json:
        print_json({"metric": metric, "runs": runs, "items": rows})
        return
    if not rows:
        console.print(
            f"No disagreements on {metric} between {', '.join(columns) or 'nobody'}.",
            markup=False,
        )
        return
    table = Table(title=f"Disagreements on {escape(metric)}", title_justify="left")
    add_id_column(table, "item")
    table.add_column("input", overflow="fold")
    table.add_column("expected", overflow="fold")
    for name in columns:
        table.add_column(escape(name), overflow="fold")
    for row in rows:
        cells = []
        for name in columns:
            answer = row["answers"].get(name)
            if answer is None:
                cells.append("-")
                continue
            mark = "✓" if answer["score"] == 1 else ("✗" if answer["score"] == 0 else "")
            score = "" if answer["score"] is None else f" ({answer['score']:.2g})"
            cells.append(f"{mark}{score} {escape(_clip(answer['text'] or '', 40))}")
        table.add_row(
            escape(row["item_id"]),
            escape(_clip(row["input"], 50)),
            escape(_clip(row["expected"] or "", 20)),
            *cells,
        )
    print_table(table, [row["item_id"] for row in rows])


@runs_app.command("export")
def export(
    run: str = typer.Argument("latest", help="Run id or `latest`."),
    format: str | None = typer.Option(
        None,
        "--format",
        "-f",
        help="csv, jsonl or json (default: from -o's extension, else jsonl).",
    ),
    output: Path | None = typer.Option(None, "--output", "-o", help="File (default: stdout)."),
    db: Path | None = typer.Option(None, "--db", help=DB_HELP),
) -> None:
    """Export every response with its item, timings, cost and scores (one row per response).

    The format follows the output file's extension (.csv, .jsonl/.ndjson, .json: one JSON
    array); a --format that contradicts it is refused rather than writing JSONL into a .csv.

    Example: llmpick runs export latest -o results.csv
    """
    format = _export_format(format, output)
    if output is not None and not output.parent.is_dir():  # before reading a large run
        fail(f"cannot write {output}: the folder {output.parent} does not exist; create it first")
    with _open(db) as store:
        run_id = _run_id(store, run)
        record = store.get_run(run_id)
        assert record is not None
        metrics: list[str] = record.config.get("metrics", [])
        items = {i.item_id: i for i in store.items(run_id)}
        scores: dict[tuple[str, str, int], dict[str, Any]] = defaultdict(dict)
        for s in store.scores(run_id):
            scores[(s.candidate, s.item_id, s.repeat)][s.metric] = s.value
        rows = []
        for r in store.responses(run_id):
            item = items.get(r.item_id)
            row: dict[str, Any] = {
                "run_id": run_id,
                "candidate": r.candidate,
                "item_id": r.item_id,
                "repeat": r.repeat,
                "category": item.category if item else None,
                "input": item.input if item else None,
                "expected": item.expected if item else None,
                "output": r.text,
                "error": r.error,
                "finish_reason": r.finish_reason,
                "input_tokens": r.input_tokens,
                "output_tokens": r.output_tokens,
                "ttft_s": r.ttft_s,
                "e2e_s": r.e2e_s,
                "tpot_s": r.tpot_s,
                "cost_usd": r.cost_usd,
                "from_cache": r.from_cache,
            }
            for metric in metrics:
                row[f"score_{metric}"] = scores[(r.candidate, r.item_id, r.repeat)].get(metric)
            rows.append(row)
    try:
        handle: TextIO = output.open("w", encoding="utf-8", newline="") if output else sys.stdout
    except OSError as exc:  # a folder of that name, no permission, a read-only disk
        fail(f"cannot write {output}: {exc.strerror}")
    try:
        if format == "jsonl":
            for row in rows:
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
        elif format == "json":
            json.dump(rows, handle, ensure_ascii=False, indent=2)
            handle.write("\n")
        else:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]) if rows else ["run_id"])
            writer.writeheader()
            writer.writerows(rows)
    finally:
        if output:
            handle.close()
    if output:
        console.print(f"Wrote {len(rows)} rows to {output}", highlight=False, markup=False)


_EXPORT_FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json"}


def _export_format(given: str | None, output: Path | None) -> str:
    """The export format: --format, else the output file's extension, else JSONL; a
    contradiction between the two, or an extension no format has, is a user error."""
    known = sorted(set(_EXPORT_FORMATS.values()))
    if given is not None and given not in known:
        fail(f"unknown format {given!r}; use one of: {', '.join(known)}")
    if output is None:
        return given or "jsonl"
    implied = _EXPORT_FORMATS.get(output.suffix.lower())
    if implied is None:
        if given is not None:
            return given
        fail(
            f"cannot tell the format of {output} from its extension "
            f"{output.suffix or '(none)'}; name the file .csv, .jsonl or .json, or pass --format"
        )
    if given is not None and given != implied:
        fail(
            f"--format {given} contradicts {output.name} (a {implied} file name); "
            f"drop --format or name the file .{given}"
        )
    return implied


# Rendering (shared with `llmpick eval`) ----------------------------------------------------------


def _when(timestamp: str) -> str:
    """2026-12-02T02:41:00+00:00 -> 2026-12-02 02:41 (stored times are UTC)."""
    return timestamp[:16].replace("T", " ")


def _clip(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"
