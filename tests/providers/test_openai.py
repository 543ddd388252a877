"""The `openai` adapter against our configurable OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

import statistics
from collections.abc import Iterator

import pytest

from llmpick.providers import (
    ContextOverflowError,
    GenerateParams,
    Message,
    ModelNotFoundError,
    create_provider,
)
from llmpick.testing import MockServerConfig, ServerThread, create_mock_app

HI = [Message("system", "Be brief."), Message("user", "hello there, server")]


@pytest.fixture(scope="module")
def mock_url() -> Iterator[str]:
    config = MockServerConfig(
        ttft_ms=20, itl_ms=4, tokens=8, models=["mock-a", "mock-b"], context_window=512
    )
    with ServerThread(create_mock_app(config)) as server:
        yield server.url + "/v1"


def _provider(url: str, **kw: object):  # type: ignore[no-untyped-def]
    return create_provider({"kind": "openai", "model": "mock-a", "base_url": url, **kw})


async def test_chat_stream_with_server_usage(mock_url: str) -> None:
    pieces: list[str] = []
    async with _provider(mock_url) as p:
        r = await p.generate(HI, GenerateParams(max_tokens=50), on_text=pieces.append)
    assert r.text == "alpha bravo charlie delta echo foxtrot golf hotel"
    assert pieces[0] == "alpha" and len(pieces) == 8  # the empty role chunk is not content
    assert r.finish_reason == "stop" and r.raw_finish_reason == "stop"
    assert r.usage.source == "server" and r.usage.output_tokens == 8
    assert r.model == "mock-a" and r.provider == "openai"
    assert len(r.timings.chunk_times) == 8 and r.timings.first_byte is not None


async def test_timings_never_precede_the_configured_delays(mock_url: str) -> None:
    async with _provider(mock_url) as p:
        rs = [await p.generate(HI) for _ in range(5)]
    assert min(r.ttft_s for r in rs) >= 0.020  # type: ignore[type-var]
    assert statistics.median(gap for r in rs for gap in r.itl_s) >= 0.0035
    assert all(r.tpot_s is not None for r in rs)


async def test_completions_mode_for_a_raw_prompt(mock_url: str) -> None:
    async with _provider(mock_url) as p:
        r = await p.generate("Q: 2+2?\nA:", GenerateParams(max_tokens=3))
    assert r.text == "alpha bravo charlie" and r.finish_reason == "length"


async def test_non_streaming_response(mock_url: str) -> None:
    async with _provider(mock_url) as p:
        r = await p.generate(HI, GenerateParams(max_tokens=2, stream=False))
    assert r.text == "alpha bravo" and r.usage.source == "server" and r.usage.output_tokens == 2


async def test_without_stream_usage_tokens_are_estimated(mock_url: str) -> None:
    async with _provider(mock_url, include_usage=False) as p:
        r = await p.generate(HI)
    assert r.usage.source == "estimate" and r.usage.output_tokens == 8


async def test_unknown_model_lists_what_the_server_offers(mock_url: str) -> None:
    async with create_provider({"kind": "openai", "model": "gpt-nope", "base_url": mock_url}) as p:
        with pytest.raises(ModelNotFoundError) as info:
            await p.generate(HI)
    assert info.value.available == ["mock-a", "mock-b"]
    assert "mock-a, mock-b" in str(info.value) and "gpt-nope" in str(info.value)


async def test_context_overflow_is_typed(mock_url: str) -> None:
    async with _provider(mock_url) as p:
        with pytest.raises(ContextOverflowError, match="maximum context length"):
            await p.generate("x" * 4000)


async def test_list_models(mock_url: str) -> None:
    async with _provider(mock_url) as p:
        assert await p.list_models() == ["mock-a", "mock-b"]
