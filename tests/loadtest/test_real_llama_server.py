"""The load test against a real serving endpoint: llama.cpp's own server with SmolLM2.

That server generates one sequence at a time, so its capacity is about what one request at a time
gives: more in flight only fills the short gaps between requests, then makes them queue. The
sweep must see that and stop.
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


async def test_a_one_sequence_server_is_found_saturated() -> None:
    prompts = [[Message("user", f"Name a colour, then a fruit. ({i})")] for i in range(8)]
    with LlamaCppServer("local/smollm2-135m-instruct") as server:
        config = {
            "kind": "openai",
            "base_url": server.url,
            "model": "smollm2",
            "max_retries": 0,
            "adaptive_concurrency": False,
            "max_concurrency": 4,
            "tokenizer": "local/smollm2-135m-instruct",
        }
        async with create_provider(config) as provider:
            levels, reason = await sweep(
                provider,
                prompts,
                GenerateParams(max_tokens=24),
                Slo(),
                SweepOptions(levels=(1, 2, 4, 8), requests_per_level=12),
            )
    assert reason.startswith("saturated")
    assert [level.concurrency for level in levels] in ([1, 2], [1, 2, 4])  # stopped early
    one, last = levels[0], levels[-1]
    assert all(level.errors == 0 for level in levels) and one.requests_per_s > 0
    # Throughput stays flat (the gaps between requests are all a second one can fill) ...
    assert max(level.requests_per_s for level in levels) < 1.3 * one.requests_per_s
    # ... while requests wait for each other: the first token comes later.
    assert last.ttft_ms["p50"] > one.ttft_ms["p50"]  # type: ignore[operator]
