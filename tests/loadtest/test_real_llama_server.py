"""The load test against a real serving endpoint: llama.cpp's own server with SmolLM2.

That server generates one sequence at a time, so its capacity is whatever one request at a time
gives: doubling the concurrency only makes requests queue. The sweep must see that and stop.
"""

from __future__ import annotations

import importlib.util

import pytest

from llmpick.loadtest import Slo, SweepOptions, sweep
from llmpick.providers import GenerateParams, Message, create_provider
from llmpick.testing import LlamaCppServer

pytestmark = [
    pytest.mark.local_model,
    pytest.mark.skipif(
        importlib.util.find_spec("llama_cpp.server") is None, reason="needs llama_cpp.server"
    ),
]


async def test_a_one_sequence_server_saturates_at_concurrency_one() -> None:
    prompts = [[Message("user", f"Name a colour, then a fruit. ({i})")] for i in range(8)]
    with LlamaCppServer("local/smollm2-135m-instruct") as server:
        provider = create_provider(
            {
                "kind": "openai",
                "base_url": server.url,
                "model": "smollm2",
                "max_retries": 0,
                "adaptive_concurrency": False,
                "max_concurrency": 4,
                "tokenizer": "local/smollm2-135m-instruct",
            }
        )
        try:
            levels, reason = await sweep(
                provider,
                prompts,
                GenerateParams(max_tokens=8),
                Slo(),
                SweepOptions(levels=(1, 2, 4), requests_per_level=12),
            )
        finally:
            await provider.aclose()
    assert [level.concurrency for level in levels] == [1, 2]
    assert reason.startswith("saturated: concurrency 2 served no more than 1")
    one, two = levels
    assert one.errors == two.errors == 0 and one.requests_per_s > 0
    # Queued behind each other: at concurrency 2 a request waits about one request's time.
    assert two.ttft_ms["p50"] > one.ttft_ms["p50"]  # type: ignore[operator]
