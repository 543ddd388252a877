"""The hardware rule: can we host this open-weight model on what we have, or may rent?

Memory is sized for the context the use case needs and for the requests in flight at peak,
from Little's law (`llmpick.costs.serving_shape`). Of the hardware on hand that fits, the one
with the lowest monthly bill at the spec's volume is chosen (replicas from the capacity
estimate x its hourly price): a model that fits a CPU host and a GPU is not placed on the CPU
host when it needs thirty of them. A model that does not fit the hardware on hand passes only
if renting cloud GPUs is allowed and a rentable configuration within the price cap fits;
otherwise it is excluded, and the message says which quantization or hardware would have
fitted.
"""

from __future__ import annotations

import math

from llmpick.constraints._candidates import ResolvedCandidate
from llmpick.constraints._rules import RuleResult
from llmpick.costs import (
    priced_hardware,
    replica_throughput,
    self_hosted_monthly_cost,
    serving_shape,
)
from llmpick.hardware import FitReport, fit_model, quantization_in_name
from llmpick.spec import Spec

# Cloud configurations tried, cheapest first, when the hardware on hand is not enough.
RENTABLE = (
    "1xL4",
    "1xA10G",
    "1xL40S",
    "1xA100-80GB",
    "1xH100-80GB",
    "2xH100-80GB",
    "1xH200",
    "4xH100-80GB",
    "8xH100-80GB",
    "8xH200",
)


def _describe(report: FitReport) -> str:
    return f"{report.quantization} on {report.hardware}: {report.reason}"


def _placed(report: FitReport, rented: bool) -> dict[str, object]:
    details: dict[str, object] = {
        "hardware": report.hardware,
        "quantization": report.quantization,
        "rented": rented,
        "runtime": report.runtime,
    }
    tight = next((note for note in report.notes if note.startswith("tight:")), None)
    if tight:
        details["headroom_warning"] = tight
    return details


def _tight(report: FitReport) -> str:
    tight = next((note for note in report.notes if note.startswith("tight:")), None)
    return f"; {tight}" if tight else ""


def check_hardware(c: ResolvedCandidate, spec: Spec) -> RuleResult | None:
    """See the module docstring."""
    if c.deployment != "self-hosted" or c.candidate.endpoint is not None:
        return None  # an API, or a server that already runs somewhere
    arch = c.entry.architecture if c.entry else None
    if arch is None:
        return RuleResult(
            "hardware",
            False,
            "no architecture facts to size it; set `catalog_id` on the candidate",
            severity="warning",
        )
    infra = spec.constraints.infrastructure
    context, concurrency = serving_shape(spec)
    shape = f"{context:,}-token context x {concurrency} concurrent requests"
    # A model whose weights ship in one quantization (a bundled GGUF, a GGUF file named for its
    # type) is served in that one.
    shipped = c.entry.local.quantization if c.entry and c.entry.local else None
    gguf = c.candidate.gguf
    if gguf is not None and gguf.path is not None:
        shipped = quantization_in_name(gguf.path.name) or shipped
    quant = c.candidate.quantization or shipped

    def fit(hardware: str) -> FitReport:
        priced = priced_hardware(hardware, infra)
        report = fit_model(
            arch, priced, context_tokens=context, concurrency=concurrency, quantization=quant
        )
        if quant is None and not report.fits and report.best_quantization:
            # No quantization pinned: serve at the most precise one that fits.
            report = fit_model(
                arch,
                priced,
                context_tokens=context,
                concurrency=concurrency,
                quantization=report.best_quantization,
            )
        return report

    def monthly(report: FitReport) -> float:
        hardware = priced_hardware(report.hardware, infra)
        throughput, _ = replica_throughput(arch, hardware, report.quantization, context, spec)
        if throughput is None:
            return math.inf
        bill = self_hosted_monthly_cost(hardware, throughput, spec.needs.volume, infra, owned=True)
        return bill.usd_per_month

    owned = [fit(h) for h in infra.hardware]
    fitting = [r for r in owned if r.fits]
    if len(fitting) > 1:
        fitting.sort(key=monthly)  # stable: equal bills keep the spec's order
    for report in fitting[:1]:
        if report.fits:
            return RuleResult(
                "hardware",
                True,
                f"fits the hardware on hand: {_describe(report)} ({shape}){_tight(report)}",
                details=_placed(report, rented=False),
            )
    owned_text = "; ".join(_describe(r) for r in owned) or "no hardware listed on hand"
    if infra.may_rent_cloud_gpus:
        for hardware in RENTABLE:
            spec_hw = priced_hardware(hardware, infra)
            price = spec_hw.device.usd_per_hour
            if infra.max_gpu_usd_per_hour is not None and (
                price is None or price > infra.max_gpu_usd_per_hour
            ):
                continue
            report = fit(hardware)
            if report.fits:
                cost = f" at ${spec_hw.usd_per_hour:,.2f}/hour" if spec_hw.usd_per_hour else ""
                return RuleResult(
                    "hardware",
                    True,
                    f"does not fit the hardware on hand ({owned_text}); fits rented "
                    f"{report.hardware}{cost}: {report.reason} ({shape}){_tight(report)}",
                    details=_placed(report, rented=True),
                )
        return RuleResult(
            "hardware",
            False,
            f"fits neither the hardware on hand ({owned_text}) nor any rentable configuration "
            "within the price cap",
        )
    suggestion = next((r.best_quantization for r in owned if r.best_quantization), None)
    bigger = next((r.suggested_hardware for r in owned if r.suggested_hardware), None)
    hint = (
        f"; it would fit at {suggestion} (set `quantization: {suggestion}` on the candidate)"
        if suggestion and suggestion != quant
        else ""
    )
    return RuleResult(
        "hardware",
        False,
        f"does not fit the hardware on hand and renting GPUs is not allowed: {owned_text}{hint}",
        details={"suggested_quantization": suggestion, "suggested_hardware": bigger},
    )
