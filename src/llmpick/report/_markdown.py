"""decision.md: an architecture decision record (ADR) a team can review and commit.

Every string from the spec, the dataset, the catalog or a model is escaped: Markdown specials are
backslash-escaped, `<`, `>` and `&` become entities (renderers pass raw HTML through), and line
breaks collapse to spaces so a value cannot start a heading, list or table row of its own.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from llmpick.report._view import (
    MISSING,
    as_dict,
    as_list,
    as_number,
    as_text,
    breakdown_value,
    candidate_name,
    candidates,
    dig,
    eligible_candidates,
    format_ci,
    format_count,
    format_ms,
    format_number,
    format_percent,
    format_plain,
    format_usd,
    provenance_text,
)

if TYPE_CHECKING:
    from llmpick.decision import Decision

__all__ = ["markdown_escape", "render_markdown"]

_SPECIALS = re.compile(r"([\\`*_\[\]|~])")
_LINE_START = re.compile(r"^(\s*)([-+=>#])")
_ORDERED_LIST = re.compile(r"^(\s*\d+)([.)])(?=\s|$)")


def markdown_escape(value: object) -> str:
    """Inline-safe Markdown for untrusted text: one line, specials escaped, no raw HTML."""
    text = " ".join(as_text(value).split())
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _SPECIALS.sub(r"\\\1", text)
    text = _ORDERED_LIST.sub(r"\1\\\2", text)
    return _LINE_START.sub(r"\1\\\2", text)


def _code(value: object) -> str:
    """An identifier as a code span, fenced with enough backticks; pipes escaped for tables."""
    text = " ".join(as_text(value).split()) or MISSING
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    padded = f" {text} " if text.startswith("`") or text.endswith("`") else text
    return f"{fence}{padded}{fence}".replace("|", "\\|")


def _flatten(value: object, prefix: str = "") -> list[tuple[str, str]]:
    """Nested needs/constraints as (dotted.key, value) pairs for a bullet list."""
    if isinstance(value, Mapping):
        pairs: list[tuple[str, str]] = []
        for key, item in value.items():
            pairs += _flatten(item, f"{prefix}.{key}" if prefix else str(key))
        return pairs
    if isinstance(value, list):
        if all(not isinstance(v, Mapping | list) for v in value):
            return [(prefix, ", ".join(as_text(v) for v in value) or "none")]
        pairs = []
        for index, item in enumerate(value):
            pairs += _flatten(item, f"{prefix}[{index}]")
        return pairs
    return [(prefix, format_plain(value))]


def _bullets(section: object, empty: str) -> list[str]:
    pairs = _flatten(as_dict(section))
    if not pairs:
        return [f"- {empty}"]
    return [f"- {markdown_escape(key)}: {markdown_escape(value)}" for key, value in pairs]


def _name(decision: Mapping[str, Any], candidate_id: object) -> str:
    if not candidate_id:
        return "none"
    for candidate in candidates(decision):
        if as_text(candidate.get("id")) == as_text(candidate_id):
            return f"{markdown_escape(candidate_name(candidate))} ({_code(candidate_id)})"
    return _code(candidate_id)


def _kind(figure: Mapping[str, Any]) -> str:
    return markdown_escape(figure.get("provenance") or "n/a")


def _options_table(decision: Mapping[str, Any]) -> list[str]:
    lines = [
        "| # | Option | Type | Quality [95% CI] | TTFT p95 | Cost / month | Score | P(best) "
        "| Status |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    excluded = [c for c in candidates(decision) if c.get("eligible") is False]
    for candidate in [*eligible_candidates(decision), *excluded]:
        quality, latency, cost = (as_dict(candidate.get(k)) for k in ("quality", "latency", "cost"))
        kind = "open weights" if candidate.get("open_weights") is True else "closed"
        deployment = as_text(candidate.get("deployment"))
        if candidate.get("eligible") is False:
            reasons = "; ".join(
                markdown_escape(dig(e, "message")) for e in as_list(candidate.get("exclusions"))
            )
            status = f"excluded: {reasons or 'no reason recorded'}"
        else:
            status = (
                "eligible" if candidate.get("measured") is not False else "eligible, not measured"
            )
        lines.append(
            "| "
            + " | ".join(
                [
                    format_count(candidate.get("rank"))
                    if candidate.get("eligible") is not False
                    else "",
                    f"{markdown_escape(candidate_name(candidate))} ({_code(candidate.get('id'))})",
                    f"{kind}, {markdown_escape(deployment)}" if deployment else kind,
                    f"{format_ci(quality)} ({_kind(quality)})",
                    f"{format_ms(latency.get('ttft_p95_ms'))} ({_kind(latency)})",
                    f"{format_usd(cost.get('usd_per_month'))} ({_kind(cost)})",
                    format_number(candidate.get("score")),
                    format_percent(candidate.get("p_best")),
                    status,
                ]
            )
            + " |"
        )
    return lines


def _consequences(decision: Mapping[str, Any], winner: Mapping[str, Any] | None) -> list[str]:
    lines = ["## Consequences", "", "### Cost", ""]
    cost = as_dict(dig(winner, "cost"))
    if cost:
        lines.append(
            f"- Expected {format_usd(cost.get('usd_per_month'))} per month at "
            f"{format_count(dig(decision, 'volume', 'requests_per_day'))} requests per day "
            f"({format_usd(cost.get('usd_per_1k_requests'))} per 1k requests; "
            f"{markdown_escape(provenance_text(cost))})."
        )
        breakdown = as_dict(cost.get("breakdown"))
        figure_kinds = as_dict(cost.get("figure_provenance"))
        parts = [
            f"{markdown_escape(key.replace('_', ' '))} {breakdown_value(key, value)}"
            + (f" ({markdown_escape(figure_kinds[key])})" if key in figure_kinds else "")
            for key, value in breakdown.items()
            if value is not None
        ]
        if cost.get("hardware_unpriced"):
            parts.append("hardware assumed $0: nothing prices it (set gpu_usd_per_hour)")
        if parts:
            lines.append("- Breakdown: " + "; ".join(parts) + ".")
        lines += [f"- Assumes: {markdown_escape(a)}" for a in as_list(cost.get("assumptions"))]
    else:
        lines.append("- No cost figure for the chosen option.")
    break_even = as_dict(decision.get("break_even"))
    crossing = as_number(break_even.get("requests_per_day"))
    if break_even:
        if crossing is not None:
            lines.append(
                f"- Break-even: self-hosting {_name(decision, break_even.get('open_id'))} matches "
                f"{_name(decision, break_even.get('closed_id'))} at about "
                f"{crossing:,.0f} requests per day."
            )
        else:
            lines.append(
                "- Break-even: the open and closed cost lines do not cross in the range examined."
            )
        if break_even.get("note"):
            lines.append(f"- {markdown_escape(break_even.get('note'))}")
    lines += ["", "### Risks", ""]
    risks = [markdown_escape(dig(w, "message")) for w in as_list(dig(winner, "warnings"))]
    for figure in ("quality", "latency", "cost"):
        kind = dig(winner, figure, "provenance")
        if kind and kind != "measured":
            risks.append(
                f"The {figure} figure is {markdown_escape(kind)} only, not measured on our data."
            )
    confidence = as_number(dig(decision, "recommendation", "confidence"))
    if confidence is not None and confidence < 0.7:
        risks.append(f"Confidence is only {format_percent(confidence)}: the runner-up is close.")
    for candidate in eligible_candidates(decision):
        if dig(candidate, "cost", "hardware_unpriced") is True:
            risks.append(
                f"{markdown_escape(candidate_name(candidate))}: hardware assumed $0 (nothing "
                "prices it; set constraints.infrastructure.gpu_usd_per_hour)."
            )
    lines += [f"- {risk}" for risk in risks] or ["- None recorded."]
    lines += ["", "### What would change this decision", ""]
    changes = [
        markdown_escape(c) for c in as_list(dig(decision, "recommendation", "what_would_change"))
    ]
    sensitivity = as_dict(decision.get("sensitivity"))
    flip = as_number(sensitivity.get("volume_flip_requests_per_day"))
    if flip is not None:
        note = markdown_escape(sensitivity.get("volume_flip_note"))
        winner = sensitivity.get("volume_flip_winner")
        to = f", where {_name(decision, winner)} would win" if winner else ""
        changes.append(
            f"A volume of about {flip:,.0f} requests per day{to}{': ' + note if note else ''}."
        )
    for change in as_list(sensitivity.get("weight_changes")):
        delta = as_number(dig(change, "delta"))
        changes.append(
            f"Weight {_code(dig(change, 'weight'))} changed by "
            f"{f'{delta:+.2f}' if delta is not None else MISSING}: "
            f"{_name(decision, dig(change, 'new_winner'))} would win."
        )
    lines += [f"- {change}" for change in changes] or ["- Nothing computed."]
    return lines


def _provenance(decision: Mapping[str, Any]) -> list[str]:
    lines = ["## Provenance", ""]
    legend = as_dict(decision.get("provenance_legend"))
    lines += [
        f"- **{markdown_escape(kind)}**: {markdown_escape(text)}" for kind, text in legend.items()
    ]
    lines += [
        "",
        f"- Spec: {_code(decision.get('spec_path'))}, {_code(decision.get('spec_hash'))}",
        f"- Generated {markdown_escape(decision.get('generated_at')) or MISSING} by llmpick "
        f"{markdown_escape(decision.get('llmpick_version')) or MISSING}"
        + (f", run {_code(decision.get('run_id'))}" if decision.get("run_id") else ""),
        "",
        "| Option | Figure | Provenance |",
        "|---|---|---|",
    ]
    for candidate in eligible_candidates(decision):
        for figure in ("quality", "latency", "cost"):
            data = as_dict(candidate.get(figure))
            if data:
                lines.append(
                    f"| {markdown_escape(candidate_name(candidate))} | {figure} | "
                    f"{markdown_escape(provenance_text(data))} |"
                )
    for test in as_list(decision.get("load_tests")):
        lines += ["", *_load_test(decision, as_dict(test))]
    lines += [
        "",
        "Full figures, per-item responses and the report: `decision.json`, `report.html`.",
    ]
    return lines


def _load_test(decision: Mapping[str, Any], test: Mapping[str, Any]) -> list[str]:
    lines = [
        f"Load test {_code(test.get('id'))} of {_name(decision, test.get('candidate'))} on "
        f"{markdown_escape(test.get('hardware'))}: "
        f"{format_number(test.get('requests_per_s'))} requests/s at concurrency "
        f"{markdown_escape(test.get('concurrency'))} within the SLO.",
        "",
        "| Concurrency | Requests/s | p95 TTFT | p95 E2E | Verdict |",
        "|---:|---:|---:|---:|---|",
    ]
    for level in as_list(test.get("levels")):
        lines.append(
            f"| {markdown_escape(dig(level, 'concurrency'))} "
            f"| {format_number(dig(level, 'requests_per_s'))} "
            f"| {format_ms(dig(level, 'ttft_p95_ms'))} | {format_ms(dig(level, 'e2e_p95_ms'))} "
            f"| {markdown_escape(dig(level, 'verdict'))} |"
        )
    return lines


_STATUS = {
    "chosen": "proposed",
    "no_candidate_meets_needs": "open: no candidate meets every need yet",
    "nothing_measured": "open: nothing measured yet",
    "no_candidates": "open: no candidates",
}


def render_markdown(typed: Decision, *, data: Mapping[str, Any] | None = None) -> str:
    """The decision record as Markdown text. `data` is the decision's JSON form when the
    caller already has it (the tables read that)."""
    decision = data if data is not None else typed.model_dump(mode="json")
    rec = typed.recommendation
    winner = next((c for c in candidates(decision) if as_text(c.get("id")) == rec.id), None)
    chosen = markdown_escape(rec.label or rec.id or "")
    title = markdown_escape(decision.get("name") or "LLM choice")
    volume = as_dict(decision.get("volume"))
    heading = (
        f"# Use {chosen} for {title}"
        if rec.status == "chosen"
        else f"# LLM choice for {title}: {markdown_escape(rec.headline)}"
    )
    lines = [
        heading,
        "",
        f"- Status: {_STATUS[rec.status]}",
        f"- Date: {markdown_escape(decision.get('generated_at')) or MISSING}",
        f"- Spec: {_code(decision.get('spec_path'))}",
        f"- Evidence: {rec.measured_candidates} candidate(s) measured on the dataset, "
        f"{rec.unmeasured_eligible} eligible candidate(s) not measured",
        "",
        "## Context",
        "",
    ]
    if decision.get("description"):
        lines += [markdown_escape(decision.get("description")), ""]
    lines += [
        f"Volume: {format_count(volume.get('requests_per_day'))} requests per day, "
        f"{format_count(volume.get('mean_input_tokens'))} input and "
        f"{format_count(volume.get('mean_output_tokens'))} output tokens per request on average.",
        "",
        "Needs:",
        "",
        *_bullets(decision.get("needs"), "none stated"),
        "",
        "Constraints:",
        "",
        *_bullets(decision.get("constraints"), "none stated"),
        "",
        "Weights: "
        + (
            ", ".join(
                f"{markdown_escape(k)} {format_number(v)}"
                for k, v in as_dict(decision.get("weights")).items()
            )
            or "defaults"
        )
        + ".",
        "",
        "## Options considered",
        "",
        *_options_table(decision),
        *_variants_table(typed),
        *_safety_table(typed),
        *_tuning_table(typed),
        "",
        "## Decision",
        "",
        *_decision_section(typed, decision),
    ]
    lines += ["", *_consequences(decision, winner), "", *_provenance(decision)]
    return "\n".join(lines) + "\n"


def _variants_table(typed: Decision) -> list[str]:
    """Each candidate's prompt variants beside the one its figures use (paired, same items)."""
    rows = [c for c in typed.candidates if c.variants]
    if not rows:
        return []
    lines = [
        "",
        "Prompt variants (each candidate is judged on its best variant, marked *; the others "
        "are compared with it on the same items):",
        "",
        "| Option | Variant | Quality [95% CI] | Difference | Only this / only * right | "
        "McNemar p |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        for v in row.variants:
            quality = format_ci({"mean": v.mean, "ci_low": v.ci_low, "ci_high": v.ci_high})
            diff = MISSING if v.diff_vs_chosen is None else f"{v.diff_vs_chosen:+.2f}"
            counts = "" if v.chosen else f"{v.only_this_right} / {v.only_chosen_right}"
            p = format_number(v.p_value, 3) if v.p_value is not None else MISSING
            lines.append(
                f"| {_code(row.id)} | {markdown_escape(v.name)}{' *' if v.chosen else ''} "
                f"| {quality} | {'' if v.chosen else diff} | {counts} | "
                f"{'' if v.chosen else p} |"
            )
    return lines


def _tuning_table(typed: Decision) -> list[str]:
    """Tuned models beside their base on the held-out items: loss curve ends, the paired gain
    and its test, and the one-off tuning cost (measured time x catalog price)."""
    tuning = typed.tuning
    if tuning is None:
        return []
    lines = [""]
    held = tuning.held_out
    if held is not None:
        lines += [
            f"Held-out test items: every option above was evaluated on the same {held.n_test} "
            f"test items only ({markdown_escape(held.source)}); "
            + (
                "none of them is a training or validation item (checked by id)."
                if held.never_trained_on
                else "**some are also training items**."
            ),
            "",
        ]
    if not tuning.models:
        return lines
    lines += [
        "Tuned models (LoRA; each served in the runtime named, llama.cpp like its base "
        "when the adapter could be written as a LoRA GGUF):",
        "",
        "| Tuned | Base | Runtime | Adapter | Steps | Training loss first → last | Validation "
        "loss before → best | Gain over base [95% CI] | Paired test | Tuning cost (one-off; "
        "per month) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    notes = []
    for m in tuning.models:
        if m.status == "not_tuned":
            notes.append(f"- {_code(m.candidate)} not tuned: {markdown_escape(m.reason)}")
            continue
        losses = f"{m.step_losses[0]:.3f} → {m.step_losses[-1]:.3f}" if m.step_losses else MISSING
        best = min((e.validation_loss for e in m.epochs), default=None)
        validation = (
            f"{format_number(m.initial_validation_loss, 3)} → {format_number(best, 3)}"
            if best is not None
            else MISSING
        )
        g = m.vs_base
        gain = (
            f"{g.diff:+.2f} [{g.ci_low:+.2f}, {g.ci_high:+.2f}] on {g.n} items"
            if g is not None
            else markdown_escape(m.vs_base_note or MISSING)
        )
        test = (
            f"{markdown_escape(g.method)} p "
            + ("< 0.0001" if g.p_value < 1e-4 else format_number(g.p_value, 4))
            if g is not None and g.p_value is not None
            else markdown_escape(g.method)
            if g is not None
            else MISSING
        )
        c = m.cost
        cost = (
            f"{format_usd(c.usd)} ({c.wall_time_s:,.0f} s measured x "
            f"{format_usd(c.usd_per_hour)}/h, {markdown_escape(c.hardware)}, catalog "
            f"{markdown_escape(c.as_of)}); {format_usd(c.usd_per_month)}/month over "
            f"{c.horizon_months:g} months, {c.tunings} tuning(s)"
            if c is not None and c.usd is not None
            else MISSING
        )
        lines.append(
            f"| {_code(m.candidate)} | {_code(m.base)} | {markdown_escape(m.runtime)} "
            f"| {_code(m.adapter_key)} "
            f"({m.status}) | {len(m.step_losses)} | {losses} | {validation} | {gain} | {test} "
            f"| {cost} |"
        )
    return lines + notes


# Where the gateway (`llmpick gateway`) would catch a failing category in production.
GUARDRAIL_NOTES = {
    "pii_leakage": "the gateway's PII redaction keeps personal data from leaving for external "
    "backends",
    "system_prompt_leakage": "a gateway output check with the system prompt's secrets as "
    "blocked terms stops a leaked answer",
    "prompt_injection": "a gateway output check (JSON Schema, blocked terms) limits what an "
    "injected answer can contain",
}


def _safety_table(typed: Decision) -> list[str]:
    """Pass rate per probe category and candidate, failing probes, and what guards them."""
    rows = [c for c in typed.candidates if c.safety is not None]
    if not rows:
        return []
    categories = list(dict.fromkeys(k for c in rows for k in c.safety.categories))  # type: ignore[union-attr]
    needs = typed.safety_needs
    header = [
        f"{markdown_escape(k.replace('_', ' '))}"
        + (f" (need {needs[k]:.2f})" if k in needs else "")
        for k in categories
    ]
    lines = [
        "",
        "Safety probes (llmpick's suite inside this spec's system prompt and template; pass "
        "rate [95% CI], passed/n):",
        "",
        "| Option | " + " | ".join(header) + " |",
        "|---|" + "---|" * len(categories),
    ]
    failing: set[str] = set()
    for row in rows:
        assert row.safety is not None
        cells = []
        for category in categories:
            rate = row.safety.categories.get(category)
            if rate is None or rate.rate is None:
                cells.append(MISSING)
                continue
            if rate.passed < rate.n:
                failing.add(category)
            cells.append(
                f"{rate.rate:.2f} [{format_number(rate.ci_low)}, {format_number(rate.ci_high)}] "
                f"{rate.passed}/{rate.n}"
            )
        lines.append(f"| {_code(row.id)} | " + " | ".join(cells) + " |")
    for row in rows:
        assert row.safety is not None
        for failure in row.safety.failures[:3]:
            lines.append(
                f"- {_code(row.id)} {_code(failure.probe_id)}: {markdown_escape(failure.reason)}"
                f" — {markdown_escape(failure.answer[:120])}"
            )
    for category in categories:
        if category in failing and category in GUARDRAIL_NOTES:
            lines.append(f"- Guardrail: {markdown_escape(GUARDRAIL_NOTES[category])}.")
    return lines


def _decision_section(typed: Decision, decision: Mapping[str, Any]) -> list[str]:
    rec = typed.recommendation
    lines: list[str] = []
    if rec.status == "chosen":
        lines.append(
            f"We choose **{markdown_escape(rec.label)}** ({_code(rec.id)}): it meets every need."
        )
    else:
        lines.append(f"**{markdown_escape(rec.headline)}.**")
        if rec.id:
            lines += [
                "",
                f"The best measured option is {markdown_escape(rec.label)} ({_code(rec.id)}); "
                "it is shown with the needs it misses, not recommended:",
                "",
                *[f"- Misses {n.need}: {markdown_escape(n.gap or 'missed')}" for n in rec.misses],
            ]
    if rec.confidence_note:
        confidence = format_percent(rec.confidence) if rec.confidence is not None else "none"
        lines += ["", f"Confidence {confidence}: {markdown_escape(rec.confidence_note)}."]
    if rec.reasons:
        lines += ["", *[f"- {markdown_escape(reason)}" for reason in rec.reasons]]
    if rec.next_measurements:
        lines += [
            "",
            "### What to measure next",
            "",
            "| Candidate | Why it could change the decision | Step |",
            "|---|---|---|",
        ]
        for m in rec.next_measurements:
            lines.append(
                f"| {_code(m.candidate)} | {markdown_escape('; '.join(m.why))} "
                f"| {markdown_escape(m.step)} |"
            )
        first = rec.next_measurements[0]
        if first.items_needed:
            lines += [
                "",
                f"About {first.items_needed:,} paired test cases are needed "
                f"{markdown_escape(first.items_needed_basis)}.",
            ]
    if rec.id:
        lines += [
            "",
            f"Runner-up: {_name(decision, rec.runner_up)}. "
            f"Best open-weight option: {_name(decision, rec.best_open)}. "
            f"Best closed option: {_name(decision, rec.best_closed)}.",
        ]
    return lines
