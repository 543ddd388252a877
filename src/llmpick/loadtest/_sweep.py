"""Find how many requests/s a serving endpoint sustains within the latency SLO.

Two load profiles. **Concurrency** (closed loop, as GuideLLM's and LLMPerf's concurrency modes):
at each level, `concurrency` workers each send a request, wait for its last token and send the
next, until the level's request budget is spent. **Rate** (open loop, as vLLM's serving
benchmark): requests arrive as a Poisson process at the level's rate whether or not earlier ones
have finished, as production traffic does; a server that cannot keep up shows it as a growing
queue, hence growing latency, and the level misses the SLO.

Every level's requests/s is what was *achieved*: completions / wall time (first send to last
answer), never the offered rate. An open-loop level measures each request's latency from the time
its arrival was *scheduled*, not from when the client got round to sending it, so a client that
falls behind cannot hide the wait (no coordinated omission); the send lag (actual send - scheduled
time) is reported, and a level where the client could not keep its schedule is marked
"client-limited": it says what the client could send, not what the endpoint can serve, so it is
never taken as capacity.

A level passes when its p95 TTFT and p95 E2E meet the SLO and few requests fail. Latency only
grows with load, so the sweep stops at the first failing level and then bisects between the last
pass and that failure; a concurrency sweep also stops when more concurrency adds under 10%
throughput (the server is saturated and would only queue). The capacity is the best passing
level's measured requests/s (completions / wall time).
"""

from __future__ import annotations

import asyncio
import itertools
import math
import random
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from llmpick.loadtest._result import LevelResult, Slo, percentiles_ms
from llmpick.providers import GenerateParams, Prompt, Provider, ProviderError

__all__ = [
    "DEFAULT_LEVELS",
    "DEFAULT_RATES",
    "SweepOptions",
    "run_level",
    "run_rate_level",
    "sweep",
]

DEFAULT_LEVELS = (1, 2, 4, 8, 16, 32, 64)
DEFAULT_RATES = (0.5, 1, 2, 4, 8, 16, 32, 64)

LoadProfile = Literal["concurrency", "rate"]


@dataclass(frozen=True)
class SweepOptions:
    """How hard and how long to push. `levels` are concurrencies, or requests/s when `profile`
    is "rate". `requests_per_level` None: 8 x concurrency (or 8 s of arrivals), at least 16."""

    levels: Sequence[float] = DEFAULT_LEVELS
    profile: LoadProfile = "concurrency"
    requests_per_level: int | None = None
    max_seconds_per_level: float = 120.0
    warmup_requests: int = 2
    bisect_steps: int = 3
    max_in_flight: int = 512  # rate profile: more than this waiting means the server fell behind
    seed: int = 0

    def budget(self, level: float) -> int:
        if self.requests_per_level is not None:
            return max(self.requests_per_level, math.ceil(level))
        return max(16, math.ceil(8 * level))


# A client is behind its schedule when it sent at under this share of the scheduled rate, or its
# p95 send lag exceeds both CLIENT_LAG_FLOOR_S and CLIENT_LAG_GAPS mean arrival gaps (then the
# server saw bunched arrivals, not the Poisson process the level offered).
CLIENT_RATE_SHARE = 0.95
CLIENT_LAG_FLOOR_S = 0.05
CLIENT_LAG_GAPS = 2.0


@dataclass
class _Sample:
    ok: bool
    ttft_s: float | None = None
    e2e_s: float | None = None
    gaps_s: Sequence[float] = ()
    input_tokens: int | None = None
    output_tokens: int | None = None
    error: str | None = None
    sent_at: float | None = None  # perf_counter when the client started sending
    done_at: float | None = None  # perf_counter when the answer (or error) was complete
    lag_s: float | None = None  # open loop: how late the client sent it against its schedule


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


