"""`llmpick decide`: the main job, from a spec to a recommendation and its report."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich import box
from rich.table import Table

from llmpick.cli._output import console, err_console
from llmpick.cli.runs_commands import DB_HELP

if TYPE_CHECKING:
    from llmpick.decision import DatasetItem, Evidence
    from llmpick.spec import Spec
    from llmpick.store import LoadTestRecord


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
) -> None:
    """Check, evaluate, cost and decide; write report.html, decision.md and decision.json.

    Example: llmpick decide examples/quickstart/llmpick.yaml -o llmpick-report
    """
    from llmpick.cli.eval_commands import load_tested_concurrency
    from llmpick.constraints import check_spec
    from llmpick.decision import decide
    from llmpick.decision._from_run import evidence_from_run
    from llmpick.evaluation import RichProgress, RunOptions, run_async
    from llmpick.loadtest import latest_load_tests
    from llmpick.report import write_report
    from llmpick.spec import load_spec
    from llmpick.store import open_store

    loaded = load_spec(spec_file)
    spec = loaded.spec
    check = check_spec(spec)
    for verdict in check.excluded:
        reasons = "; ".join(r.message for r in verdict.exclusions)
        err_console.print(f"[dim]excluded[/] {verdict.candidate.id}: {reasons}", highlight=False)
    eligible = [v.candidate.label for v in check.eligible]
    ids_by_label = {v.candidate.label: v.candidate.id for v in check.verdicts}
    evidence: dict[str, Evidence] = {}
    items: list[DatasetItem] = []
    run_id: str | None = None
    with open_store(db) as store:
        tests = {k: v for k, v in latest_load_tests(store, spec).items() if k in eligible}
        capacity = _load_tested_capacity(tests, ids_by_label, spec)
        if spec.dataset is not None and eligible:
            options = RunOptions(
                use_cache=not no_cache,
                limit=limit,
                only=eligible,
                concurrency_for=load_tested_concurrency(tests),
            )
            if progress:
                with RichProgress() as bars:
                    outcome = asyncio.run(run_async(loaded, store, options, progress=bars))
            else:
                outcome = asyncio.run(run_async(loaded, store, options))
            run_id = outcome.run_id
            evidence, items, _ = evidence_from_run(store, run_id, ids_by_label)
    decision = decide(
        spec,
        check,
        evidence,
        items,
        capacity=capacity,
        spec_text=loaded.path.read_text(encoding="utf-8"),
        spec_path=str(spec_file),
        run_id=run_id,
        seed=seed,
    )
    out_dir = output or (loaded.base_dir / spec.report.output_dir)
    files = write_report(decision, out_dir)
    _print_summary(decision)
    console.print(f"Report: [bold]{files.html}[/] (also {files.markdown.name}, {files.json.name})")


def _load_tested_capacity(
    tests: Mapping[str, LoadTestRecord], ids_by_label: Mapping[str, str], spec: Spec
) -> dict[str, Any]:
    """Each candidate's newest load test as capacity evidence, by candidate id, when it was
    run against the spec's current SLO and names its hardware; what cannot be used is said,
    not silently dropped."""
    from llmpick.decision import CapacityEvidence
    from llmpick.loadtest import slo_of

    wanted = slo_of(spec)
    found: dict[str, Any] = {}
    for label, test in tests.items():
        slo = test.result.get("slo", {})
        same_slo = (slo.get("ttft_p95_ms"), slo.get("e2e_p95_ms")) == (
            wanted.ttft_p95_ms,
            wanted.e2e_p95_ms,
        )
        problem = (
            "it met no level of the SLO"
            if test.requests_per_s is None
            else "it names no hardware (run it with --hardware)"
            if test.hardware is None
            else "the spec's latency SLO changed since"
            if not same_slo
            else None
        )
        if problem is not None:
            err_console.print(
                f"[yellow]note:[/] load test {test.id} of {label} not used: {problem}",
                highlight=False,
            )
            continue
        assert test.requests_per_s is not None and test.hardware is not None
        found[ids_by_label[label]] = CapacityEvidence(
            requests_per_s=test.requests_per_s,
            hardware=test.hardware,
            concurrency=test.concurrency,
            source=f"load test {test.id} of {test.endpoint} on {test.hardware} "
            f"({test.created_at[:10]}: {test.requests_per_s:,.2f} requests/s at concurrency "
            f"{test.concurrency} within the SLO)",
            levels=tuple(
                {
                    "concurrency": level["concurrency"],
                    "target_rate": level.get("target_rate"),
                    "requests_per_s": level["requests_per_s"],
                    "ttft_p95_ms": level["ttft_ms"]["p95"],
                    "e2e_p95_ms": level["e2e_ms"]["p95"],
                    "meets_slo": level["meets_slo"],
                    "verdict": level["verdict"],
                }
                for level in test.result.get("levels", [])
            ),
            slo=slo,
            load_test_id=test.id,
        )
        err_console.print(
            f"[dim]capacity of {label}: {test.requests_per_s:,.2f} requests/s on "
            f"{test.hardware}, measured by load test {test.id}[/]",
            highlight=False,
            soft_wrap=True,
        )
    return found


def _print_summary(decision: dict[str, Any]) -> None:
    table = Table(
        title="Decision",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        caption="$/month: catalog list prices or load-tested capacity; ~ marks an estimate "
        "from hardware facts",
    )
    table.add_column("candidate", no_wrap=True)
    table.add_column("quality [95% CI]", no_wrap=True)
    table.add_column("p95 e2e", justify="right", no_wrap=True)
    table.add_column("$/month", justify="right", no_wrap=True)
    table.add_column("score", justify="right", no_wrap=True)
    table.add_column("note", overflow="ellipsis", no_wrap=True, max_width=36)
    for row in sorted(decision["candidates"], key=lambda r: (r["rank"] is None, r["rank"] or 0)):
        q = row["quality"]
        quality = (
            f"{q['mean']:.2f} [{q['ci_low']:.2f}, {q['ci_high']:.2f}]"
            if q["mean"] is not None and q["ci_low"] is not None
            else "-"
        )
        e2e = row["latency"].get("e2e_p95_ms")
        usd = row["cost"]["usd_per_month"]
        marker = "~" if row["cost"]["provenance"] == "estimate" else ""
        cost = f"{marker}{usd:,.0f}" if usd is not None else "-"
        if not row["eligible"]:
            note = "excluded: " + row["exclusions"][0]["message"]
        elif not row["measured"]:
            note = row["not_measured_reason"] or "not measured"
        else:
            note = "measured"
        table.add_row(
            row["id"],
            quality,
            f"{e2e:,.0f} ms" if e2e is not None else "-",
            cost,
            f"{row['score']:.2f}" if row["score"] is not None else "-",
            note,
        )
    console.print(table)
    rec = decision["recommendation"]
    if rec["id"]:
        confidence = f" (best in {rec['confidence']:.0%} of draws)" if rec["confidence"] else ""
        console.print(f"Recommendation: [bold green]{rec['id']}[/]{confidence}")
        for reason in rec["reasons"]:
            console.print(f"  - {reason}", highlight=False)
    else:
        console.print("[yellow]No recommendation:[/] " + "; ".join(rec["reasons"]))
