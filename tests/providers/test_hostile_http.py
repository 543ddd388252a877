"""What a hostile tester found in the HTTP connection (issue 18), each against real servers on
loopback: a huge `Retry-After`, stalled and silent servers, a page where a stream was asked for,
a base URL with a query string, and counting the attempts a call made."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import pytest
from aiohttp import web

from llmpick import _redact
from llmpick.providers import (
    GenerateParams,
    Message,
    ProviderConnectionError,
    ProviderSetupError,
    ProviderTimeoutError,
    RateLimitError,
    ServerError,
    UnexpectedResponseError,
    create_provider,
    redact_url,
)
from llmpick.providers._http import HttpProviderConfig, parse_retry_after
from llmpick.testing import (
    FAULTS,
    STATS,
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


@pytest.fixture(scope="module")
def silent() -> Iterator[str]:
    """A server that takes 30 s before its first token: as good as never, for these tests."""
    with ServerThread(create_mock_app(MockServerConfig(ttft_ms=30_000, precise=False))) as server:
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


# Retry-After -------------------------------------------------------------------------------


async def test_retry_after_of_an_hour_is_capped_for_every_caller(upstream: str) -> None:
    # Before: the endpoint's shared pause took the server's 3600 s as asked, freezing the run.
    with _proxy(upstream, script=["429", "ok", "ok"], retry_after_s=3600) as proxy:
        async with _provider(proxy.url) as p:
            first, second = await asyncio.wait_for(
                asyncio.gather(p.generate(HI), p.generate(HI)), timeout=30
            )
    assert first.text.startswith("alpha") and second.text.startswith("alpha")
    assert first.attempts + second.attempts == 3


@pytest.mark.parametrize(("header", "asked"), [(3600, "3600 s"), (float("inf"), "indefinitely")])
async def test_the_vendors_ask_is_reported(upstream: str, header: float, asked: str) -> None:
    with _proxy(upstream, script=["429"], retry_after_s=header) as proxy:
        async with _provider(proxy.url, max_retries=0) as p:
            with pytest.raises(RateLimitError) as info:
                await asyncio.wait_for(p.generate(HI), timeout=30)
    assert f"the server asked to wait {asked}" in str(info.value)
    assert "at most 0.05 s" in str(info.value) and info.value.retry_after_s == header


def test_garbage_retry_after_is_no_ask() -> None:
    assert parse_retry_after({"Retry-After": "soon"}) is None
    assert parse_retry_after({"Retry-After": "nan"}) is None
    assert parse_retry_after({"Retry-After": "-5"}) == 0
    assert parse_retry_after({"Retry-After": "1e400"}) == float("inf")
    assert parse_retry_after({"retry-after-ms": "junk", "Retry-After": "2"}) == 2


# Timeouts ----------------------------------------------------------------------------------


async def test_silent_server_hits_the_first_token_timeout_and_frees_the_slot(silent: str) -> None:
    # One slot, three callers, a server that never starts answering: each caller must get its
    # first-token timeout in turn, not wait behind the others' total timeouts.
    async with _provider(
        silent, max_retries=0, max_concurrency=1, adaptive_concurrency=False,
        first_token_timeout_s=0.3,
    ) as p:  # fmt: skip
        outcomes = await asyncio.wait_for(
            asyncio.gather(*(p.generate(HI) for _ in range(3)), return_exceptions=True),
            timeout=20,
        )
    assert all(isinstance(o, ProviderTimeoutError) for o in outcomes)
    assert "first-token timeout" in str(outcomes[0])


async def test_stall_mid_answer_hits_the_idle_timeout(upstream: str) -> None:
    with _proxy(upstream, script=["stall"], stall_s=30) as proxy:
        async with _provider(proxy.url, max_retries=0, idle_timeout_s=0.3) as p:
            with pytest.raises(ProviderTimeoutError, match="idle timeout") as info:
                await asyncio.wait_for(p.generate(HI), timeout=20)
    assert info.value.partial_text.startswith("alpha")


async def test_total_timeout_bounds_an_attempt(silent: str) -> None:
    async with _provider(silent, max_retries=0, total_timeout_s=0.3) as p:
        with pytest.raises(ProviderTimeoutError, match="total timeout"):
            await asyncio.wait_for(p.generate(HI), timeout=20)


def test_spec_endpoint_timeouts_reach_the_provider(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from llmpick.providers import candidate_provider_config
    from llmpick.spec import Endpoint

    endpoint = Endpoint(
        base_url="http://127.0.0.1:9/v1", model="m", first_token_timeout_s=5, idle_timeout_s=2
    )

    class Candidate:  # the attributes candidate_provider_config reads from a spec candidate
        max_concurrency = None
        prompt_mode = None

    candidate = Candidate()
    candidate.endpoint = endpoint  # type: ignore[attr-defined]
    config = candidate_provider_config(candidate)
    assert isinstance(config, HttpProviderConfig)
    assert (config.first_token_timeout_s, config.idle_timeout_s) == (5, 2)
    # The spec's defaults are the providers' defaults.
    defaults = HttpProviderConfig(kind="openai", model="m", base_url="http://x")
    for name in ("connect_timeout_s", "first_token_timeout_s", "idle_timeout_s", "total_timeout_s"):
        assert Endpoint.model_fields[name].default == getattr(defaults, name), name
    with pytest.raises(ValueError, match="read_timeout_s"):
        Endpoint(base_url="http://x", model="m", read_timeout_s=3)  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="total_timeout_s"):
        Endpoint(base_url="http://x", model="m", total_timeout_s=float("inf"))


# Not a stream ------------------------------------------------------------------------------


async def _page(request: web.Request) -> web.Response:
    return web.Response(
        text="<html><body>Sign in to continue</body></html>", content_type="text/html"
    )


async def _status_json(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok", "version": "1.2"})


async def _plain(request: web.Request) -> web.Response:
    return web.Response(text="hello from a web server\n", content_type="text/plain")


async def _whole_answer(request: web.Request) -> web.Response:
    # A server that ignores `stream: true` and answers with the whole completion.
    body = {
        "model": "m",
        "choices": [{"index": 0, "message": {"content": "whole"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 1},
    }
    return web.json_response(body)


@pytest.fixture(scope="module")
def odd_servers() -> Iterator[str]:
    app = web.Application()
    for name, handler in (
        ("html", _page),
        ("json", _status_json),
        ("plain", _plain),
        ("whole", _whole_answer),
    ):
        app.router.add_post(f"/{name}/v1/chat/completions", handler)
    with ServerThread(app) as server:
        yield server.url


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("html", "the server answered text/html, not an event stream: '<html><body>Sign in"),
        ("json", 'the server answered application/json, not an event stream: \'{"status"'),
        ("plain", "the server answered text/plain, not an event stream: 'hello from"),
    ],
)
async def test_a_page_for_a_stream_is_reported_as_what_it_is(
    odd_servers: str, name: str, says: str
) -> None:
    async with _provider(f"{odd_servers}/{name}", max_retries=3) as p:
        with pytest.raises(UnexpectedResponseError) as info:
            await p.generate(HI)
    assert says in str(info.value) and "cut off" not in str(info.value)
    assert info.value.attempts == 1  # asking again gets the same page


async def test_a_page_for_a_whole_answer_is_reported_too(odd_servers: str) -> None:
    async with _provider(f"{odd_servers}/html", max_retries=3) as p:
        with pytest.raises(UnexpectedResponseError, match="text/html, not a JSON answer"):
            await p.generate(HI, GenerateParams(stream=False))


async def test_a_whole_answer_to_a_stream_request_is_taken(odd_servers: str) -> None:
    shown: list[str] = []
    async with _provider(f"{odd_servers}/whole") as p:
        r = await p.generate(HI, on_text=shown.append)
    assert r.text == "whole" == "".join(shown) and r.usage.source == "server"


# A base URL with a query string -------------------------------------------------------------


async def test_base_url_query_is_kept_apart_from_the_path(upstream: str) -> None:
    # Before: the request went to /v1?key=K/chat/completions (the mock's 404).
    mock = create_mock_app(MockServerConfig(tokens=3))
    with ServerThread(mock) as server:
        async with create_provider(
            {"kind": "openai", "model": "m", "base_url": f"{server.url}/v1?key=K&x=1"}
        ) as p:
            r = await p.generate(HI)
    assert r.text == "alpha bravo charlie" and mock[STATS]["requests"] == 1


def test_redact_url_hides_every_kind_of_secret() -> None:
    cases = {
        "https://u:pw@host/v1?key=K1&alt=sse": "https://u:***@host/v1?key=***&alt=sse",
        "https://h/v1?api_key=A&access_token=T&sig=S": "https://h/v1?api_key=***&access_token=***&sig=***",
        "https://h/x?X-Goog-Signature=abc&token=t&model=m": "https://h/x?X-Goog-Signature=***&token=***&model=m",
        "https://h/x?client_secret=c&apiKey=k": "https://h/x?client_secret=***&apiKey=***",
        "http://127.0.0.1:8000/v1": "http://127.0.0.1:8000/v1",
        "not a url": "not a url",
    }
    for url, shown in cases.items():
        assert redact_url(url) == shown, url
    assert _redact.url_secrets("https://u:p%40ss@h/?key=a%2Bb") == [
        "p%40ss",
        "a%2Bb",
        "p@ss",
        "a+b",
    ]
    text = "failed: https://h/v1?key=SECRET1 and http://u:pw@h2/"
    assert _redact.redact_urls_in(text) == "failed: https://h/v1?key=*** and http://u:***@h2/"


async def test_key_in_the_base_url_stays_out_of_errors_and_reprs() -> None:
    secret = "url-secret-77e1c0"
    provider = create_provider(
        {
            "kind": "openai",
            "model": "m",
            "base_url": f"http://127.0.0.1:9/v1?key={secret}",
            "max_retries": 0,
        }
    )
    async with provider:
        with pytest.raises(ProviderConnectionError) as info:
            await provider.generate(HI)
    outputs = [str(info.value), repr(provider), repr(provider.config), provider.shown_url]
    assert "key=***" in str(info.value)
    for text in outputs:
        assert secret not in text


# Attempts -----------------------------------------------------------------------------------


async def test_each_http_attempt_is_counted(upstream: str) -> None:
    with _proxy(upstream, script=["500", "500", "ok", "500", "500", "500"]) as proxy:
        async with _provider(proxy.url, max_retries=2) as p:
            response = await p.generate(HI)
            with pytest.raises(ServerError) as info:
                await p.generate(HI)
        sent = sum(proxy.app[FAULTS].values())
    assert response.attempts == 3 and info.value.attempts == 3 and sent == 6


async def test_a_call_that_sent_nothing_counts_no_attempt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_SUCH_KEY_VAR", raising=False)
    async with _provider("http://127.0.0.1:9", api_key_env="NO_SUCH_KEY_VAR") as p:
        with pytest.raises(ProviderSetupError) as info:
            await p.generate(HI)
    assert info.value.attempts == 0


def test_json_dump_of_config_round_trips_the_real_url() -> None:
    # Only what is shown is redacted: the config itself must still reach the right server.
    config = HttpProviderConfig(kind="openai", model="m", base_url="http://h/v1?key=K")
    assert json.loads(config.model_dump_json())["base_url"] == "http://h/v1?key=K"