async def run_rate_level(
    provider: Provider,
    prompts: Sequence[Prompt],
    params: GenerateParams,
    rate: float,
    slo: Slo,
    *,
    requests: int,
    max_seconds: float,
    offset: int = 0,
    seed: int = 0,
    max_in_flight: int = 512,
) -> LevelResult:
    """Send `requests` requests as a Poisson process of `rate` per second (open loop); the
    reported concurrency is the most requests that were in flight at once."""
    rng = random.Random(seed)
    samples: list[_Sample] = []
    tasks: set[asyncio.Task[None]] = set()
    peak = 0
    overloaded = False
    scheduled: list[float] = []

    async def send(prompt: Prompt, due: float) -> None:
        samples.append(await _one(provider, prompt, params, scheduled_at=due))

    start = time.perf_counter()
    deadline = start + max_seconds
    due = start
    for sent in range(requests):
        if sent:  # the first request opens the level; the rest arrive at exponential gaps
            due += rng.expovariate(rate)
        if due > deadline or time.perf_counter() > deadline:  # a client far behind stops too
            break
        # Behind schedule this only yields, so answers keep being read while the client catches up.
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        scheduled.append(due)
        task = asyncio.create_task(send(prompts[(offset + sent) % len(prompts)], due))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        peak = max(peak, len(tasks))
        if len(tasks) > max_in_flight:
            overloaded = True  # the queue only grows from here: stop offering more
            break
    if tasks:
        _, late = await asyncio.wait(tasks, timeout=max(0.0, deadline - time.perf_counter()) + 60)
        for task in late:
            task.cancel()
        samples.extend(_Sample(ok=False, error="no answer within the level's time") for _ in late)
    level = _summarize(peak, samples, time.perf_counter() - start, slo, target_rate=rate)
    lags = [s.lag_s for s in samples if s.lag_s is not None]
    sends = sorted(s.sent_at for s in samples if s.sent_at is not None)
    sent_rate = _rate_of(sends)
    scheduled_rate = _rate_of(scheduled)
    level = replace(level, send_lag_ms=percentiles_ms(lags), sent_rate=sent_rate)
    lag_p95_s = (level.send_lag_ms["p95"] or 0.0) / 1000 if level.send_lag_ms else 0.0
    behind = sent_rate is not None and scheduled_rate is not None
    behind = behind and sent_rate < CLIENT_RATE_SHARE * scheduled_rate  # type: ignore[operator]
    lagging = lag_p95_s > max(CLIENT_LAG_FLOOR_S, CLIENT_LAG_GAPS / rate)
    if overloaded:
        verdict = f"more than {max_in_flight} requests waiting; " + level.verdict
        level = replace(level, meets_slo=False, verdict=verdict)
    if behind or lagging:
        verdict = (
            f"client-limited: sent {sent_rate or 0:,.1f} requests/s of an offered {rate:g}/s "
            f"(p95 send lag {lag_p95_s * 1000:,.0f} ms), so this level measured the client, "
            "not the endpoint; " + level.verdict
        )
        level = replace(level, meets_slo=False, client_limited=True, verdict=verdict)
    return level


def _rate_of(times: Sequence[float]) -> float | None:
    """Events per second over their span: n events span n - 1 gaps."""
    if len(times) < 2 or times[-1] <= times[0]:
        return None
    return (len(times) - 1) / (times[-1] - times[0])


async def _one(
    provider: Provider,
    prompt: Prompt,
    params: GenerateParams,
    *,
    scheduled_at: float | None = None,
) -> _Sample:
    """One request. With `scheduled_at` (open loop) its TTFT and E2E count from that scheduled
    time, so time the client spent late, or waiting inside its own connection pool, is counted
    as the user would feel it."""
    sent_at = time.perf_counter()
    lag = None if scheduled_at is None else max(0.0, sent_at - scheduled_at)
    try:
        response = await provider.generate(prompt, params)
    except ProviderError as exc:
        done_at = time.perf_counter()
        return _Sample(
            ok=False, error=f"{type(exc).__name__}: {exc}", sent_at=sent_at, done_at=done_at
        )
    done_at = time.perf_counter()
    ttft_s, e2e_s = response.ttft_s, response.e2e_s
    if scheduled_at is not None:
        # E2E from the schedule is exact from our own clock; TTFT is that less the time after
        # the first token the provider measured (its clock may start after pool waits).
        generating = (e2e_s - ttft_s) if (e2e_s is not None and ttft_s is not None) else None
        e2e_s = done_at - scheduled_at
        ttft_s = None if generating is None else max(0.0, e2e_s - generating)
    return _Sample(
        ok=True,
        ttft_s=ttft_s,
        e2e_s=e2e_s,
        gaps_s=response.itl_s,
        input_tokens=response.usage.input_tokens,
        output_tokens=response.usage.output_tokens,
        sent_at=sent_at,
        done_at=done_at,
        lag_s=lag,
    )


