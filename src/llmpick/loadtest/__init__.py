"""Load-test a self-hosted serving endpoint: its capacity in requests/s within the latency SLO.

    from llmpick.loadtest import load_test, plan_load_test, slo_of
    from llmpick.spec import load_spec

    loaded = load_spec("llmpick.yaml")
    result = await load_test(plan_load_test(loaded, "llama-8b"), slo_of(loaded.spec))
    print(result.summary())

The measured capacity replaces the hardware estimate in the self-hosted cost (`decide` reads the
newest load test of each candidate from the store), so the break-even rests on a measurement.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, datetime

from llmpick.loadtest._result import PERCENTILES, LevelResult, LoadTestResult, Slo
from llmpick.loadtest._sweep import (
    DEFAULT_LEVELS,
    DEFAULT_RATES,
    SweepOptions,
    run_level,
    run_rate_level,
    sweep,
)
from llmpick.loadtest._workload import LoadTestError, LoadTestPlan, plan_load_test
from llmpick.providers import create_provider
from llmpick.spec import Spec
from llmpick.store import LoadTestRecord, Store

__all__ = [
    "DEFAULT_LEVELS",
    "DEFAULT_RATES",
    "PERCENTILES",
    "LevelResult",
    "LoadTestError",
    "LoadTestPlan",
    "LoadTestResult",
    "Slo",
    "SweepOptions",
    "latest_load_tests",
    "load_test",
    "plan_load_test",
    "result_of_record",
    "run_level",
    "run_rate_level",
    "slo_of",
    "sweep",
    "to_record",
]


def slo_of(spec: Spec) -> Slo:
    """The spec's latency needs as the SLO each level must meet."""
    latency = spec.needs.latency
    return Slo(ttft_p95_ms=latency.ttft_p95_ms, e2e_p95_ms=latency.e2e_p95_ms)


async def load_test(
    plan: LoadTestPlan,
    slo: Slo,
    options: SweepOptions | None = None,
    *,
    spec_name: str = "",
    hardware: str | None = None,
    on_level: Callable[[LevelResult], None] | None = None,
) -> LoadTestResult:
    """Sweep the plan's endpoint and return what it sustained. `hardware` is what the endpoint
    runs on (the cost model only uses the capacity for that hardware)."""
    started = datetime.now(UTC)
    async with create_provider(plan.provider_config) as provider:
        levels, stop_reason = await sweep(
            provider, plan.prompts, plan.params, slo, options, on_level=on_level
        )
    return LoadTestResult(
        id=started.strftime("lt-%Y%m%d-%H%M%S-") + secrets.token_hex(3),
        created_at=started.isoformat(timespec="seconds"),
        spec_name=spec_name,
        candidate=plan.candidate,
        endpoint=plan.endpoint,
        model=plan.model,
        slo=slo,
        workload=plan.workload,
        levels=levels,
        stop_reason=stop_reason,
        catalog_id=plan.catalog_id,
        hardware=hardware,
    )


def to_record(result: LoadTestResult) -> LoadTestRecord:
    """The store's row for a result (the whole sweep kept as JSON)."""
    best = result.best
    return LoadTestRecord(
        id=result.id,
        created_at=result.created_at,
        spec_name=result.spec_name,
        candidate=result.candidate,
        endpoint=result.endpoint,
        model=result.model,
        requests_per_s=best.requests_per_s if best else None,
        concurrency=best.concurrency if best else None,
        result=result.to_dict(),
        catalog_id=result.catalog_id,
        hardware=result.hardware,
    )


def result_of_record(record: LoadTestRecord) -> LoadTestResult:
    """The result a stored row holds (`runs show lt-...` prints it again)."""
    return LoadTestResult.from_dict(record.result)


def latest_load_tests(store: Store, spec: Spec) -> dict[str, LoadTestRecord]:
    """The newest load test of each spec candidate that has an endpoint (only those can be
    load-tested), by label."""
    found = {}
    for candidate in spec.candidates:
        if candidate.endpoint is not None:
            for record in store.load_tests(candidate=candidate.label, limit=1):
                found[candidate.label] = record
    return found
