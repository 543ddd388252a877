"""`llmpick check`: which candidates the spec's hard constraints rule out, and why."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.markup import escape
from rich.table import Table

from llmpick.cli._output import console, print_json

if TYPE_CHECKING:
    from llmpick.constraints import CheckReport


def register(app: typer.Typer) -> None:
    """Add `check` to the root app."""
    app.command("check")(check)


def check(
    spec_file: Path = typer.Argument(..., help="The decision spec (llmpick.yaml)."),
    as_json: bool = typer.Option(False, "--json", help="Print the verdicts as JSON."),
) -> None:
    """Check every candidate against the spec's hard constraints; list each reason.

    Example: llmpick check examples/quickstart/llmpick.yaml --json
    """
    from llmpick.constraints import check_spec
    from llmpick.spec import load_spec

    report = check_spec(load_spec(spec_file).spec)
    if as_json:
        print_json(report.to_dict())
        return
    _print_report(report)


def _print_report(report: CheckReport) -> None:
    table = Table(title="Constraint check", show_lines=True)
    table.add_column("candidate", style="bold", no_wrap=True)
    table.add_column("runs as")
    table.add_column("verdict")
    table.add_column("reasons")
    for verdict in report.verdicts:
        lines = []
        for result in verdict.results:
            if result.passed:
                mark = "[green]✓[/]"
            elif result.severity == "warning":
                mark = "[yellow]![/]"
            else:
                mark = "[red]✗[/]"
            lines.append(f"{mark} [dim]{escape(result.rule)}:[/] {escape(result.message)}")
        status = "[green]eligible[/]" if verdict.eligible else "[red]excluded[/]"
        table.add_row(
            escape(verdict.candidate.id),
            escape(verdict.candidate.deployment),
            status,
            "\n".join(lines) or "-",
        )
    console.print(table)
    console.print(
        f"{len(report.eligible)} eligible, {len(report.excluded)} excluded "
        f"of {len(report.verdicts)} candidates."
    )