def _summarize(
    concurrency: int,
    samples: list[_Sample],
    seconds: float,
    slo: Slo,
    target_rate: float | None = None,
) -> LevelResult:
    """`seconds` is the level's wall time. Rates are achieved ones: completions over the time
    from the first send to the last answer (what the server itself saw), else over `seconds`."""
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
    sent = [s.sent_at for s in samples if s.sent_at is not None]
    done = [s.done_at for s in samples if s.done_at is not None]
    span = max(done) - min(sent) if sent and done else seconds
    return LevelResult(
        concurrency=concurrency,
        requests=len(samples),
        errors=errors,
        duration_s=seconds,
        requests_per_s=len(ok) / span if span > 0 else 0.0,
        output_tokens_per_s=sum(outputs) / span if span > 0 else 0.0,
        ttft_ms=ttft_ms,
        e2e_ms=e2e_ms,
        itl_ms=percentiles_ms(gaps),
        mean_input_tokens=statistics.fmean(inputs) if inputs else None,
        mean_output_tokens=statistics.fmean(outputs) if outputs else None,
        meets_slo=not problems,
        verdict="; ".join(problems) or "meets the SLO",
        first_error=next((s.error for s in samples if s.error), None),
        target_rate=target_rate,
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

    by_rate = options.profile == "rate"
    unit = "rate" if by_rate else "concurrency"

    async def measure(value: float) -> LevelResult:
        nonlocal offset
        budget = options.budget(value)
        if by_rate:
            level = await run_rate_level(
                provider,
                prompts,
                params,
                value,
                slo,
                requests=budget,
                max_seconds=options.max_seconds_per_level,
                offset=offset,
                seed=options.seed + offset,
                max_in_flight=options.max_in_flight,
            )
        else:
            level = await run_level(
                provider,
                prompts,
                params,
                int(value),
                slo,
                requests=budget,
                max_seconds=options.max_seconds_per_level,
                offset=offset,
            )
        offset += level.requests
        if on_level is not None:
            on_level(level)
        return level

    results: dict[float, LevelResult] = {}
    passed: float | None = None
    failed: float | None = None
    stop_reason = f"every level up to {unit} {max(options.levels):g} met the SLO"
    for value in sorted(set(options.levels)):
        level = await measure(value)
        results[value] = level
        if level.client_limited:  # what lies beyond is the client's limit, not the endpoint's
            failed = value
            stop_reason = f"{unit} {value:g} is {level.verdict}"
            break
        if not level.meets_slo:
            failed = value
            stop_reason = f"{unit} {value:g} missed the SLO: {level.verdict}"
            break
        # More concurrency for under 10% more throughput: the server is saturated (a batching
        # server gains far more when it has room), and more would only queue. (An open loop
        # shows saturation as a shortfall against the offered rate instead.)
        previous = results[passed].requests_per_s if passed is not None else None
        if not by_rate and previous is not None and level.requests_per_s < previous * 1.10:
            stop_reason = f"saturated: concurrency {value:g} served no more than {passed:g}"
            passed = max(passed, value, key=lambda c: results[c].requests_per_s)
            break
        passed = value
    if passed is not None and failed is not None:
        for _ in range(options.bisect_steps):
            middle = _between(passed, failed, by_rate)
            if middle is None:
                break
            level = await measure(middle)
            results[middle] = level
            if level.meets_slo:
                passed = middle
            else:
                failed = middle
    return [results[value] for value in sorted(results)], stop_reason


def _between(low: float, high: float, by_rate: bool) -> float | None:
    """The next level to try between a pass and a failure; None when they are close enough."""
    if by_rate:
        return None if high / low < 1.1 else float(f"{(low + high) / 2:.3g}")
    middle = int(low + high) // 2
    return None if middle in (low, high) else middle
