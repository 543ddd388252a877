"""`llmpick decide`: the main job, from a spec to a recommendation and its report."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from llmpick.cli._output import DB_HELP, console, err_console, print_table

if TYPE_CHECKING:
    from llmpick.decision import Decision


def register(app: typer.Typer) -> None:
    """Add `decide` to the root app."""
    app.command("decide")(decide_command)


def decide_command(
    spec_file: Path = typer.Argument(Path("llmpick.yaml"), help="The decision spec."),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Report folder (default: the spec's report.output_dir)."
    ),
    db: Path | None = typer.Option(None, "--db", help=DB_HELP),
    limit: int | None = typer.Option(None, "--limit", min=1, help="Only the first N items."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Call the models even if cached."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show progress bars."),
    seed: int = typer.Option(0, "--seed", help="Seed of the Monte Carlo confidence."),
    require_meets_needs: bool = typer.Option(
        False,
        "--require-meets-needs",
        help="Exit 1 unless a measured candidate meets every need (for CI).",
    ),
) -> None:
    """Check, evaluate, cost and decide; write report.html, decision.md and decision.json.

    Exit status: 0 when decided (whatever the headline), 1 with --require-meets-needs when no
    measured candidate meets every need, 2 for bad input, 130 when interrupted.

    Example: llmpick decide examples/quickstart/llmpick.yaml -o llmpick-report
    """
    from llmpick._pipeline import DecideOptions, decide
    from llmpick.evaluation import RichProgress
    from llmpick.report import ensure_writable, write_report
    from llmpick.spec import load_spec

    loaded = load_spec(spec_file)
    out_dir = output or (loaded.base_dir / loaded.spec.report.output_dir)
    ensure_writable(out_dir)  # before minutes of evaluation, not after
    options = DecideOptions(use_cache=not no_cache, limit=limit, seed=seed)
    try:
        if progress:
            with RichProgress() as bars:
                decision = decide(loaded, db=db, options=options, progress=bars)
        else:
            decision = decide(loaded, db=db, options=options)
    except KeyboardInterrupt:
        err_console.print(
            "[yellow]Interrupted.[/] Everything evaluated so far is stored; run the same "
            "command again to resume. No report was written.",
            highlight=False,
        )
        raise typer.Exit(130) from None
    for note in decision.notes:
        err_console.print(f"[dim]{escape(note)}[/]", highlight=False, soft_wrap=True)
    files = write_report(decision, out_dir)
    print_decision(decision)
    console.print(
        f"Report: [bold]{escape(str(files.html))}[/] (also {files.markdown.name}, "
        f"{files.json.name})",
        soft_wrap=True,
    )
    if require_meets_needs and decision.recommendation.status != "chosen":
        raise typer.Exit(1)


def print_decision(decision: Decision) -> None:
    """The decision as a table that reads at 80 columns (ids are never cut), then the headline,
    the reasons and what to measure next."""
    table = Table(
        title="Decision",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        caption="$/month: ~ marks an estimate from hardware facts; * a catalog price",
    )
    table.add_column("candidate", no_wrap=True, overflow="fold")
    table.add_column("quality [95% CI]", no_wrap=True)
    table.add_column("p95 e2e", justify="right", no_wrap=True)
    table.add_column("$/month", justify="right", no_wrap=True)
    table.add_column("needs", no_wrap=True)
    ordered = sorted(decision.candidates, key=lambda r: (r.rank is None, r.rank or 0, r.id))
    for row in ordered:
        q = row.quality
        quality = (
            f"{q.mean:.2f} [{q.ci_low:.2f}, {q.ci_high:.2f}]"
            if q.mean is not None and q.ci_low is not None and q.ci_high is not None
            else "-"
        )
        e2e = row.latency.e2e_p95_ms
        usd = row.cost.usd_per_month
        marker = {"estimate": "~", "catalog": "*"}.get(row.cost.provenance, "")
        if not row.eligible:
            needs = "[red]excluded[/]"
        elif not row.measured:
            needs = "[dim]not measured[/]"
        elif row.meets_every_need:
            needs = "[green]all met[/]"
        else:
            missed = sorted({n.need for n in row.needs if n.met is False})
            needs = "[yellow]misses " + ", ".join(missed) + "[/]"
        table.add_row(
            escape(row.id),
            quality,
            f"{e2e:,.0f} ms" if e2e is not None else "-",
            f"{marker}{usd:,.0f}" if usd is not None else "-",
            needs,
        )
    print_table(table, [row.id for row in ordered])
    for row in ordered:
        if row.variant:
            others = ", ".join(
                f"{v.name} {v.mean:.2f}"
                for v in row.variants
                if not v.chosen and v.mean is not None
            )
            console.print(
                f"  [dim]{escape(row.id)}: judged on prompt variant {escape(row.variant)}"
                f"{escape(' (others: ' + others + ')') if others else ''}[/]",
                soft_wrap=True,
            )
        if not row.eligible:
            reasons = "; ".join(r.message for r in row.exclusions)
            console.print(f"  [dim]{escape(row.id)} excluded: {escape(reasons)}[/]", soft_wrap=True)
    rec = decision.recommendation
    colour = "green" if rec.status == "chosen" else "yellow"
    console.print(f"\n[bold {colour}]{escape(rec.headline)}[/]", soft_wrap=True)
    for reason in rec.reasons:
        console.print(f"  - {escape(reason)}", highlight=False, soft_wrap=True)
    if rec.confidence_note:
        console.print(f"  - confidence: {escape(rec.confidence_note)}", soft_wrap=True)
    if rec.next_measurements:
        console.print("[bold]What to measure next[/]")
        for step in rec.next_measurements[:6]:
            console.print(
                f"  - {escape(step.candidate)}: {escape('; '.join(step.why))}",
                highlight=False,
                soft_wrap=True,
            )
            console.print(f"    {escape(step.step)}", highlight=False, soft_wrap=True)
        first = rec.next_measurements[0]
        if first.items_needed:
            console.print(
                f"  Test cases needed to tell them apart: about {first.items_needed:,} "
                f"({escape(first.items_needed_basis or '')})",
                highlight=False,
                soft_wrap=True,
            )
