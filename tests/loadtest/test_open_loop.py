"""Open-loop levels report what was achieved, checked against the server's own request log.

The mock logs every request on its own clock (arrival, answer), so the server's count over its
own time span is the truth a level's requests/s must match. A one-slot server answering in 20 ms
serves at most 50 requests/s whatever is offered; a client asked for a million requests/s cannot
send them and must say so instead of reporting a capacity.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from llmpick.loadtest import LevelResult, LoadTestResult, Slo, SweepOptions, run_rate_level, sweep
from llmpick.providers import GenerateParams, Message, Provider, create_provider
from llmpick.testing import MockServerConfig, ServerThread, create_mock_app
from llmpick.testing.mock_server import REQUEST_LOG, ServedRequest, served_rate

PROMPTS = [[Message("user", f"question {i}")] for i in range(10)]
PARAMS = GenerateParams(max_tokens=2)


@dataclass
class Served:
    url: str
    log: list[ServedRequest]


def _serve(config: MockServerConfig) -> Iterator[Served]:
    app = create_mock_app(config)
    with ServerThread(app) as server:
        yield Served(f"{server.url}/v1", app[REQUEST_LOG])


@pytest.fixture
def fast_server() -> Iterator[Served]:
    yield from _serve(MockServerConfig(ttft_ms=2, itl_ms=1, tokens=2, precise=False))


@pytest.fixture
def one_slot_server() -> Iterator[Served]:
    yield from _serve(MockServerConfig(ttft_ms=20, tokens=1, slots=1, precise=False))


def _provider(base_url: str) -> Provider:
    return create_provider(
        {
            "kind": "openai",
            "base_url": base_url,
            "model": "mock",
            "max_retries": 0,
            "adaptive_concurrency": False,
            "max_concurrency": 4096,
        }
    )


async def _level(served: Served, rate: float, requests: int) -> LevelResult:
    served.log.clear()
    async with _provider(served.url) as provider:
        level = await run_rate_level(
            provider, PROMPTS, PARAMS, rate, Slo(), requests=requests, max_seconds=60
        )
    # The mock logs a request when its handler returns, which can come just after the client
    # read the stream's last byte (1 of 40 missing on a slow CI run): let the log catch up.
    deadline = time.monotonic() + 5
    while len(served.log) < level.requests and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    return level


@pytest.mark.parametrize(("rate", "requests"), [(40, 40), (150, 150)])
async def test_the_achieved_rate_is_the_servers_own_count(
    fast_server: Served, rate: float, requests: int
) -> None:
    level = await _level(fast_server, rate, requests)
    count, span, server_rate = served_rate(fast_server.log)
    assert count == requests == level.requests - level.errors
    assert level.requests_per_s == pytest.approx(server_rate, rel=0.02), (
        f"client {level.requests_per_s:.2f}/s vs server {count} in {span:.3f} s"
    )
    assert level.target_rate == rate and level.sent_rate is not None
    assert level.send_lag_ms is not None and level.send_lag_ms["p50"] is not None


async def test_a_server_that_falls_behind_is_reported_at_what_it_served(
    one_slot_server: Served,
) -> None:
    # 60 arrivals offered at 200/s land in about 0.3 s; one slot of 20 ms serves 50/s, so they
    # take about 1.2 s to answer and the last waits about 0.9 s after its scheduled arrival.
    level = await _level(one_slot_server, 200, 60)
    count, _, server_rate = served_rate(one_slot_server.log)
    assert count == 60
    assert level.requests_per_s == pytest.approx(server_rate, rel=0.02)
    assert level.requests_per_s < 60  # not the 200 offered
    # Latency counts from each request's scheduled arrival: the queue is in it.
    assert level.e2e_ms["p95"] is not None and level.e2e_ms["p95"] > 500


async def test_an_offer_beyond_what_the_client_can_send_is_client_limited(
    fast_server: Served,
) -> None:
    level = await _level(fast_server, 1_000_000, 600)
    assert level.client_limited and not level.meets_slo
    assert level.verdict.startswith("client-limited: sent ")
    assert level.sent_rate is not None and level.sent_rate < 0.95 * 1_000_000
    # Still reported at what was achieved, never the million offered. A saturated client reads
    # its answers late, so its clock may trail the server's by more than the 2% a level it can
    # keep up with holds to: one more reason the level is flagged and never taken as capacity.
    assert level.requests_per_s == pytest.approx(served_rate(fast_server.log)[2], rel=0.15)


async def test_a_client_limited_level_stops_the_sweep_and_is_never_the_capacity(
    fast_server: Served,
) -> None:
    async with _provider(fast_server.url) as provider:
        levels, reason = await sweep(
            provider,
            PROMPTS,
            PARAMS,
            Slo(),
            SweepOptions(
                levels=(50, 1_000_000),
                profile="rate",
                requests_per_level=60,
                max_seconds_per_level=2,
                bisect_steps=0,
                warmup_requests=0,
            ),
        )
    limited = levels[-1]
    assert limited.target_rate == 1_000_000 and limited.client_limited
    assert reason.startswith("rate 1e+06 is client-limited")
    result = LoadTestResult(
        id="lt-x",
        created_at="2026-12-02T00:00:00+00:00",
        spec_name="s",
        candidate="c",
        endpoint=fast_server.url,
        model="mock",
        slo=Slo(),
        workload={},
        levels=levels,
        stop_reason=reason,
    )
    assert result.best is not limited
    # A stored level written before these fields existed still loads.
    old = {k: v for k, v in limited.to_dict().items() if k not in ("sent_rate", "send_lag_ms")}
    del old["client_limited"]
    assert LevelResult.from_dict(old).client_limited is False
