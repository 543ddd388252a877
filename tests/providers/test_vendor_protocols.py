"""The `anthropic` and `gemini` adapters against local servers speaking the vendors' protocols."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from llmpick.providers import (
    AuthenticationError,
    ContentFilterError,
    ContextOverflowError,
    GenerateParams,
    Message,
    ModelNotFoundError,
    StreamError,
    create_provider,
)
from llmpick.testing import (
    ServerThread,
    VendorServerConfig,
    create_anthropic_app,
    create_gemini_app,
)

KEY = "vendor-test-key-123"
CHAT = [Message("system", "Be brief."), Message("user", "Say hello.")]
CONFIG = VendorServerConfig(
    api_key=KEY, models=["test-model", "other-model"], tokens=6, context_window=200
)


@pytest.fixture(scope="module")
def anthropic_url() -> Iterator[str]:
    with ServerThread(create_anthropic_app(CONFIG)) as server:
        yield server.url


@pytest.fixture(scope="module")
def gemini_url() -> Iterator[str]:
    with ServerThread(create_gemini_app(CONFIG)) as server:
        yield server.url + "/v1beta"


@pytest.fixture(autouse=True)
def _keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_VENDOR_KEY", KEY)
    monkeypatch.setenv("WRONG_VENDOR_KEY", "not-the-key")


def _make(kind: str, url: str, model: str = "test-model", env: str = "TEST_VENDOR_KEY"):  # type: ignore[no-untyped-def]
    return create_provider(
        {"kind": kind, "model": model, "base_url": url, "api_key_env": env, "max_retries": 0}
    )


@pytest.fixture(params=["anthropic", "gemini"])
def vendor(request: pytest.FixtureRequest, anthropic_url: str, gemini_url: str) -> tuple[str, str]:
    return request.param, anthropic_url if request.param == "anthropic" else gemini_url


async def test_stream_text_usage_and_finish(vendor: tuple[str, str]) -> None:
    pieces: list[str] = []
    async with _make(*vendor) as p:
        r = await p.generate(CHAT, GenerateParams(max_tokens=100), on_text=pieces.append)
    assert r.text == "alpha bravo charlie delta echo foxtrot" == "".join(pieces)
    assert r.finish_reason == "stop" and r.usage.source == "server"
    assert r.usage.output_tokens == 6 and r.usage.input_tokens > 0
    assert len(r.timings.chunk_times) == 6


async def test_max_tokens_is_length(vendor: tuple[str, str]) -> None:
    async with _make(*vendor) as p:
        r = await p.generate(CHAT, GenerateParams(max_tokens=2))
    assert r.text == "alpha bravo" and r.finish_reason == "length"
    assert r.usage.output_tokens == 2


async def test_non_streaming(vendor: tuple[str, str]) -> None:
    async with _make(*vendor) as p:
        r = await p.generate(CHAT, GenerateParams(max_tokens=3, stream=False))
    assert r.text == "alpha bravo charlie" and r.usage.output_tokens == 3


async def test_bad_key_is_an_authentication_error(vendor: tuple[str, str]) -> None:
    async with _make(*vendor, env="WRONG_VENDOR_KEY") as p:
        with pytest.raises(AuthenticationError, match="WRONG_VENDOR_KEY"):
            await p.generate(CHAT)


async def test_unknown_model(vendor: tuple[str, str]) -> None:
    async with _make(*vendor, model="nope") as p:
        with pytest.raises(ModelNotFoundError) as info:
            await p.generate(CHAT)
    assert info.value.available == ["other-model", "test-model"]
    assert "other-model, test-model" in str(info.value)


async def test_context_overflow(vendor: tuple[str, str]) -> None:
    async with _make(*vendor) as p:
        with pytest.raises(ContextOverflowError):
            await p.generate("word " * 400)


async def test_content_filter(vendor: tuple[str, str]) -> None:
    async with _make(*vendor) as p:
        with pytest.raises(ContentFilterError):
            await p.generate("something forbidden")


async def test_broken_stream_keeps_partial_text(vendor: tuple[str, str]) -> None:
    shown: list[str] = []
    async with _make(*vendor) as p:
        with pytest.raises(StreamError) as info:
            await p.generate("please overload", on_text=shown.append)
    assert info.value.partial_text == "alpha bravo charlie" == "".join(shown)


async def test_list_models(vendor: tuple[str, str]) -> None:
    async with _make(*vendor) as p:
        assert await p.list_models() == ["other-model", "test-model"]
