"""The `openai` adapter against llama-cpp-python's own OpenAI-compatible server (a subprocess).

That server sends no usage in streams, so counts come from the tokenizer fallback; and it needs
`--interrupt_requests false`, or a second request silently cuts off the first stream.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from llmpick.providers import GenerateParams, Message, create_provider
from llmpick.providers._tokens import load_token_counter
from llmpick.testing import LlamaCppServer

from .conftest import HAVE_LLAMA

pytestmark = [
    pytest.mark.local_model,
    pytest.mark.skipif(not HAVE_LLAMA, reason="needs the `local` extra"),
]

QUESTION = [Message("user", "Name a colour.")]
SMOLLM2 = "local/smollm2-135m-instruct"


@pytest.fixture(scope="module")
def llama_server() -> Iterator[str]:
    with LlamaCppServer(SMOLLM2) as server:
        yield server.url


def _provider(url: str, **kw: object):  # type: ignore[no-untyped-def]
    return create_provider({"kind": "openai", "model": "smollm2", "base_url": url, **kw})


async def test_stream_without_server_usage_uses_the_tokenizer(llama_server: str) -> None:
    params = GenerateParams(max_tokens=12)
    async with _provider(llama_server, tokenizer=SMOLLM2) as p:
        streamed = await p.generate(QUESTION, params)
        whole = await p.generate(QUESTION, GenerateParams(max_tokens=12, stream=False))
    assert streamed.usage.source == "tokenizer"
    assert whole.usage.source == "server"
    # The fallback counts the way the server does (compared on one answer, since the server's
    # prompt cache may change a temperature-0 answer between requests).
    count = load_token_counter(SMOLLM2)
    assert count(whole.text) == whole.usage.output_tokens
    assert streamed.usage.output_tokens == count(streamed.text)
    assert streamed.ttft_s is not None and len(streamed.timings.chunk_times) >= 2


async def test_without_a_tokenizer_counts_are_estimates(llama_server: str) -> None:
    async with _provider(llama_server) as p:
        r = await p.generate(QUESTION, GenerateParams(max_tokens=6))
    assert r.usage.source == "estimate" and r.usage.output_tokens >= 1


async def test_completions_endpoint(llama_server: str) -> None:
    async with _provider(llama_server) as p:
        r = await p.generate("The sky is", GenerateParams(max_tokens=4))
    assert r.text and r.finish_reason in ("stop", "length")


async def test_concurrent_requests_queue_and_all_finish(llama_server: str) -> None:
    async with _provider(llama_server) as p:
        results = await asyncio.gather(
            *(p.generate(QUESTION, GenerateParams(max_tokens=6)) for _ in range(3))
        )
    assert all(r.finish_reason in ("stop", "length") for r in results)
