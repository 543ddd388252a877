"""`llmpick scorers list`: every scorer kind with its options and a spec entry using it."""

from __future__ import annotations

from typing import Any

import typer
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from llmpick.cli._output import console, print_json

scorers_app = typer.Typer(
    help="The scorers a spec's `scoring.scorers` can use, with their options.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    """Add the `scorers` group to the root app."""
    app.add_typer(scorers_app, name="scorers")


@scorers_app.command("list")
def list_scorers(
    kind: str | None = typer.Argument(None, help="Only this kind, e.g. choice."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of tables."),
) -> None:
    """List every scorer kind (your own registered ones too): what it checks, its options and
    an example spec entry.

    Example: llmpick scorers list choice
    """
    from llmpick.evaluation import describe_scorers, scorer_class

    described = describe_scorers()
    if kind is not None:
        scorer_class(kind)  # an unknown kind fails here, listing the known ones
        described = [d for d in described if d.kind == kind]
    if as_json:
        print_json([d.to_dict() for d in described])
        return
    for index, description in enumerate(described):
        if index:
            console.print()
        heading = Text.assemble((description.kind, "bold"), ": ", description.summary)
        console.print(heading)
        if description.details:
            console.print(Padding(Text(description.details, style="dim"), (0, 0, 0, 2)))
        if description.options:
            table = Table(box=None, padding=(0, 1), pad_edge=False)
            table.add_column("option", no_wrap=True, style="cyan")
            table.add_column("type", overflow="fold")
            table.add_column("default", overflow="fold")
            table.add_column("meaning", overflow="fold", ratio=1)
            for option in description.options:
                table.add_row(
                    Text(option.name),
                    Text(option.type),
                    Text("(required)" if option.required else _value(option.default)),
                    Text(option.description),
                )
            console.print(Padding(table, (0, 0, 0, 2)))
        console.print("  example:", highlight=False)
        console.print(Text(_example_yaml(description.example)))


def _value(value: Any) -> str:
    """A default as the user would write it in YAML."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "true" if value else "false"
    if value == {} or value == []:
        return "{}" if isinstance(value, dict) else "[]"
    return str(value)


def _example_yaml(entry: Any) -> str:
    """The example as it sits in a spec, under `scoring: scorers:`."""
    import yaml

    body = yaml.safe_dump([dict(entry)], sort_keys=False, default_flow_style=None, width=88)
    return "\n".join("    " + line for line in body.rstrip().splitlines())
