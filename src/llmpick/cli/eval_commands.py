"""`llmpick eval SPEC`: run the candidates over the spec's dataset and print the summary."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.markup import escape
from rich.text import Text

from llmpick.cli._output import DB_HELP, console, err_console, fail, print_json
from llmpick.cli._views import assertion_failures, render_assertion_failures, render_summary

if TYPE_CHECKING:
    from llmpick.evaluation import RunSummary


def register(app: typer.Typer) -> None:
    """Add `eval` to the root app."""
    app.command("eval")(eval_command)


def eval_command(
    spec: Path = typer.Argument(Path("llmpick.yaml"), help="The decision spec (llmpick.yaml)."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON on stdout."),
    db: Path | None = typer.Option(None, "--db", help=DB_HELP),
    no_cache: bool = typer.Option(False, "--no-cache", help="Call the models even if cached."),
    limit: int | None = typer.Option(None, "--limit", min=1, help="Only the first N items."),
    sample: int | None = typer.Option(None, "--sample", min=1, help="N random items (--seed)."),
    seed: int = typer.Option(0, "--seed", help="Seed for --sample."),
    repeat: int = typer.Option(1, "--repeat", min=1, help="Ask K times per item (variance)."),
    candidate: list[str] = typer.Option(
        [], "--candidate", "-c", help="Only this candidate (repeatable)."
    ),
    concurrency: int | None = typer.Option(
        None, "--concurrency", min=1, help="Most requests in flight per HTTP candidate."
    ),
    fresh: bool = typer.Option(False, "--fresh", help="Start a new run; never resume one."),
    skip_bad_rows: bool = typer.Option(
        False, "--skip-bad-rows", help="Skip unusable dataset rows instead of stopping."
    ),
    progress: bool = typer.Option(
        True, "--progress/--no-progress", help="Show progress (plain lines when piped)."
    ),
    fail_under: float | None = typer.Option(
        None,
        "--fail-under",
        help="Exit 1 when the best measured candidate's primary metric (mean) is below this; "
        "with --candidate, the best of those named.",
    ),
    prefix_reuse: bool = typer.Option(
        True,
        "--prefix-reuse/--no-prefix-reuse",
        help="In-process models: evaluate the prompt head all items share once (same answers).",
    ),
) -> None:
    """Evaluate the spec's candidates on its dataset; resumes an interrupted identical run.

    Exit status: 0 done; 1 every call failed, or --fail-under X and no measured candidate
    (of those evaluated) has a primary-metric mean of at least X; 2 bad input; 130 interrupted.

    Example: llmpick eval examples/quickstart/llmpick.yaml --limit 20 --fail-under 0.8
    """
    from llmpick._pipeline import operating_points, prepare_tuning
    from llmpick.evaluation import RichProgress, RunOptions, run_async, summarize_run
    from llmpick.loadtest import latest_load_tests
    from llmpick.spec import load_spec
    from llmpick.store import open_store
    from llmpick.tuning import tunes

    loaded = load_spec(spec)
    for warning in loaded.warnings:
        err_console.print(f"[yellow]warning:[/] {escape(str(warning))}", highlight=False)
    options = RunOptions(
        use_cache=not no_cache,
        limit=limit,
        sample=sample,
        seed=seed,
        repeat=repeat,
        skip_bad_rows=skip_bad_rows,
        resume=not fresh,
        only=candidate or None,
        concurrency=concurrency,
        prefix_reuse=prefix_reuse,
    )
    with open_store(db) as store:
        points, notes = operating_points(latest_load_tests(store, loaded.spec))
        options.concurrency_for = points
        for note in notes:
            err_console.print(f"[dim]{escape(note)}[/]", highlight=False, soft_wrap=True)
        try:
            # Tuned candidates first: their adapters (trained, or reused) and the held-out items.
            if progress and tunes(loaded):
                with RichProgress() as bars:
                    plan = prepare_tuning(loaded, only=options.only, progress=bars)
            else:
                plan = prepare_tuning(loaded, only=options.only)
            options.tuned, options.item_ids = plan.tuned, plan.item_ids
            for note in plan.notes:
                err_console.print(f"[dim]{escape(note)}[/]", highlight=False, soft_wrap=True)
            if progress:
                with RichProgress() as bars:
                    outcome = asyncio.run(run_async(loaded, store, options, progress=bars))
            else:
                outcome = asyncio.run(run_async(loaded, store, options))
        except KeyboardInterrupt as stopped:  # Ctrl-C, or SIGTERM/SIGHUP (RunInterrupted)
            err_console.print(
                "[yellow]Interrupted.[/] Everything finished so far is stored; run the same "
                "command again to resume.",
                highlight=False,
            )
            raise typer.Exit(getattr(stopped, "exit_code", 130)) from None
        for row in outcome.skipped_rows:
            err_console.print(f"[yellow]skipped:[/] {escape(row)}", highlight=False)
        if outcome.resumed:
            err_console.print(
                f"Resumed run {outcome.run_id}: {outcome.skipped_done} results were already "
                "stored.",
                highlight=False,
            )
        summary = summarize_run(store, outcome.run_id)
        failures = assertion_failures(store, outcome.run_id)
    if as_json:
        data = summary.to_dict()
        data["calls_made"] = outcome.calls_made
        data["from_cache"] = outcome.cached
        data["resumed"] = outcome.resumed
        print_json(data)
    else:
        render_summary(summary)
        render_assertion_failures(failures)
        console.print(
            f"{outcome.calls_made} calls made, {outcome.cached} answered from the cache. "
            f"Details: llmpick runs show {outcome.run_id}",
            highlight=False,
        )
    if outcome.every_call_failed:
        # Nothing was measured: a script running `eval` must not take this for success.
        fail(f"every call failed; the first error: {outcome.first_error}", code=1)
    if fail_under is not None:
        _gate(summary, fail_under)


def _gate(summary: RunSummary, threshold: float) -> None:
    """`--fail-under`: the run passes when its best measured candidate's primary metric mean
    reaches `threshold` (the candidates evaluated are those `--candidate` named, or all)."""
    metric = summary.primary_metric
    means = {
        c.label: c.metrics[metric].mean
        for c in summary.candidates
        if c.measured and metric in c.metrics and c.metrics[metric].mean is not None
    }
    if not means:
        fail(f"--fail-under {threshold:g}: no candidate has a measured {metric}", code=1)
    best = max(means, key=lambda label: means[label] or 0.0)
    value = means[best] or 0.0
    if value < threshold:
        fail(
            f"--fail-under {threshold:g}: the best {metric} is {value:.3f} ({best}), below it",
            code=1,
        )
    err_console.print(
        Text(f"--fail-under {threshold:g}: {best} reaches {metric} {value:.3f}"),
        highlight=False,
    )
