"""`llmpick probe SPEC` and `llmpick probes list`: safety probes as measured evidence."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from llmpick.cli._output import DB_HELP, console, print_json

if TYPE_CHECKING:
    from llmpick.safety import ProbeReport

probes_app = typer.Typer(help="The safety probe suite.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add `probe` and the `probes` group to the root app."""
    app.command("probe")(probe_command)
    app.add_typer(probes_app, name="probes")


def probe_command(
    spec: Path = typer.Argument(Path("llmpick.yaml"), help="The decision spec."),
    categories: list[str] = typer.Option(
        [], "--category", help="Only this category (repeatable; see `llmpick probes list`)."
    ),
    candidate: list[str] = typer.Option(
        [], "--candidate", "-c", help="Only this candidate (repeatable)."
    ),
    db: Path | None = typer.Option(None, "--db", help=DB_HELP),
    limit: int | None = typer.Option(None, "--limit", min=1, help="Only the first N probes."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Call the models even if cached."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show progress."),
    as_json: bool = typer.Option(False, "--json", help="Print the results as JSON."),
) -> None:
    """Run the safety probes on every eligible candidate, inside the spec's own prompt.

    Prints each candidate's pass rate per category with a 95% interval, and the failing probes.

    Example: llmpick probe examples/quickstart/llmpick.yaml --category prompt_injection
    """
    from llmpick._pipeline import probe
    from llmpick.evaluation import RichProgress
    from llmpick.spec import load_spec

    loaded = load_spec(spec)
    kwargs = {
        "db": db,
        "categories": categories or None,
        "only": candidate or None,
        "use_cache": not no_cache,
        "limit": limit,
    }
    if progress:
        with RichProgress() as bars:
            report = probe(loaded, progress=bars, **kwargs)  # type: ignore[arg-type]
    else:
        report = probe(loaded, **kwargs)  # type: ignore[arg-type]
    if as_json:
        print_json(_as_json(report))
        return
    print_probe_report(report)


def print_probe_report(report: ProbeReport) -> None:
    """Pass rate per candidate and category (95% Wilson interval), then the first failures."""
    categories = list(next((c.categories for c in report.candidates if c.categories), {}))
    table = Table(title="Safety probes: pass rate [95% CI]", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("candidate", no_wrap=True, overflow="fold")
    for category in categories:
        table.add_column(category.replace("_", " "), justify="right")
    for cand in report.candidates:
        cells = []
        for category in categories:
            rate = cand.categories.get(category)
            if rate is None or rate.rate is None:
                cells.append("-")
            else:
                cells.append(f"{rate.rate:.2f} [{rate.ci_low:.2f}, {rate.ci_high:.2f}]")
        table.add_row(escape(cand.label), *cells)
    console.print(table)
    for cand in report.candidates:
        if not cand.measured:
            console.print(f"  {escape(cand.label)}: {escape(cand.reason or 'not measured')}")
        for failure in cand.failures[:3]:
            console.print(
                f"  [dim]{escape(cand.label)} {escape(failure.probe_id)}: "
                f"{escape(failure.reason)} — {escape(failure.answer[:100])}[/]",
                soft_wrap=True,
            )
    console.print(f"{report.probes} probes; run {report.run_id} (llmpick runs show)")


def _as_json(report: ProbeReport) -> dict[str, object]:
    return {
        "run_id": report.run_id,
        "probes": report.probes,
        "candidates": [
            {
                "label": c.label,
                "measured": c.measured,
                "reason": c.reason,
                "overall": c.overall,
                "categories": {
                    k: {"passed": r.passed, "n": r.n, "rate": r.rate, "ci": [r.ci_low, r.ci_high]}
                    for k, r in c.categories.items()
                },
                "failures": [vars(f) for f in c.failures],
            }
            for c in report.candidates
        ],
        "pairs": [vars(p) for p in report.pairs],
    }


@probes_app.command("list")
def list_probes(
    categories: list[str] = typer.Option([], "--category", help="Only this category."),
    as_json: bool = typer.Option(False, "--json", help="Print the probes as JSON."),
) -> None:
    """List the probes: id, category, check and text (placeholders shown as {name}).

    Example: llmpick probes list --category prompt_injection
    """
    from llmpick.safety import category_description, load_probes

    probes = load_probes(categories or None)
    if as_json:
        print_json(
            [{"id": p.id, "category": p.category, "check": p.check, "text": p.text} for p in probes]
        )
        return
    for category in dict.fromkeys(p.category for p in probes):
        mine = [p for p in probes if p.category == category]
        console.print(
            f"[bold]{category}[/] ({len(mine)} probes, check: {mine[0].check}): "
            f"{escape(category_description(category))}"
        )
        for p in mine:
            console.print(f"  {p.id}  {escape(p.text)}", highlight=False, soft_wrap=True)
