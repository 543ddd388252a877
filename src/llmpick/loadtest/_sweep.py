"""Find how many requests/s a serving endpoint sustains within the latency SLO.

A closed-loop sweep, as GuideLLM's and LLMPerf's concurrency modes do it: at each level,
`concurrency` workers each send a request, wait for its last token and send the next, until the
level's request budget is spent. A level passes when its p95 TTFT and p95 E2E meet the SLO and
few requests fail. In a closed loop latency only grows with concurrency, so the sweep stops at
the first failing level and then bisects between the last pass and that failure; it also stops
when more concurrency adds under 10% throughput (the server is saturated and would only queue).
The capacity is the best passing level's measured requests/s (completions / wall time).
"""

from __future__ import annotations

import asyncio
import itertools
import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from llmpick.loadtest._result import LevelResult, Slo, percentiles_ms
from llmpick.providers import GenerateParams, Prompt, Provider, ProviderError

__all__ = ["DEFAULT_LEVELS", "SweepOptions", "run_level", "sweep"]

DEFAULT_LEVELS = (1, 2, 4, 8, 16, 32, 64)


@dataclass(frozen=True)
class SweepOptions:
    """How hard and how long to push. `requests_per_level` None: 8 x concurrency, at least 16."""

    levels: Sequence[int] = DEFAULT_LEVELS
    requests_per_level: int | None = None
    max_seconds_per_level: float = 120.0
    warmup_requests: int = 2
    bisect_steps: int = 3

    def budget(self, concurrency: int) -> int:
        if self.requests_per_level is not None:
            return max(self.requests_per_level, concurrency)
        return max(16, 8 * concurrency)


@dataclass
class _Sample:
    ok: bool
    ttft_s: float | None = None
    e2e_s: float | None = None
    gaps_s: Sequence[float] = ()
    input_tokens: int | None = None
    output_tokens: int | None = None
    error: str | None = None


async def run_level(
    provider: Provider,
    prompts: Sequence[Prompt],
    params: GenerateParams,
    concurrency: int,
    slo: Slo,
    *,
    requests: int,
    max_seconds: float,
    offset: int = 0,
) -> LevelResult:
    """Keep `concurrency` requests in flight until `requests` were sent (or time runs out)."""
    samples: list[_Sample] = []
    sent = 0
    deadline = time.perf_counter() + max_seconds

    async def worker() -> None:
        nonlocal sent
        while sent < requests and time.perf_counter() < deadline:
            prompt = prompts[(offset + sent) % len(prompts)]
            sent += 1
            samples.append(await _one(provider, prompt, params))

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return _summarize(concurrency, samples, time.perf_counter() - start, slo)


async def _one(provider: Provider, prompt: Prompt, params: GenerateParams) -> _Sample:
    try:
        response = await provider.generate(prompt, params)
    except ProviderError as exc:
        return _Sample(ok=False, error=f"{type(exc).__name__}: {exc}")
    return _Sample(
        ok=True,
        ttft_s=response.ttft_s,
        e2e_s=response.e2e_s,
        gaps_s=response.itl_s,
        input_tokens=response.usage.input_tokens,
        output_tokens=response.usage.output_tokens,
    )


def _summarize(concurrency: int, samples: list[_Sample], seconds: float, slo: Slo) -> LevelResult:
    ok = [s for s in samples if s.ok]
    errors = len(samples) - len(ok)
    ttft = [s.ttft_s for s in ok if s.ttft_s is not None]
    e2e = [s.e2e_s for s in ok if s.e2e_s is not None]
    gaps = list(itertools.chain.from_iterable(s.gaps_s for s in ok))
    inputs = [s.input_tokens for s in ok if s.input_tokens is not None]
    outputs = [s.output_tokens for s in ok if s.output_tokens is not None]
    ttft_ms, e2e_ms = percentiles_ms(ttft), percentiles_ms(e2e)
    problems = []
    if slo.ttft_p95_ms is not None and (ttft_ms["p95"] or math.inf) > slo.ttft_p95_ms:
        problems.append(f"p95 TTFT {_ms(ttft_ms['p95'])} > {slo.ttft_p95_ms:,.0f} ms")
    if slo.e2e_p95_ms is not None and (e2e_ms["p95"] or math.inf) > slo.e2e_p95_ms:
        problems.append(f"p95 E2E {_ms(e2e_ms['p95'])} > {slo.e2e_p95_ms:,.0f} ms")
    if samples and errors / len(samples) > slo.max_error_rate:
        problems.append(f"{errors}/{len(samples)} requests failed")
    if not ok:
        problems.append("no request succeeded")
    return LevelResult(
        concurrency=concurrency,
        requests=len(samples),
        errors=errors,
        duration_s=seconds,
        requests_per_s=len(ok) / seconds if seconds > 0 else 0.0,
        output_tokens_per_s=sum(outputs) / seconds if seconds > 0 else 0.0,
        ttft_ms=ttft_ms,
        e2e_ms=e2e_ms,
        itl_ms=percentiles_ms(gaps),
        mean_input_tokens=statistics.fmean(inputs) if inputs else None,
        mean_output_tokens=statistics.fmean(outputs) if outputs else None,
        meets_slo=not problems,
        verdict="; ".join(problems) or "meets the SLO",
        first_error=next((s.error for s in samples if s.error), None),
    )


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.0f} ms"


async def sweep(
    provider: Provider,
    prompts: Sequence[Prompt],
    params: GenerateParams,
    slo: Slo,
    options: SweepOptions | None = None,
    on_level: Callable[[LevelResult], None] | None = None,
) -> tuple[list[LevelResult], str]:
    """Run the levels in order, stop at the first that misses the SLO, then bisect between it
    and the last level that met it. Returns the levels tried (in concurrency order) and why
    the sweep stopped."""
    options = options or SweepOptions()
    offset = 0
    for _ in range(options.warmup_requests):  # connections, caches, lazy server start-up
        await _one(provider, prompts[offset % len(prompts)], params)
        offset += 1

    async def measure(concurrency: int) -> LevelResult:
        nonlocal offset
        budget = options.budget(concurrency)
        level = await run_level(
            provider,
            prompts,
            params,
            concurrency,
            slo,
            requests=budget,
            max_seconds=options.max_seconds_per_level,
            offset=offset,
        )
        offset += level.requests
        if on_level is not None:
            on_level(level)
        return level

    results: dict[int, LevelResult] = {}
    passed: int | None = None
    failed: int | None = None
    stop_reason = f"every level up to {max(options.levels)} met the SLO"
    for concurrency in sorted(set(options.levels)):
        level = await measure(concurrency)
        results[concurrency] = level
        if not level.meets_slo:
            failed = concurrency
            stop_reason = f"concurrency {concurrency} missed the SLO: {level.verdict}"
            break
        # More concurrency for under 10% more throughput: the server is saturated (a batching
        # server gains far more when it has room), and more would only queue.
        if passed is not None and level.requests_per_s < results[passed].requests_per_s * 1.10:
            stop_reason = f"saturated: concurrency {concurrency} served no more than {passed}"
            passed = max(passed, concurrency, key=lambda c: results[c].requests_per_s)
            break
        passed = concurrency
    if passed is not None and failed is not None:
        for _ in range(options.bisect_steps):
            middle = (passed + failed) // 2
            if middle in (passed, failed):
                break
            level = await measure(middle)
            results[middle] = level
            if level.meets_slo:
                passed = middle
            else:
                failed = middle
    return [results[c] for c in sorted(results)], stop_reason
