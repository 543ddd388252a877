"""How stored results read in a terminal, shared by the command modules (`eval` prints the
summary `runs show` prints; `runs show lt-...` prints what `loadtest` prints), so no command
module imports another."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

from rich import box
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from llmpick.cli._output import add_id_column, console, err_console, print_table

if TYPE_CHECKING:
    from llmpick.evaluation import CandidateSummary, PairedComparison, RunSummary
    from llmpick.loadtest import LevelResult, LoadTestResult
    from llmpick.store import Store

__all__ = [
    "ambiguous_answers",
    "assertion_failures",
    "interval_and_test_disagree",
    "level_name",
    "print_load_test",
    "render_assertion_failures",
    "render_summary",
]


def assertion_failures(store: Store, run_id: str) -> list[tuple[str, str, int, str]]:
    """(candidate, item, repeat, reasons) of every answer that failed its row's own checks."""
    from llmpick.evaluation import ASSERTIONS_METRIC

    return [
        (s.candidate, s.item_id, s.repeat, s.detail or "failed")
        for s in store.scores(run_id)
        if s.metric == ASSERTIONS_METRIC and s.passed is False
    ]


def ambiguous_answers(store: Store, run_id: str) -> dict[tuple[str, str], int]:
    """How many answers each candidate gave that a scorer found ambiguous (a `choice` answer
    naming several labels, a `regex` capturing different texts), by (candidate, metric)."""
    from llmpick.evaluation import AMBIGUOUS_PREFIX

    counts: dict[tuple[str, str], int] = defaultdict(int)
    for s in store.scores(run_id):
        if s.detail is not None and s.detail.startswith(AMBIGUOUS_PREFIX):
            counts[(s.candidate, s.metric)] += 1
    return dict(counts)


_MOST_FAILURES_SHOWN = 20


def render_assertion_failures(failures: list[tuple[str, str, int, str]]) -> None:
    """Each failed per-case check with its reason, item by item (the first 20)."""
    if not failures:
        return
    console.print(Text(f"Failed per-case checks ({len(failures)} answers):", style="bold"))
    for candidate, item_id, repeat, reasons in failures[:_MOST_FAILURES_SHOWN]:
        again = f" (repeat {repeat})" if repeat else ""
        console.print(Text.assemble("  ", (item_id, "bold"), f" · {candidate}{again}: ", reasons))
    more = len(failures) - _MOST_FAILURES_SHOWN
    if more > 0:
        console.print(f"  ... and {more} more: llmpick runs show RUN --json lists them all")


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:,.0f}"


def _usd(value: float | None) -> str:
    if value is None:
        return "-"
    return f"${value:,.2f}" if value >= 0.01 else f"${value:.2g}"


def _tokens(mean_in: float | None, mean_out: float | None) -> str:
    if mean_in is None or mean_out is None:
        return "-"
    return f"{mean_in:,.0f} / {mean_out:,.1f}"


def _quality_cell(c: CandidateSummary, metric: str) -> str:
    m = c.metrics.get(metric)
    if m is None or m.mean is None:
        return "-"
    ci = "" if m.ci_low is None or m.ci_high is None else f" ({m.ci_low:.2f}–{m.ci_high:.2f})"
    return f"{m.mean:.3f}{ci}"


