"""`llmpick fit MODEL --hardware 2xL4`: does an open-weight model fit, and in which format?"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from llmpick.cli._output import console, fail, print_json

if TYPE_CHECKING:
    from llmpick.hardware import FitReport

# Written out rather than imported from llmpick.hardware, which loads pydantic and the device
# table: `llmpick --help` builds every command's help. A bad string gets the full list of forms.
_HARDWARE_HELP = "Hardware: [COUNT x]GPU (2xL4, 1xH100-80GB), cpu:32GB or apple:M3-Max-128GB."


def register(app: typer.Typer) -> None:
    """Add the `fit` command to the root app."""
    app.command("fit")(fit)


def fit(
    model: str | None = typer.Argument(
        None, help="Catalog id or alias of an open-weight model (see `llmpick catalog list`)."
    ),
    hardware: str = typer.Option("1xH100-80GB", "--hardware", "-H", help=_HARDWARE_HELP),
    context: int = typer.Option(4096, "--context", min=1, help="Tokens per sequence to cache."),
    concurrency: int = typer.Option(
        1,
        "--concurrency",
        min=1,
        max=100_000,
        help="Sequences served at once (each with its own KV cache).",
    ),
    quant: str | None = typer.Option(
        None, "--quant", help="Check one quantization (bf16, fp8, q8_0, q4_k_m, awq, mxfp4, ...)."
    ),
    kv_dtype: str = typer.Option(
        "fp16", "--kv-dtype", help="KV-cache element type: fp16, bf16, fp8, q8_0, q4_0."
    ),
    gpu_memory_utilization: float = typer.Option(
        0.9,
        "--gpu-memory-utilization",
        min=0.05,
        max=1.0,
        help="Share of each card's memory the server may use (as vLLM's flag).",
    ),
    usd_per_hour: float | None = typer.Option(
        None, "--usd-per-hour", min=0, help="Override the hourly price of one device."
    ),
    list_devices: bool = typer.Option(
        False, "--list-devices", help="List the known devices with memory, bandwidth and price."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Estimate whether an open-weight model fits on some hardware, per quantization.

    Memory per card = weights/N + KV cache/N + runtime overhead under tensor parallelism over
    N cards, compared with one card's memory. Decode speed is a bandwidth-bound estimate.

    Example: llmpick fit meta/llama-3.1-70b-instruct --hardware 2xH100-80GB --context 8192
    """
    from llmpick.catalog import load_catalog
    from llmpick.hardware import (
        HardwareParseError,
        UnknownQuantizationError,
        fit_model,
        parse_hardware,
    )

    if list_devices:
        _print_devices(as_json)
        return
    if not model:
        fail("give a MODEL id (see `llmpick catalog list --open`), or use --list-devices")
    entry = load_catalog().get(model)  # catalog errors are reported by the CLI's wrapper
    if not entry.open_weights or entry.architecture is None:
        fail(f"{entry.id} is an API model, nothing to host; `llmpick fit` needs open weights")
    window = entry.limits.context_window_tokens if entry.limits else None
    if context > (window or MAX_CONTEXT_TOKENS):
        known = (
            f"{entry.id} reads at most {window:,} tokens (catalog)"
            if window
            else f"no model reads more than {MAX_CONTEXT_TOKENS:,} tokens"
        )
        fail(f"--context {context:,} is beyond the model: {known}; give at most that")
    for name, value in (
        ("--gpu-memory-utilization", gpu_memory_utilization),
        ("--usd-per-hour", usd_per_hour),
    ):
        if value is not None and not math.isfinite(value):
            fail(f"{name} must be a finite number, got {value}")
    try:
        spec = parse_hardware(hardware, usd_per_hour=usd_per_hour)
        report = fit_model(
            entry.architecture,
            spec,
            context_tokens=context,
            concurrency=concurrency,
            # A bundled GGUF is judged in the format it ships in, unless --quant says otherwise.
            quantization=quant or (entry.local.quantization if entry.local else None),
            kv_cache_dtype=kv_dtype,
            gpu_memory_utilization=gpu_memory_utilization,
            model_name=entry.name,
        )
    except (HardwareParseError, UnknownQuantizationError, ValueError) as exc:
        fail(str(exc))
    if as_json:
        print_json({"model_id": entry.id, **report.to_dict()})
        return
    _print_report(report, show_all=quant is None)


MAX_CONTEXT_TOKENS = 10_000_000
"""The longest context window in the catalog; a model without that fact is bounded by it."""


def _gb(n_bytes: int) -> str:
    return f"{n_bytes / 1e9:.2f}" if n_bytes < 10e9 else f"{n_bytes / 1e9:.1f}"


def _print_report(report: FitReport, *, show_all: bool) -> None:
    per = "per card" if report.device_count > 1 else "GB"
    table = Table(
        title=f"{report.model} on {report.hardware}, {report.context_tokens} tokens x "
        f"{report.concurrency} sequence(s), KV {report.kv_cache_dtype}",
        title_justify="left",
    )
    table.add_column("quant")
    table.add_column("fits")
    for column in ("weights", "KV cache", "overhead", "total", "available"):
        table.add_column(f"{column} GB" if per == "GB" else f"{column} GB/card", justify="right")
    table.add_column("decode tok/s (est.)", justify="right")
    options = (
        report.options
        if show_all
        else tuple(
            option for option in report.options if option.quantization == report.quantization
        )
    )
    for option in options:
        card = option.per_card
        marker = " *" if option.quantization == report.best_quantization else ""
        speed = option.decode_tokens_per_s_estimate
        table.add_row(
            option.quantization + marker,
            "[green]yes[/]" if option.fits else "[red]no[/]",
            _gb(card.weights_bytes),
            _gb(card.kv_cache_bytes),
            _gb(card.overhead_bytes),
            _gb(card.total_bytes),
            _gb(card.available_bytes),
            f"~{speed:.0f}" if speed is not None and option.fits else "-",
        )
    console.print(table)
    if show_all:
        best = report.best_quantization or "none"
        console.print(f"* best quantization that fits: {best}", highlight=False)
    console.print(report.reason, highlight=False)
    console.print(f"[dim]decode speed: {report.decode_estimate_label}[/]", highlight=False)
    if report.prefill_tokens_per_s_estimate is not None:
        from llmpick.hardware import PREFILL_ESTIMATE_LABEL

        console.print(
            f"prompt processing: ~{report.prefill_tokens_per_s_estimate:,.0f} tok/s "
            f"[dim]({PREFILL_ESTIMATE_LABEL})[/]",
            highlight=False,
        )
    if report.usd_per_hour is not None:
        console.print(f"price: ${report.usd_per_hour:.2f}/hour on demand", highlight=False)
    for note in report.notes:
        console.print(f"[yellow]note:[/] {note}", highlight=False)


def _print_devices(as_json: bool) -> None:
    from llmpick.hardware import known_devices

    devices = known_devices()
    if as_json:
        print_json([device.model_dump(mode="json") for device in devices])
        return
    table = Table(title="Known devices (cpu: and apple: sizes are yours to give)")
    for column in ("id", "kind", "memory GB", "bandwidth GB/s", "$/hour", "aliases"):
        table.add_column(column)
    for device in devices:
        price = "-" if device.usd_per_hour is None else f"{device.usd_per_hour:.2f}"
        table.add_row(
            device.id,
            device.kind,
            f"{device.memory_gb:g}",
            f"{device.bandwidth_gbps:g}",
            price,
            ", ".join(device.aliases),
        )
    console.print(table)
