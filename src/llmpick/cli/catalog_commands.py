"""`llmpick catalog list|show|search|update`: browse the model catalog and refresh its prices."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer
from rich import box
from rich.table import Table
from rich.text import Text

from llmpick.cli._output import add_id_column, console, fail, print_json, print_table

if TYPE_CHECKING:
    from llmpick.catalog import Catalog, CatalogEntry, Sourced

catalog_app = typer.Typer(
    name="catalog",
    help="Browse the model catalog: facts with their sources, and live price updates.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    """Add the `catalog` command group to the root app."""
    app.add_typer(catalog_app, name="catalog")


def _entries_json(entries: list[CatalogEntry]) -> list[dict[str, Any]]:
    return [entry.model_dump(mode="json") for entry in entries]


def _tokens(count: int | None) -> str:
    """128000 -> 128K, 131072 -> 128K, 1000000 -> 1M, 1047576 -> 1,048K; unknown -> '?'."""
    if count is None:
        return "?"
    for unit, size in (("M", 1_000_000), ("M", 1_048_576), ("K", 1000), ("K", 1024)):
        if count >= size and count % size == 0:
            return f"{count // size}{unit}"
    return f"{count / 1000:,.0f}K" if count >= 10_000 else f"{count:,}"


def _price(value: float | None) -> str:
    if value is None:
        return "?"
    return f"{value:.2f}" if value >= 0.1 or value == 0 else f"{value:.3g}"


def _load() -> Catalog:
    # The catalog is imported here, not at the top: `llmpick --help` should not pay for it.
    from llmpick.catalog import load_catalog

    return load_catalog()  # a CatalogError becomes a one-line message in the CLI's wrapper


@catalog_app.command("list")
def list_models(
    open_only: bool = typer.Option(False, "--open", help="Only open-weight models."),
    closed_only: bool = typer.Option(False, "--closed", help="Only closed API models."),
    vendor: str | None = typer.Option(None, "--vendor", help="Only this vendor (any case)."),
    commercial: bool = typer.Option(
        False, "--commercial", help="Only models whose licence allows commercial use."
    ),
    min_context: int | None = typer.Option(
        None, "--min-context", min=1, help="Only models with at least this many context tokens."
    ),
    modality: str | None = typer.Option(
        None, "--modality", help="Only models that accept this input: text, image, audio, video."
    ),
    fits: str | None = typer.Option(
        None,
        "--fits",
        help="Only open-weight models that fit this hardware in some quantization (4K context).",
    ),
    wide: bool = typer.Option(False, "--wide", help="Add the vendor and open-weight columns."),
    as_json: bool = typer.Option(False, "--json", help="Print the full entries as JSON."),
) -> None:
    """List catalog models, with licence, context window, price and status.

    Ids always show whole: where the table is too wide for the terminal, each model is
    printed as its id with its facts on the line below.

    Example: llmpick catalog list --open --commercial --min-context 32000 --fits 1xL4
    """
    if open_only and closed_only:
        fail("--open and --closed exclude each other; pass one of them")
    from llmpick.catalog import MODALITIES

    modalities: tuple[str, ...] = MODALITIES
    if modality is not None and modality.lower() not in modalities:
        fail(f"unknown modality {modality!r}; choose one of: {', '.join(modalities)}")
    catalog = _load()
    entries = catalog.filter(
        open_weights=True if open_only else False if closed_only else None,
        vendor=vendor,
        commercial=commercial,
        min_context=min_context,
        modality=modality.lower() if modality else None,
    )
    best_fit: dict[str, str] = {}
    if fits is not None:
        best_fit = _best_fits(entries, fits)
        entries = [entry for entry in entries if entry.id in best_fit]
    if as_json:
        print_json(_entries_json(entries))
        return
    if not entries:
        console.print("No catalog model meets these conditions.")
        return
    table = Table(
        title=f"{len(entries)} of {len(catalog)} catalog models",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    add_id_column(table, "id")
    columns: list[tuple[str, str]] = [
        *([("vendor", "left"), ("open", "center")] if wide else []),
        ("licence", "left"),
        ("commercial", "left"),
        ("context", "right"),
        ("$/Mtok in/out", "right"),
        ("status", "left"),
    ]
    for column, justify in columns:
        table.add_column(column, justify=justify, overflow="fold")  # type: ignore[arg-type]
    if fits is not None:
        table.add_column(f"fits {fits} as", overflow="fold")
    for entry in entries:
        prices = (
            f"{_price(entry.pricing.input_usd_per_mtok)}/"
            f"{_price(entry.pricing.output_usd_per_mtok)}"
            if entry.pricing
            else "-"
        )
        status = entry.about.status.value
        cells: list[str | Text] = [
            Text(entry.id),
            *([Text(entry.vendor), "yes" if entry.open_weights else "no"] if wide else []),
            Text(entry.licence.id),
            entry.licence.commercial_use.value,
            _tokens(entry.limits.context_window_tokens),
            prices,
            Text(status, style="yellow" if status != "active" else ""),
        ]
        if fits is not None:
            cells.append(best_fit[entry.id])
        table.add_row(*cells)
    print_table(table, [entry.id for entry in entries])


def _best_fits(entries: list[CatalogEntry], hardware: str) -> dict[str, str]:
    """Model id -> the highest-precision quantization that fits `hardware` at a 4K context.

    Closed models never fit (their weights are not available); an open-weight model fits when
    some quantization does.
    """
    from llmpick.hardware import HardwareParseError, fit_model, parse_hardware

    try:
        spec = parse_hardware(hardware)
    except HardwareParseError as exc:
        fail(f"--fits: {exc}")
    fitting = {}
    for entry in entries:
        if not entry.open_weights or entry.architecture is None:
            continue
        try:
            report = fit_model(entry.architecture, spec, model_name=entry.id)
        except ValueError:  # facts the estimator cannot use: no verdict, so not listed
            continue
        if report.best_quantization is not None:
            fitting[entry.id] = report.best_quantization
    return fitting


def _print_section(title: str, section: Sourced) -> None:
    console.print(f"[bold]{title}[/]")
    console.print(
        f"  [dim]source: {section.source} (as of {section.as_of})[/]",
        highlight=False,
        soft_wrap=True,
    )
    table = Table(show_header=False, box=None, padding=(0, 2))
    table.add_column("field", style="cyan", no_wrap=True)
    table.add_column("value", overflow="fold")
    for name, value in section.model_dump(mode="json").items():
        if name in ("source", "as_of", "fact_sources"):
            continue
        shown = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
        if isinstance(value, bool):
            shown = "yes" if value else "no"
        if value is None or value == []:
            shown = "[dim]unknown[/]" if value is None else "[dim]none[/]"
        if name in section.fact_sources:
            fact = section.fact_sources[name]
            shown += f"  [dim](source: {fact.source}, as of {fact.as_of})[/]"
        table.add_row(name, shown)
    console.print(table)


def _benchmark_score(score: float, unit: str) -> str:
    if unit == "%":
        return f"{score:g}%"
    if unit == "fraction":
        return f"{score:g} (of 1)"
    return f"{score:g} {unit}"


@catalog_app.command("show")
def show(
    model_id: str = typer.Argument(..., help="A model id or alias, e.g. openai/gpt-4o or gpt-4o."),
    as_json: bool = typer.Option(False, "--json", help="Print the full entry as JSON."),
) -> None:
    """Show every fact about one model, each section with its source and date.

    Example: llmpick catalog show meta/llama-3.1-8b-instruct
    """
    entry = _load().get(model_id)  # an unknown id is reported by the CLI's error wrapper
    if as_json:
        print_json(entry.model_dump(mode="json"))
        return
    kind = "open-weight" if entry.open_weights else "closed API"
    console.print(f"[bold]{entry.name}[/]  ({entry.id}, {entry.vendor}, {kind} model)")
    if entry.aliases:
        console.print(f"aliases: {', '.join(entry.aliases)}", highlight=False)
    if entry.api_model:
        console.print(f"API model: {entry.api_model} ({entry.api_protocol or 'protocol unknown'})")
    for title in ("about", "licence", "architecture", "limits", "pricing", "hosting", "openness"):
        section = getattr(entry, title)
        console.print()
        if section is None:
            console.print(f"[bold]{title}[/]  [dim]not in the catalog[/]")
        else:
            _print_section(title, section)
    console.print()
    if entry.benchmarks:
        table = Table(
            title=f"[bold]benchmarks[/]  [yellow]{entry.benchmarks[0].LABEL}[/]",
            title_justify="left",
        )
        for column in ("benchmark", "score", "setting", "note", "source (as of)"):
            table.add_column(column, overflow="fold")
        for bench in entry.benchmarks:
            table.add_row(
                bench.name,
                _benchmark_score(bench.score, bench.unit),
                bench.setting or "",
                bench.note or "",
                f"{bench.source} ({bench.as_of})",
            )
        console.print(table)
    else:
        console.print("[bold]benchmarks[/]  [dim]none sourced[/]")
    if entry.local:
        console.print(
            f"\n[bold]local[/]  runs in-process: pip package {entry.local.package}, "
            f"{entry.local.filename} ({entry.local.quantization})"
        )


@catalog_app.command("search")
def search(
    text: str = typer.Argument(..., help="Words to look for in ids, names, vendors and aliases."),
    as_json: bool = typer.Option(False, "--json", help="Print the matching entries as JSON."),
) -> None:
    """Find models by id, name, vendor or alias, best matches first.

    Example: llmpick catalog search "llama 8b"
    """
    catalog = _load()
    found = catalog.search(text)
    if as_json:
        print_json(_entries_json(found))
        return
    if not found:
        suggestions = catalog.suggest(text)
        hint = f"; did you mean {', '.join(suggestions)}?" if suggestions else ""
        console.print(f"No catalog model matches {text!r}{hint}", highlight=False)
        return
    table = Table(
        title=Text(f"{len(found)} match(es) for {text!r}"),
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    add_id_column(table, "id")
    for column in ("name", "vendor", "open", "aliases"):
        table.add_column(column, overflow="fold")
    for entry in found:
        table.add_row(
            Text(entry.id),
            Text(entry.name),
            Text(entry.vendor),
            "yes" if entry.open_weights else "no",
            Text(", ".join(entry.aliases)),
        )
    print_table(table, [entry.id for entry in found])


def _fact(value: float | int | None, field: str) -> str:
    if value is None:
        return "unknown"
    if field.endswith("_usd_per_mtok"):
        return f"${value:g}"
    return f"{int(value):,}"


@catalog_app.command("update")
def update(
    source: str = typer.Option(
        ...,
        "--from",
        help="A models.dev api.json or OpenRouter /api/v1/models document: URL or file.",
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show the changes; write nothing."),
    timeout: float = typer.Option(30.0, "--timeout", min=1, help="Seconds to wait for a URL."),
    as_json: bool = typer.Option(False, "--json", help="Print the changes as JSON."),
) -> None:
    """Refresh prices and limits from a live price list into your catalog overrides.

    Example: llmpick catalog update --from https://models.dev/api.json --dry-run
    """
    from llmpick.catalog import update_catalog

    result = update_catalog(source, dry_run=dry_run, timeout=timeout)
    if as_json:
        print_json(
            {
                "source": result.source,
                "format": result.document_format,
                "models_in_document": result.models_in_document,
                "matched": result.matched,
                "changes": [
                    {"model": c.model_id, "fact": c.fact, "old": c.old, "new": c.new}
                    for c in result.changes
                ],
                "overrides_file": str(result.overrides_file),
                "written": result.written,
            }
        )
        return
    console.print(
        f"{result.source}: {result.document_format} document, {result.models_in_document} "
        f"models, {len(result.matched)} matched the catalog.",
        highlight=False,
    )
    if not result.changes:
        console.print("No changes: the catalog already has these prices and limits.")
        return
    table = Table(title=f"{len(result.changes)} change(s)", title_justify="left")
    table.add_column("model", no_wrap=True)
    table.add_column("fact", overflow="fold")
    for column in ("old", "", "new"):
        table.add_column(column, no_wrap=True)
    for change in result.changes:
        table.add_row(
            change.model_id,
            change.fact,
            _fact(change.old, change.field),
            "->",
            _fact(change.new, change.field),
        )
    console.print(table)
    if result.written:
        console.print(f"Wrote {result.overrides_file}", highlight=False)
    else:
        console.print("Dry run: nothing written.")


@catalog_app.command("verify")
def verify(
    sources: list[str] = typer.Option(
        ...,
        "--against",
        help="A local copy (or URL) of a models.dev api.json or OpenRouter model list; "
        "repeat to check against several.",
    ),
    timeout: float = typer.Option(30.0, "--timeout", min=1, help="Seconds to wait for a URL."),
    as_json: bool = typer.Option(False, "--json", help="Print the disagreements as JSON."),
) -> None:
    """Re-check every price, context window and output limit against a public source; exit 1
    when any disagrees (nothing is written: `catalog update` takes the source's values).

    Example: llmpick catalog verify --against models-dev-api.json --against openrouter.json
    """
    from llmpick.catalog import verify_catalog

    results = [verify_catalog(source, timeout=timeout) for source in sources]
    disagreeing = sum(len(r.disagreements) for r in results)
    if as_json:
        print_json(
            [
                {
                    "source": r.source,
                    "format": r.document_format,
                    "models_in_document": r.models_in_document,
                    "matched": r.matched,
                    "facts_compared": r.compared,
                    "agreement": r.agreement,
                    "disagreements": [
                        {"model": d.model_id, "fact": d.fact, "catalog": d.old, "source": d.new}
                        for d in r.disagreements
                    ],
                }
                for r in results
            ]
        )
    else:
        for result in results:
            share = "n/a" if result.agreement is None else f"{result.agreement:.1%}"
            console.print(
                f"{result.source}: {result.document_format} document, {len(result.matched)} "
                f"catalog models matched, {result.compared} facts on both sides, {share} agree.",
                highlight=False,
            )
            if not result.disagreements:
                continue
            table = Table(
                title=f"{len(result.disagreements)} disagreement(s)", title_justify="left"
            )
            for column in ("model", "fact", "catalog", "source"):
                table.add_column(column, overflow="fold")
            for d in result.disagreements:
                table.add_row(d.model_id, d.fact, _fact(d.old, d.field), _fact(d.new, d.field))
            console.print(table)
    if disagreeing:
        raise typer.Exit(1)
