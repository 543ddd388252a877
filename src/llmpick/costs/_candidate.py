"""Each candidate's monthly cost, as a figure at the spec's volume and as a function of volume.

API candidates cost list price x tokens. Self-hosted candidates are sized on the hardware the
constraint check chose (on hand or rented), with the request rate one replica can carry at the
latency SLO estimated from the device's FLOPS (prompts) and memory bandwidth (answers); that
estimate is labelled, and a load-tested rate (`CapacityEvidence`) replaces it where it was
measured on the hardware being costed.

This module reads a constraint verdict only through the small protocols below, so costs stays
below constraints in the layers (the budget rule in constraints prices API bills with costs).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from llmpick.catalog._schema import Architecture, CatalogEntry
from llmpick.costs._api import api_monthly_cost
from llmpick.costs._selfhosted import Throughput, self_hosted_monthly_cost
from llmpick.hardware import (
    DECODE_BANDWIDTH_EFFICIENCY,
    PREFILL_COMPUTE_EFFICIENCY,
    FitReport,
    HardwareSpec,
    cpu_host_for,
    fit_model,
    parse_hardware,
)
from llmpick.spec import Spec
from llmpick.spec._models import InfrastructureConstraints

CostAt = Callable[[float], float]
_CONCURRENCY_STEPS = (1, 2, 4, 8, 16, 32, 64, 128, 256)
_SECONDS_PER_DAY = 86_400
_DEFAULT_E2E_S = 10.0

#: How far a hardware estimate may be from a load test on the same hardware before the cost
#: says the estimate is not to be trusted (a factor, either way).
ESTIMATE_TOLERANCE = 3.0


@dataclass(frozen=True)
class CapacityEvidence:
    """A load test's finding: requests/s one replica serves within the latency SLO.

    It replaces the hardware estimate in the self-hosted cost when `hardware` (what the
    tested endpoint runs on) is the hardware the candidate is costed on.
    """

    requests_per_s: float
    hardware: str
    concurrency: int | None = None
    source: str = "load test"
    # The sweep behind it, for the report: one mapping per level tried (concurrency,
    # requests_per_s, ttft_p95_ms, e2e_p95_ms, meets_slo, verdict), plus the SLO it was held to.
    levels: tuple[dict[str, Any], ...] = ()
    slo: dict[str, Any] = field(default_factory=dict)
    load_test_id: str | None = None


@dataclass(frozen=True)
class CandidateCost:
    """Monthly cost with provenance; `at_volume` recomputes it for another requests/day."""

    usd_per_month: float | None
    provenance: str
    source: str
    as_of: str | None
    breakdown: dict[str, Any] = field(default_factory=dict)
    assumptions: list[str] = field(default_factory=list)
    at_volume: CostAt | None = None
    uncertainty: float = 0.1  # relative spread used by the Monte Carlo confidence
    hardware_unpriced: bool = False
    """Self-hosted hardware counted as $0 because neither the spec nor the device table
    prices it: the figure is an assumption the decision must flag."""
    estimate_vs_measured: float | None = None
    """The hardware estimate of a replica's requests/s over the load test's, where both exist
    for the same hardware; more than 3 (or under 1/3) says the estimate is not to be trusted
    for this model here, and an assumption says so."""
    figure_provenance: dict[str, str] = field(default_factory=dict)
    """Where each breakdown figure came from (measured, catalog, estimate or assumed), by its
    breakdown key, so a report can mark every assumed figure as assumed."""


class CostedCandidate(Protocol):
    """What costing reads of a resolved candidate (constraints' `ResolvedCandidate`)."""

    @property
    def deployment(self) -> str: ...

    @property
    def entry(self) -> CatalogEntry | None: ...


class PlacedCandidate(Protocol):
    """What costing reads of a constraint verdict (constraints' `CandidateVerdict`): the
    candidate and where the hardware rule placed it (hardware, quantization, rented)."""

    @property
    def candidate(self) -> CostedCandidate: ...

    @property
    def placement(self) -> Mapping[str, object]: ...


def serving_shape(spec: Spec) -> tuple[int, int]:
    """(context tokens, concurrent requests) the deployment must hold at peak: Little's law,
    concurrency = peak requests/s x end-to-end SLO (s)."""
    volume = spec.needs.volume
    context = max(
        spec.constraints.min_context_tokens,
        int(volume.mean_input_tokens + volume.mean_output_tokens),
        2048,
    )
    e2e_s = (spec.needs.latency.e2e_p95_ms or _DEFAULT_E2E_S * 1000) / 1000
    peak_rps = volume.requests_per_day / _SECONDS_PER_DAY * volume.peak_to_average
    return context, max(1, math.ceil(peak_rps * e2e_s))


def priced_hardware(text: str, infra: InfrastructureConstraints) -> HardwareSpec:
    """`text` parsed, at the spec's hourly price for its device when the spec sets one."""
    hardware = parse_hardware(text)
    for name, price in infra.gpu_usd_per_hour.items():
        if parse_hardware(name).device.id == hardware.device.id:
            hardware = hardware.with_price(price)
    return hardware


def cost_candidate(
    verdict: PlacedCandidate, spec: Spec, capacity: CapacityEvidence | None = None
) -> CandidateCost:
    """The monthly cost of one eligible candidate at the spec's volume; a self-hosted one is
    sized with the load-tested `capacity` when it was measured on the hardware costed."""
    candidate = verdict.candidate
    entry = candidate.entry
    volume = spec.needs.volume
    if candidate.deployment == "api":
        pricing = entry.pricing if entry else None
        if pricing is None:
            return CandidateCost(None, "none", "no list price in the catalog", None)
        cost = api_monthly_cost(pricing, volume)

        def api_at(requests_per_day: float) -> float:
            changed = volume.model_copy(update={"requests_per_day": requests_per_day})
            return api_monthly_cost(pricing, changed).usd_per_month

        return CandidateCost(
            cost.usd_per_month,
            "catalog",
            cost.price_source,
            cost.price_as_of,
            breakdown={
                "input": cost.input_usd_per_month,
                "cached_input": cost.cached_input_usd_per_month,
                "output": cost.output_usd_per_month,
                "batch_savings": cost.batch_savings_usd_per_month,
            },
            assumptions=[
                f"{pricing.provider} list prices: ${pricing.input_usd_per_mtok:g} in / "
                f"${pricing.output_usd_per_mtok:g} out per million tokens",
                # Below the vendor's minimum cacheable prefix, or with no cached price, the
                # bill says why the cached share pays the full input price.
                *(
                    cost.cache_notes
                    or [f"{volume.cacheable_input_share:.0%} of input at the cached price"]
                ),
            ],
            at_volume=api_at,
            uncertainty=0.1,
            figure_provenance={
                "input": "catalog",
                "cached_input": "catalog",
                "output": "catalog",
                "batch_savings": "catalog",
            },
        )
    return _self_hosted_cost(verdict, spec, capacity)


def _self_hosted_cost(
    verdict: PlacedCandidate, spec: Spec, capacity: CapacityEvidence | None
) -> CandidateCost:
    candidate = verdict.candidate
    arch = candidate.entry.architecture if candidate.entry else None
    placement = verdict.placement
    infra = spec.constraints.infrastructure
    notes: list[str] = []
    measured_on = priced_hardware(capacity.hardware, infra) if capacity is not None else None
    if placement:
        hardware = priced_hardware(str(placement["hardware"]), infra)
        if measured_on is not None and not _same(measured_on, hardware):
            notes.append(
                f"the load test ran on {measured_on.label}, but this candidate is sized on "
                f"{hardware.label}: the capacity is an estimate (load-test on {hardware.label})"
            )
            measured_on = None
        owned = not placement.get("rented", False)
    elif measured_on is not None:
        hardware = measured_on  # a server that already runs: costed where it was measured
        owned = any(_same(parse_hardware(h), hardware) for h in infra.hardware)
    else:
        return CandidateCost(
            None,
            "none",
            "no hardware placement: an endpoint that already runs is costed once "
            "`llmpick loadtest` has measured it on declared hardware",
            None,
        )
    context, _ = serving_shape(spec)
    fit: FitReport | None = None
    quantization = str(placement["quantization"]) if placement else "as served"
    ratio: float | None = None
    if measured_on is not None and capacity is not None:
        throughput: Throughput | None = Throughput(
            capacity.requests_per_s, "measured", capacity.source
        )
        basis = f"capacity measured by {capacity.source}"
        uncertainty = 0.15
        if arch is not None and placement and capacity.requests_per_s > 0:
            estimate, _ = replica_throughput(arch, hardware, quantization, context, spec)
            if estimate is not None:
                ratio = estimate.requests_per_s / capacity.requests_per_s
                if not 1 / ESTIMATE_TOLERANCE <= ratio <= ESTIMATE_TOLERANCE:
                    notes.append(
                        f"the hardware estimate ({estimate.requests_per_s:,.3g} requests/s per "
                        f"replica) is {ratio:.3g}x the load test's "
                        f"({capacity.requests_per_s:,.3g}) on {hardware.label}: more than "
                        f"{ESTIMATE_TOLERANCE:g}x off, so estimates for this model on this "
                        "hardware are not to be trusted; the measurement is used"
                    )
    elif arch is not None:
        throughput, fit = replica_throughput(arch, hardware, quantization, context, spec)
        basis = f"capacity is estimated from hardware facts: {_compute_basis(hardware)}"
        uncertainty = 0.4
    else:
        throughput = None
    if throughput is None:
        return CandidateCost(None, "none", "no capacity estimate for this hardware", None)

    rate = throughput.requests_per_s

    def cost_at(requests_per_day: float, scale: float = 1.0) -> float:
        changed = spec.needs.volume.model_copy(update={"requests_per_day": requests_per_day})
        scaled = Throughput(rate * scale, throughput.provenance, throughput.source)
        return self_hosted_monthly_cost(hardware, scaled, changed, infra, owned=owned).usd_per_month

    cost = self_hosted_monthly_cost(hardware, throughput, spec.needs.volume, infra, owned=owned)
    return CandidateCost(
        cost.usd_per_month,
        throughput.provenance,
        throughput.source,
        None,
        breakdown={
            "hardware": cost.hardware,
            "quantization": quantization,
            "replicas": cost.replicas,
            "gpu": cost.hardware_usd_per_month,
            "operations": cost.operations_usd_per_month,
            "usd_per_hour_per_replica": cost.usd_per_hour_per_replica,
            "requests_per_s_per_replica": throughput.requests_per_s,
            "peak_requests_per_s": cost.peak_requests_per_s,
            "utilization": cost.utilization,
            "max_concurrency_per_replica": (
                fit.concurrency if fit else capacity.concurrency if capacity else None
            ),
            "estimate_vs_measured": ratio,
        },
        assumptions=[*cost.assumptions, basis, *notes],
        at_volume=cost_at,
        uncertainty=uncertainty,
        hardware_unpriced=cost.hardware_unpriced,
        estimate_vs_measured=ratio,
        figure_provenance={
            "gpu": "assumed" if cost.price is None else cost.price.provenance,
            "usd_per_hour_per_replica": "assumed" if cost.price is None else cost.price.provenance,
            "operations": "assumed",
            "requests_per_s_per_replica": throughput.provenance,
            "replicas": throughput.provenance,
            "utilization": throughput.provenance,
        },
    )


def _compute_basis(hardware: HardwareSpec) -> str:
    device = hardware.device
    bandwidth = f"{DECODE_BANDWIDTH_EFFICIENCY[device.kind]:.0%} of peak memory bandwidth"
    if device.kind == "cpu":
        host = cpu_host_for(device.memory_gb)
        cores = f"{host.vcpus} cores (as {host.instance})" if host else "cores unknown"
        compute = (
            f"{device.prompt_gflops_per_core:g} GFLOPS per core in prompts and "
            f"{device.decode_gflops_per_core:g} in decoding x {cores}, measured on one machine "
            f"({device.throughput_source})"
        )
    else:
        compute = f"{PREFILL_COMPUTE_EFFICIENCY[device.kind]:.0%} of peak FP16 FLOPS"
    return (
        f"compute bound at {compute}; answers at the slower of that and {bandwidth}"
        " — a load test at the SLO replaces this estimate"
    )


def _same(a: HardwareSpec, b: HardwareSpec) -> bool:
    return a.device.id == b.device.id and a.count == b.count


def replica_throughput(
    arch: Architecture, hardware: HardwareSpec, quantization: str, context: int, spec: Spec
) -> tuple[Throughput | None, FitReport | None]:
    """Requests/s one replica sustains at the SLO: the largest batch that fits in memory and
    still finishes a mean request within the end-to-end SLO (an estimate from hardware facts).

    A request costs the replica its prompt's processing (compute bound) plus its share of the
    batch's decode steps (the slower of bandwidth and compute bound), so at batch B

        rate    = 1 / (prompt tokens computed / prefill tokens/s
                       + output tokens / (B x decode tokens/s at B))
        latency = prompt tokens computed / prefill tokens/s + output tokens / decode tokens/s

    Prompt tokens computed are the input tokens less the spec's `cacheable_input_share`: both
    runtimes llmpick sizes for reuse a cached prompt prefix (vLLM's automatic prefix caching,
    llama.cpp's prompt cache), so the shared prefix is computed once, not per request. Where the
    device table has no compute figure the prompt term is left out (and said so).
    """
    volume = spec.needs.volume
    in_tokens = max(volume.mean_input_tokens, 0.0)
    computed_tokens = in_tokens * (1 - volume.cacheable_input_share)
    out_tokens = max(volume.mean_output_tokens, 1.0)
    e2e_slo_s = (spec.needs.latency.e2e_p95_ms or 10_000) / 1000
    within_slo: tuple[float, FitReport] | None = None
    any_batch: tuple[float, FitReport] | None = None
    for concurrency in _CONCURRENCY_STEPS:
        report = fit_model(
            arch,
            hardware,
            context_tokens=context,
            concurrency=concurrency,
            quantization=quantization,
        )
        per_seq = report.decode_tokens_per_s_estimate
        aggregate = report.aggregate_decode_tokens_per_s_estimate
        if not report.fits or not per_seq or not aggregate:
            break
        prefill = report.prefill_tokens_per_s_estimate
        prompt_s = computed_tokens / prefill if prefill else 0.0
        rate = 1.0 / (prompt_s + out_tokens / aggregate)
        if any_batch is None or rate > any_batch[0]:
            any_batch = (rate, report)
        latency_s = prompt_s + out_tokens / per_seq
        if latency_s <= e2e_slo_s and (within_slo is None or rate > within_slo[0]):
            within_slo = (rate, report)
    # The largest batch that still meets the SLO; if none does, the SLO cannot be met on this
    # hardware at all (the latency need flags that) and the batch that fits sets the capacity.
    best = within_slo or any_batch
    if best is None:
        return None, None
    rate, report = best
    prefill = report.prefill_tokens_per_s_estimate
    cached = (
        f" for the {computed_tokens:,.0f} of {in_tokens:,.0f} prompt tokens not in the cached "
        f"prefix ({volume.cacheable_input_share:.0%} cacheable, reused by the runtime)"
        if volume.cacheable_input_share
        else ""
    )
    prompt_part = (
        f"{prefill:,.0f} prompt tokens/s (compute bound){cached} and "
        if prefill
        else "prompt processing not modelled (no compute figure for this device) and "
    )
    return (
        Throughput(
            rate,
            "estimate",
            f"hardware estimate on {report.hardware} at {report.quantization}, "
            f"{report.concurrency} concurrent requests: {prompt_part}"
            f"{report.aggregate_decode_tokens_per_s_estimate:,.0f} output tokens/s "
            "(the slower of memory-bandwidth and compute bound); not measured",
        ),
        report,
    )