def render_summary(summary: RunSummary) -> None:
    """Print a run's summary tables to the console: quality, then speed and cost (two tables,
    so each reads at 100 columns; narrower screens get them as stacked rows)."""
    run = summary.run
    primary = summary.primary_metric
    metrics: list[str] = run.config.get("metrics", [primary])
    others = [m for m in metrics if m != primary]
    heading = f": {run.spec_name}, {summary.items} items, {run.status}"
    console.print(Text.assemble((f"Run {run.id}", "bold"), heading))
    measured = [c for c in summary.candidates if c.measured and c.responses]
    with_errors = any(c.errors for c in measured)
    quality = Table(box=box.SIMPLE_HEAD, pad_edge=False, title="Quality", title_justify="left")
    add_id_column(quality, "candidate")
    quality.add_column(f"{escape(primary)} (95% CI)", overflow="fold")
    for metric in others:
        quality.add_column(escape(metric), overflow="fold")
    if with_errors:
        quality.add_column("errors", justify="right")
    speed = Table(box=box.SIMPLE_HEAD, pad_edge=False, title="Speed and cost", title_justify="left")
    add_id_column(speed, "candidate")
    for header in ("TTFT ms p50/p95", "E2E ms p50/p95", "tok/s", "tokens in/out"):
        speed.add_column(header, justify="right", overflow="fold")
    speed.add_column("$/1k items", justify="right", overflow="fold")
    speed.add_column("$/correct", justify="right", overflow="fold")
    unmeasured: list[tuple[str, str]] = []
    for c in summary.candidates:
        if not c.measured or not c.responses:
            reason = c.reason or c.status_text
            if c.errors:
                reason = f"all {c.errors} calls failed: {c.first_error}"
            unmeasured.append((c.label, reason))
    for c in measured:
        latency = c.latency
        cost = c.cost
        quality.add_row(
            Text(c.label),
            _quality_cell(c, primary),
            *[_quality_cell(c, m) for m in others],
            *([Text(str(c.errors), style="red" if c.errors else "")] if with_errors else []),
        )
        speed.add_row(
            Text(c.label),
            f"{_ms(latency['ttft_s'].p50)} / {_ms(latency['ttft_s'].p95)}",
            f"{_ms(latency['e2e_s'].p50)} / {_ms(latency['e2e_s'].p95)}",
            "-" if c.output_tokens_per_s is None else f"{c.output_tokens_per_s:,.1f}",
            _tokens(c.mean_input_tokens, c.mean_output_tokens),
            _usd(cost.per_1k_items_usd) if cost and cost.priced else "self-hosted",
            _usd(cost.per_correct_usd) if cost and cost.priced else "-",
        )
    labels = [c.label for c in measured]
    if measured:
        print_table(quality, labels)
        print_table(speed, labels)
    for label, reason in unmeasured:
        console.print(Text.assemble((label, "yellow"), f": {reason}"))
    cached = sum(c.from_cache for c in summary.candidates)
    if cached:
        console.print(
            f"{cached} responses came from the cache (timings are those of the original calls).",
            highlight=False,
        )
    primary_pairs = [p for p in summary.comparisons if p.metric == primary]
    if primary_pairs:
        pairs = Table(
            box=box.SIMPLE_HEAD,
            pad_edge=False,
            title=f"Paired: {escape(primary)}",
            title_justify="left",
            caption="A − B: mean paired difference, 95% paired-bootstrap interval; p: exact "
            "McNemar test on the items only one of the two got right (pass/fail metrics)",
            caption_justify="left",
        )
        add_id_column(pairs, "A")
        add_id_column(pairs, "B")
        for header in ("n", "A − B (95% CI)", "P(A better)", "test", "p"):
            pairs.add_column(header, overflow="fold")
        disagreements = []
        for p in primary_pairs:
            disagreement = interval_and_test_disagree(p)
            if disagreement:
                disagreements.append(f"{p.a} vs {p.b}: {disagreement}")
            pairs.add_row(
                Text(p.a),
                Text(p.b),
                str(p.n),
                f"{p.diff:+.3f} [{p.ci_low:+.3f}, {p.ci_high:+.3f}]",
                f"{p.prob_a_better:.2f}",
                p.method + (f" ({p.a_only} vs {p.b_only})" if p.a_only is not None else ""),
                ("-" if p.p_value is None else f"{p.p_value:.3g}") + (" †" if disagreement else ""),
            )
        print_table(pairs, [x for p in primary_pairs for x in (p.a, p.b)])
        for note in disagreements:
            console.print(f"† {note}", highlight=False, soft_wrap=False, markup=False)


