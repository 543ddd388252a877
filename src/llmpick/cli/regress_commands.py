"""`llmpick regress SPEC --candidate NAME`: re-test a deployed candidate against its baseline."""

from __future__ import annotations

from pathlib import Path

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from llmpick.cli._output import DB_HELP, console


def register(app: typer.Typer) -> None:
    """Add `regress` to the root app."""
    app.command("regress")(regress_command)


def regress_command(
    spec: Path = typer.Argument(Path("llmpick.yaml"), help="The decision spec."),
    candidate: str = typer.Option(..., "--candidate", "-c", help="The candidate to re-test."),
    endpoint: str | None = typer.Option(
        None, "--endpoint", help="Its deployment's OpenAI-compatible base URL (or the gateway's)."
    ),
    baseline: str | None = typer.Option(
        None, "--baseline", help="Baseline run id (default: the newest run that measured it)."
    ),
    junit: Path | None = typer.Option(None, "--junit", help="Also write JUnit XML here."),
    db: Path | None = typer.Option(None, "--db", help=DB_HELP),
) -> None:
    """Re-run the evaluation of one candidate (fresh calls, no cache) and compare it item by item
    with a baseline run; exit 1 on a significant quality drop, a missed SLO or a cost rise, 3
    when the test set is too small to detect the spec's `regress.detectable_drop`, else 0.

    Example: llmpick regress llmpick.yaml -c my-vllm --endpoint http://gpu-box:8000/v1 --junit r.xml
    """
    from llmpick._files import write_text_atomic
    from llmpick.regress import regress
    from llmpick.spec import load_spec
    from llmpick.store import open_store

    loaded = load_spec(spec)
    with open_store(db) as store:
        report = regress(loaded, store, candidate=candidate, endpoint=endpoint, baseline=baseline)
    table = Table(
        title=f"Regression of {escape(candidate)}: run {report.new_run} "
        f"against {report.baseline_run}",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    table.add_column("check", no_wrap=True)
    table.add_column("outcome", no_wrap=True)
    table.add_column("details", overflow="fold")
    colours = {"pass": "green", "fail": "red", "underpowered": "yellow", "skipped": "dim"}
    for check in report.checks:
        colour = colours[check.outcome]
        table.add_row(check.name, f"[{colour}]{check.outcome}[/]", escape(check.message))
    console.print(table)
    if report.flips:
        lost = [f.item_id for f in report.flips if f.after < f.before]
        gained = [f.item_id for f in report.flips if f.after > f.before]
        console.print(
            f"Items that flipped: {len(lost)} worse ({escape(', '.join(lost[:10]))}"
            f"{', ...' if len(lost) > 10 else ''}), {len(gained)} better",
            soft_wrap=True,
        )
    if junit is not None:
        write_text_atomic(junit, report.junit_xml())
        console.print(f"JUnit XML: {escape(str(junit))}")
    raise typer.Exit(report.exit_code)
