"""`llmpick loadtest SPEC -c NAME`: a serving endpoint's capacity within the latency SLO."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from llmpick.cli._output import DB_HELP, console, err_console, fail, print_json
from llmpick.cli._views import level_name, print_load_test

if TYPE_CHECKING:
    from llmpick.loadtest import LevelResult
    from llmpick.spec import Spec


def register(app: typer.Typer) -> None:
    """Add `loadtest` to the root app."""
    app.command("loadtest")(loadtest)


def loadtest(
    spec_file: Path = typer.Argument(Path("llmpick.yaml"), help="The decision spec."),
    candidate: str = typer.Option(
        ..., "--candidate", "-c", help="The candidate to load (it needs an `endpoint`)."
    ),
    hardware: str | None = typer.Option(
        None,
        "--hardware",
        "-H",
        help="What the endpoint runs on, e.g. 1xL4 (default: the hardware the spec sizes it on).",
    ),
    levels: str = typer.Option(
        "1,2,4,8,16,32,64", "--levels", help="Concurrency levels to try (closed loop)."
    ),
    rates: str | None = typer.Option(
        None,
        "--rates",
        help="Request rates to try instead, per second, e.g. 0.5,1,2,4 (open loop, Poisson).",
    ),
    requests: int | None = typer.Option(
        None, "--requests", min=1, help="Requests per level (default: 8 x concurrency, >= 16)."
    ),
    max_seconds: float = typer.Option(
        120.0, "--max-seconds", min=1, help="Longest time spent on one level."
    ),
    output_tokens: int | None = typer.Option(
        None, "--output-tokens", min=1, help="max_tokens per request (default: the volume's)."
    ),
    db: Path | None = typer.Option(None, "--db", help=DB_HELP),
    save: bool = typer.Option(True, "--save/--no-save", help="Store the result for `decide`."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Find the requests/s a self-hosted endpoint sustains within the spec's latency SLO.

    Sweeps concurrency (closed loop), or with --rates the arrival rate (open loop, Poisson, like
    production traffic), with the spec's own prompts at the volume's answer length; stops at the
    first level that misses the p95 TTFT/E2E targets and bisects below it.
    `decide` then costs the candidate with this measured capacity instead of an estimate.

    Example: llmpick loadtest llmpick.yaml -c llama-8b-vllm --hardware 1xL4
    """
    from llmpick.loadtest import SweepOptions, load_test, plan_load_test, slo_of, to_record
    from llmpick.spec import load_spec
    from llmpick.store import open_store

    by_rate = rates is not None
    values = _sweep_values(rates, levels)
    if not math.isfinite(max_seconds) or max_seconds > MAX_SECONDS_PER_LEVEL:
        fail(f"--max-seconds must be a number of seconds up to {MAX_SECONDS_PER_LEVEL:,}")
    if hardware is not None:
        from llmpick.hardware import parse_hardware

        parse_hardware(hardware)  # the parser `fit` and the spec use; its error names the forms
    loaded = load_spec(spec_file)
    spec = loaded.spec
    plan = plan_load_test(
        loaded,
        candidate,
        output_tokens=output_tokens,
        # An open loop may hold many requests at once; the client must never be the limit.
        max_concurrency=512 if by_rate else int(values[-1]),
    )
    hardware = hardware or _sized_on(spec, candidate)
    slo = slo_of(spec)
    if not as_json:
        console.print(
            f"Load-testing [bold]{candidate}[/] at {plan.endpoint} ({plan.model}); "
            f"SLO: {slo.describe()}; {plan.workload['prompt_source']}, "
            f"up to {plan.workload['max_output_tokens']} output tokens",
            highlight=False,
            soft_wrap=True,
        )

    def show(level: LevelResult) -> None:
        if not as_json:
            mark = "[green]ok[/]" if level.meets_slo else f"[red]{level.verdict}[/]"
            console.print(
                f"  {level_name(level):>16}: {level.requests_per_s:8.2f} req/s achieved, "
                f"p95 TTFT {_ms(level.ttft_ms['p95'])}, p95 E2E {_ms(level.e2e_ms['p95'])}  "
                + mark,
                highlight=False,
            )

    options = SweepOptions(
        levels=values,
        profile="rate" if by_rate else "concurrency",
        requests_per_level=requests,
        max_seconds_per_level=max_seconds,
    )
    try:
        result = asyncio.run(
            load_test(plan, slo, options, spec_name=spec.name, hardware=hardware, on_level=show)
        )
    except KeyboardInterrupt:
        # A sweep cut short has not found the SLO's edge: its best level is no capacity.
        err_console.print("[yellow]Interrupted.[/] Nothing was saved.", highlight=False)
        raise typer.Exit(130) from None
    if save:
        with open_store(db) as store:
            store.save_load_test(to_record(result))
    if as_json:
        print_json(result.to_dict())
        return
    print_load_test(result)
    if hardware is None:
        err_console.print(
            "[yellow]note:[/] not tied to any hardware, so `decide` cannot cost with it; "
            "pass --hardware (what the endpoint runs on)",
            highlight=False,
            soft_wrap=True,
        )
    if save:
        console.print(f"Saved as {result.id}; `llmpick decide` uses it for {candidate}.")


MAX_RATE = 10_000.0
"""Highest --rates value: one client process sends a few thousand requests/s at best (see the
client-limited verdict), so a higher offered rate would only measure the client."""

MAX_CONCURRENCY = 4096
"""Highest --levels value: each level holds that many requests in flight from one process."""

MAX_SECONDS_PER_LEVEL = 86_400


def _sweep_values(rates: str | None, levels: str) -> list[float]:
    """The sorted levels (concurrencies) or rates to sweep, refused unless each is a finite
    number the load generator can offer (`nan`, `inf` and `1e9` never reach the sweep)."""
    option, text, example = (
        ("--rates", rates, "0.5,1,2,4") if rates is not None else ("--levels", levels, "1,2,4,8")
    )
    parts = [part.strip() for part in text.split(",") if part.strip()]
    try:
        values = sorted({float(part) if rates is not None else int(part) for part in parts})
    except ValueError:
        fail(f"{option} takes comma-separated numbers, e.g. {example}; got {text!r}")
    if not values:
        fail(f"{option} needs at least one value, e.g. {example}")
    if rates is not None:
        if not all(math.isfinite(v) and 0 < v <= MAX_RATE for v in values):
            fail(
                f"--rates are requests per second above 0 and at most {MAX_RATE:,.0f} (one "
                f"client process cannot offer more); got {text!r}"
            )
    elif not all(1 <= v <= MAX_CONCURRENCY for v in values):
        fail(f"--levels are concurrencies from 1 to {MAX_CONCURRENCY:,}; got {text!r}")
    return values


def _sized_on(spec: Spec, label: str) -> str | None:
    """The hardware the constraint check places the candidate on (what `decide` costs)."""
    from llmpick.constraints import check_spec

    for verdict in check_spec(spec).verdicts:
        if verdict.candidate.label == label and verdict.placement.get("hardware"):
            return str(verdict.placement["hardware"])
    return None


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f} ms"
