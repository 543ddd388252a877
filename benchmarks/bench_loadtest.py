"""How many requests/s the load generator itself can drive: the ceiling of what it can measure.

Starts llmpick's mock server in a separate process answering instantly (16 streamed tokens per
answer), then runs one load-test level at each concurrency through `llmpick.loadtest.run_level`
(the provider layer with per-request timing) and, for comparison, a bare aiohttp loop sending the
same requests. An endpoint faster than the generator's rate cannot be measured on this machine;
the ratio shows what llmpick's timing and bookkeeping cost.

    .venv/bin/python benchmarks/bench_loadtest.py          # --requests 2000 --levels 8,32,64

Pass criterion printed at the end: at every level the generator reaches at least 70% of the
bare loop's requests/s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

import aiohttp

from llmpick.loadtest import Slo, run_level
from llmpick.providers import GenerateParams, Message, create_provider
from llmpick.testing import mock_server_process


async def _generator(base_url: str, requests: int, concurrency: int) -> float:
    config = {"kind": "openai", "base_url": base_url, "model": "mock", "max_retries": 0,
              "adaptive_concurrency": False, "max_concurrency": concurrency}  # fmt: skip
    prompts = [[Message("user", f"question {i}")] for i in range(64)]
    async with create_provider(config) as provider:
        level = await run_level(
            provider, prompts, GenerateParams(max_tokens=16), concurrency, Slo(),
            requests=requests, max_seconds=600,
        )  # fmt: skip
    assert level.errors == 0, level.first_error
    return level.requests_per_s


async def _bare(base_url: str, requests: int, concurrency: int) -> float:
    # Not bench_runner's floor, which builds every body before the clock starts: the load
    # generator builds each request as it sends it, and so does this loop.
    url = base_url + "/chat/completions"
    sent = 0
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:

        async def worker() -> None:
            nonlocal sent
            while sent < requests:
                message = {"role": "user", "content": f"question {sent % 64}"}
                body = {"model": "mock", "max_tokens": 16, "stream": True, "messages": [message]}
                sent += 1
                async with session.post(url, json=body) as response:
                    async for raw in response.content:
                        line = raw.strip()
                        if line.startswith(b"data: ") and line != b"data: [DONE]":
                            json.loads(line[6:])

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return requests / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="Requests per level.")
    parser.add_argument("--levels", default="8,32,64", help="Concurrency levels.")
    args = parser.parse_args()
    levels = [int(x) for x in args.levels.split(",")]
    rows = []
    with mock_server_process("--tokens", "16") as server:
        base_url = server.url + "/v1"
        asyncio.run(_bare(base_url, 200, 8))  # warm the server
        for concurrency in levels:
            generator = asyncio.run(_generator(base_url, args.requests, concurrency))
            bare = asyncio.run(_bare(base_url, args.requests, concurrency))
            rows.append((concurrency, generator, bare))
    print(f"{args.requests} requests per level, 16 streamed tokens each, instant server")
    print("  concurrency   llmpick load generator   bare aiohttp loop   ratio")
    for concurrency, generator, bare in rows:
        print(
            f"  {concurrency:>11}   {generator:15.0f} req/s   {bare:11.0f} req/s   "
            f"{generator / bare:5.0%}"
        )
    worst = min(generator / bare for _, generator, bare in rows)
    print(f"worst ratio {worst:.0%} (need >= 70%): {'PASS' if worst >= 0.7 else 'FAIL'}")


if __name__ == "__main__":
    main()
