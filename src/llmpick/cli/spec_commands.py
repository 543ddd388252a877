"""`llmpick init`, `validate` and `schema`: write, check and describe a decision spec."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.prompt import Confirm, IntPrompt, Prompt
from rich.table import Table

from llmpick._files import write_text_atomic
from llmpick.cli._output import console, fail, print_json

# llmpick.spec (pydantic models, YAML parsers) is imported inside the commands that use it, so
# `llmpick --help` stays quick.
if TYPE_CHECKING:
    from llmpick.spec import Spec


def register(app: typer.Typer) -> None:
    """Add the spec commands to the root app."""
    app.command("init")(init)
    app.command("validate")(validate)
    app.command("schema")(schema)


def init(
    preset: str | None = typer.Option(
        None, "--preset", "-p", help="Start from a preset (see --list-presets)."
    ),
    output: Path = typer.Option(Path("llmpick.yaml"), "--output", "-o", help="File to write."),
    list_presets: bool = typer.Option(False, "--list-presets", help="List presets and exit."),
    force: bool = typer.Option(False, "--force", "-f", help="Overwrite an existing file."),
) -> None:
    """Write a commented decision spec to edit.

    Example: llmpick init --preset on-prem-secure -o llmpick.yaml
    """
    from llmpick.spec import (
        PRESETS,
        SCHEMA_FILENAME,
        json_schema_text,
        parse_spec_text,
        preset_spec,
        render_spec,
    )

    if list_presets:
        _print_presets()
        return
    if preset is not None and preset not in PRESETS:
        fail(f"unknown preset {preset!r}; choose one of: {', '.join(PRESETS)}")
    if output.exists() and not force:
        fail(f"{output} already exists; pass --force to overwrite it")
    if preset is None and sys.stdin.isatty():
        spec, title = _interview()
    else:
        name = preset or "low-cost-experiment"
        spec, title = preset_spec(name), f"llmpick decision spec, preset '{name}'."
        title += f"\n{PRESETS[name].summary}"
    text = render_spec(spec, title=title, schema_ref=SCHEMA_FILENAME)
    parse_spec_text(text, str(output))  # what we write must read back as the same valid spec
    write_text_atomic(output, text)
    write_text_atomic(output.parent / SCHEMA_FILENAME, json_schema_text())
    console.print(f"Wrote [bold]{output}[/] (and {SCHEMA_FILENAME} for editor completion).")
    console.print(f"Next: edit it, then run [bold]llmpick validate {output}[/].")


def validate(
    file: Path = typer.Argument(..., help="The spec file to check."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Check a spec and list every problem as FILE:LINE:COLUMN: field: message.

    Example: llmpick validate examples/quickstart/llmpick.yaml
    """
    from llmpick.spec import SpecError, load_spec

    try:
        loaded = load_spec(file)
    except SpecError as exc:
        if as_json:
            print_json({"valid": False, "problems": [vars(p) for p in exc.problems]})
        else:
            for problem in exc.problems:
                typer.echo(str(problem))
            errors = sum(p.severity == "error" for p in exc.problems)
            typer.echo(f"{file}: {errors} problem(s); nothing was changed", err=True)
        raise typer.Exit(2) from None
    if as_json:
        print_json({"valid": True, "problems": [vars(p) for p in loaded.warnings]})
        return
    for warning in loaded.warnings:
        typer.echo(str(warning))
    spec = loaded.spec
    warnings = sum(p.severity == "warning" for p in loaded.warnings)
    notes = len(loaded.warnings) - warnings  # e.g. a python scorer: the one code a spec runs
    console.print(
        f"[green]{file} is valid[/]: {len(spec.candidates)} candidate(s), "
        f"{len(spec.scoring.scorers)} scorer(s)"
        + (f", {warnings} warning(s)" if warnings else "")
        + (f", {notes} note(s)" if notes else "")
    )


def schema(
    output: Path | None = typer.Option(None, "--output", "-o", help="Write to a file instead."),
    decision: bool = typer.Option(
        False, "--decision", help="The schema of decision.json (what `decide` writes) instead."
    ),
) -> None:
    """Print the JSON Schema of llmpick.yaml (editors use it to complete and check specs).

    Example: llmpick schema -o llmpick.schema.json    (or --decision for decision.json's)
    """
    if decision:
        from llmpick.decision import decision_schema_text

        text = decision_schema_text()
    else:
        from llmpick.spec import json_schema_text

        text = json_schema_text()
    if output is None:
        sys.stdout.write(text)
    else:
        write_text_atomic(output, text)
        console.print(f"Wrote {output}")


def _print_presets() -> None:
    from llmpick.spec import PRESETS

    table = Table(title="Presets", show_lines=False)
    table.add_column("preset", style="bold")
    table.add_column("leans")
    table.add_column("for")
    for preset in PRESETS.values():
        table.add_row(preset.name, preset.leaning, preset.summary)
    console.print(table)


def _interview() -> tuple[Spec, str]:
    """A few questions for someone starting from nothing; the answers tune a preset."""
    from llmpick.spec import PRESETS, Spec, preset_spec

    names = list(PRESETS)
    _print_presets()
    name = Prompt.ask("Which use case is closest?", choices=names, default="low-cost-experiment")
    spec = preset_spec(name)
    data = spec.model_dump()
    data["constraints"]["data"]["may_leave_premises"] = Confirm.ask(
        "May prompts be sent to a vendor API outside your premises?",
        default=spec.constraints.data.may_leave_premises,
    )
    data["needs"]["volume"]["requests_per_day"] = IntPrompt.ask(
        "Requests per day in production?", default=int(spec.needs.volume.requests_per_day)
    )
    budget = Prompt.ask("Monthly budget in USD (empty: no cap)?", default="")
    data["needs"]["budget"]["usd_per_month"] = float(budget) if budget.strip() else None
    return Spec.model_validate(data), f"llmpick decision spec, from preset '{name}'."
