"""The bundled SmolLM2 served in-process: streaming usage is exact, concurrent requests queue."""

from __future__ import annotations

import asyncio
import importlib.util
from pathlib import Path

import aiohttp
import pytest

from .conftest import chat, gateway, stream_text

pytestmark = [
    pytest.mark.local_model,
    pytest.mark.skipif(
        importlib.util.find_spec("llama_cpp") is None, reason="needs the `local` extra"
    ),
]

CONFIG = """\
backends:
  - name: smol
    local: {model: local/smollm2-135m-instruct, n_threads: 2, n_ctx: 1024}
    first_token_timeout_s: 600   # requests queue for the one model: waiting is not a stall
    price: {input_usd_per_mtok: 0.01, output_usd_per_mtok: 0.02}   # our own hardware's cost
routes:
  - {model: chat, primary: smol}
"""


async def test_a_bundled_model_streams_with_usage_and_queues_concurrent_requests(
    db: Path,
) -> None:
    with gateway(CONFIG, db) as gw:
        async with aiohttp.ClientSession() as s:
            async with s.get(gw + "/ready") as r:
                assert r.status == 200  # loaded before the first request
            status, whole = await chat(
                gw, "What is the capital of France?", max_tokens=4, session=s
            )
            assert status == 200
            answer = whole["choices"][0]["message"]["content"]
            assert answer
            results = await asyncio.gather(
                *(
                    chat(
                        gw,
                        "What is the capital of France?",
                        stream=True,
                        usage=True,
                        max_tokens=4,
                        session=s,
                    )
                    for _ in range(3)
                )
            )
    for status, events in results:
        assert status == 200
        assert events[-1] == "[DONE]"
        assert stream_text(events) == answer  # greedy, one at a time: the same answer
        assert events[-2]["choices"] == []
        usage = events[-2]["usage"]
        assert usage["prompt_tokens"] > 5
        assert 0 < usage["completion_tokens"] <= 4
