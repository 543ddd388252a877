"""Retries, timeouts, cut and malformed streams and adaptive concurrency, through a real
fault-injecting proxy in front of the real mock server."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator

import pytest

from llmpick.providers import (
    Message,
    ProviderConnectionError,
    ProviderError,
    ProviderTimeoutError,
    RateLimitError,
    ServerError,
    StreamError,
    create_provider,
)
from llmpick.providers._http import EndpointLimiter, parse_retry_after
from llmpick.testing import (
    FAULTS,
    FaultConfig,
    MockServerConfig,
    ServerThread,
    create_fault_proxy_app,
    create_mock_app,
)

HI = [Message("user", "hello")]


@pytest.fixture(scope="module")
def upstream() -> Iterator[str]:
    with ServerThread(create_mock_app(MockServerConfig(itl_ms=1, tokens=8))) as server:
        yield server.url


def _proxy(upstream: str, **faults: object) -> ServerThread:
    return ServerThread(create_fault_proxy_app(FaultConfig(upstream=upstream, **faults)))  # type: ignore[arg-type]


def _provider(url: str, **kw: object):  # type: ignore[no-untyped-def]
    settings = {
        "kind": "openai",
        "model": "m",
        "base_url": url + "/v1",
        "backoff_initial_s": 0.01,
        "backoff_max_s": 0.05,
        **kw,
    }
    return create_provider(settings)


async def test_429_is_retried_after_retry_after(upstream: str) -> None:
    with _proxy(upstream, script=["429", "429", "ok"], retry_after_s=0.05) as proxy:
        async with _provider(proxy.url) as p:
            r = await p.generate(HI)
        assert r.text.startswith("alpha")
        assert proxy.app[FAULTS] == {"429": 2, "ok": 1}


async def test_retries_spent_raise_the_typed_error(upstream: str) -> None:
    with _proxy(upstream, script=["500", "500", "500"]) as proxy:
        async with _provider(proxy.url, max_retries=2) as p:
            with pytest.raises(ServerError) as info:
                await p.generate(HI)
    assert info.value.status == 500 and "injected" in str(info.value)


async def test_rate_limit_error_carries_retry_after(upstream: str) -> None:
    with _proxy(upstream, script=["429"], retry_after_s=7) as proxy:
        async with _provider(proxy.url, max_retries=0) as p:
            with pytest.raises(RateLimitError) as info:
                await p.generate(HI)
    assert info.value.retry_after_s == 7


async def test_cut_stream_shown_to_the_caller_keeps_partial_text(upstream: str) -> None:
    shown: list[str] = []
    with _proxy(upstream, script=["cut"], after_events=4) as proxy:
        async with _provider(proxy.url) as p:
            with pytest.raises(StreamError) as info:
                await p.generate(HI, on_text=shown.append)
    assert info.value.partial_text == "alpha bravo charlie" == "".join(shown)


async def test_cut_stream_not_yet_shown_is_retried(upstream: str) -> None:
    with _proxy(upstream, script=["cut", "ok"]) as proxy:
        async with _provider(proxy.url) as p:
            r = await p.generate(HI)
    assert r.usage.output_tokens == 8


async def test_malformed_event_is_a_stream_error(upstream: str) -> None:
    with _proxy(upstream, script=["malformed"]) as proxy:
        async with _provider(proxy.url, max_retries=0) as p:
            with pytest.raises(StreamError, match="malformed") as info:
                await p.generate(HI)
    assert info.value.partial_text.startswith("alpha")


async def test_stall_hits_the_read_timeout(upstream: str) -> None:
    with _proxy(upstream, script=["stall"], stall_s=5) as proxy:
        async with _provider(proxy.url, max_retries=0, idle_timeout_s=0.3) as p:
            with pytest.raises(ProviderTimeoutError) as info:
                await p.generate(HI)
    assert info.value.partial_text.startswith("alpha")


async def test_nothing_listening_is_a_connection_error() -> None:
    async with _provider("http://127.0.0.1:9", max_retries=1) as p:
        with pytest.raises(ProviderConnectionError, match="cannot reach"):
            await p.generate(HI)


async def test_twenty_percent_faults_end_in_success_or_typed_error(upstream: str) -> None:
    faults = {
        "rate_429": 0.08,
        "rate_500": 0.08,
        "rate_cut": 0.02,
        "rate_malformed": 0.02,
        "seed": 7,
        "retry_after_s": 0.01,
    }
    with _proxy(upstream, **faults) as proxy:
        async with _provider(proxy.url, max_retries=3, max_concurrency=16) as p:

            async def one() -> str:
                try:
                    await p.generate(HI)
                except ProviderError as exc:
                    return type(exc).__name__
                return "ok"

            outcomes = Counter(
                await asyncio.wait_for(asyncio.gather(*(one() for _ in range(150))), timeout=60)
            )
        injected = sum(n for k, n in proxy.app[FAULTS].items() if k != "ok")
    assert injected >= 20
    assert set(outcomes) <= {"ok", "ServerError", "RateLimitError", "StreamError"}
    assert outcomes["ok"] >= 140


def test_adaptive_concurrency_halves_on_429_and_grows_on_success() -> None:
    limiter = EndpointLimiter(max_concurrency=32)
    assert limiter.limit == 4
    for _ in range(4):
        limiter.record(None)  # slow start: +1 per success
    assert limiter.limit == 8
    limiter.record(RateLimitError("x"))
    assert limiter.limit == 4
    limiter.record(None)  # additive increase after the first 429
    assert limiter.limit == pytest.approx(4.25)
    for _ in range(10):
        limiter.record(RateLimitError("x"))
    assert limiter.limit == 1


async def test_concurrency_limit_is_enforced() -> None:
    limiter = EndpointLimiter(max_concurrency=2, adaptive=False)
    peak = active = 0

    async def job() -> None:
        nonlocal peak, active
        await limiter.acquire()
        active += 1
        peak = max(peak, active)
        await asyncio.sleep(0.005)
        active -= 1
        limiter.release()

    await asyncio.gather(*(job() for _ in range(10)))
    assert peak == 2


async def test_requests_per_minute_bucket_makes_callers_wait() -> None:
    limiter = EndpointLimiter(max_concurrency=8, adaptive=False, requests_per_minute=120)
    done = 0

    async def job() -> None:
        nonlocal done
        await limiter.acquire()
        limiter.release()
        done += 1

    tasks = [asyncio.create_task(job()) for _ in range(22)]
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert done == 20  # the bucket holds ten seconds' worth; the rest wait for refills
    await asyncio.gather(*tasks)
    assert done == 22


def test_parse_retry_after_forms() -> None:
    assert parse_retry_after({"Retry-After": "3"}) == 3
    assert parse_retry_after({"retry-after-ms": "250"}) == 0.25
    assert parse_retry_after({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0
    assert parse_retry_after({}) is None