def interval_and_test_disagree(pair: PairedComparison, alpha: float = 0.05) -> str | None:
    """Why a paired row's interval and McNemar's p point different ways, or None.

    The interval is a percentile bootstrap of the mean of all n items' differences; the exact
    test uses only the items where exactly one candidate passed. With few such items (3 vs 0)
    the bootstrap runs too narrow, since a resample can only repeat the differences seen, so it
    may exclude zero while the exact test is far from significant (p 0.25); the other way round
    happens at the edge, where the two rules round differently.
    """
    if pair.p_value is None:
        return None
    excludes_zero = pair.ci_low > 0 or pair.ci_high < 0
    significant = pair.p_value < alpha
    if excludes_zero == significant:
        return None
    differing = f"{pair.a_only} vs {pair.b_only} items" if pair.a_only is not None else "the items"
    if excludes_zero:
        return (
            f"the interval excludes 0 but p = {pair.p_value:.3g}: only {differing} differ, "
            "too few for the exact test; the bootstrap interval is approximate with so few "
            "differences, so treat the gap as unproven and add test cases"
        )
    return (
        f"p = {pair.p_value:.3g} but the interval includes 0: a borderline difference; the "
        f"exact test on the {differing} that differ is the sharper guide"
    )


def level_name(level: LevelResult) -> str:
    if level.target_rate is not None:
        return f"rate {level.target_rate:g}/s"
    return f"concurrency {level.concurrency}"


def print_load_test(result: LoadTestResult) -> None:
    """The sweep as a table, the capacity and why the sweep stopped (also `runs show lt-...`)."""
    table = Table(title=f"Load test {result.id}: {result.candidate}", title_justify="left")
    open_loop = any(level.target_rate is not None for level in result.levels)
    first = ("offered/s", "sent/s", "lag p95", "in flight") if open_loop else ("concurrency",)
    for column in (*first, "requests", "achieved/s", "out tok/s", "TTFT p50/p95", "E2E p50/p95"):
        table.add_column(column, justify="right")
    table.add_column("ITL p50", justify="right")
    table.add_column("verdict")
    best = result.best
    for level in result.levels:
        marker = " *" if best is not None and level is best else ""
        errors = f" ({level.errors} failed)" if level.errors else ""
        offered = (
            (
                f"{level.target_rate:g}{marker}",
                "-" if level.sent_rate is None else f"{level.sent_rate:,.1f}",
                _load_ms((level.send_lag_ms or {}).get("p95")),
                str(level.concurrency),
            )
            if open_loop
            else ()
        )
        table.add_row(
            *(offered or (f"{level.concurrency}{marker}",)),
            f"{level.requests}{errors}",
            f"{level.requests_per_s:,.2f}",
            f"{level.output_tokens_per_s:,.0f}",
            f"{_load_ms(level.ttft_ms['p50'])} / {_load_ms(level.ttft_ms['p95'])}",
            f"{_load_ms(level.e2e_ms['p50'])} / {_load_ms(level.e2e_ms['p95'])}",
            _load_ms(level.itl_ms["p50"]),
            "[green]meets SLO[/]" if level.meets_slo else f"[red]{level.verdict}[/]",
        )
    print_table(table)  # stacked rows where the sweep's columns do not fit
    console.print(f"Capacity: {result.summary()}", highlight=False)
    if any(level.client_limited for level in result.levels):
        err_console.print(
            "[yellow]note:[/] client-limited levels (the load generator fell behind its "
            "schedule) say what this client could send, not what the endpoint serves; they are "
            "never taken as capacity",
            highlight=False,
            soft_wrap=True,
        )
    console.print(f"[dim]Stopped: {result.stop_reason}[/]", highlight=False)
    expected = result.workload.get("max_output_tokens")
    measured = best.mean_output_tokens if best is not None else None
    if expected and measured is not None and measured < 0.5 * expected:
        err_console.print(
            f"[yellow]note:[/] answers averaged {measured:.0f} tokens against the {expected} "
            "asked for (the model stopped early); the capacity holds for answers that short",
            highlight=False,
            soft_wrap=True,
        )


def _load_ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f} ms"
