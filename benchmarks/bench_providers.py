"""Benchmarks of the providers layer: speed kept, timing accuracy, per-request overhead.

1. In-process generation: tokens/s of the `llamacpp` adapter against a bare llama-cpp-python
   streaming loop on the same model file, prompt and settings (target: adapter >= 95%).
   Runs alternate A/B so background load hits both alike; medians are compared.
2. Timing accuracy: the `openai` adapter against the mock server with a fixed TTFT and
   inter-token delay; the median error of TTFT and ITL (target: within 2 ms).
3. Per-request overhead of the `openai` adapter against a fast local server (the mock in a
   subprocess, no delays), compared with a bare aiohttp loop and a bare httpx loop: requests/s
   and client CPU per request.

Run:  .venv/bin/python benchmarks/bench_providers.py [--quick] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

from llmpick.providers import (
    BUNDLED_MODELS,
    GenerateParams,
    Message,
    create_provider,
    resolve_gguf,
)
from llmpick.providers._llamacpp import LlamaCppConfig, LlamaCppProvider
from llmpick.testing import mock_server_process

PROMPT = "Count from 1 to 200, separated by commas: 1, 2, 3,"
CHAT = [Message("user", "Say hello.")]


# 1. In-process generation speed ---------------------------------------------------------------


def _bare_decode_rate(llm: Any, tokens: list[int], max_tokens: int) -> tuple[float, int]:
    """Decode tokens/s of a plain llama-cpp-python streaming loop (after the first token)."""
    llm.reset()
    llm._ctx.kv_cache_clear()
    times: list[float] = []
    for chunk in llm.create_completion(
        prompt=tokens, max_tokens=max_tokens, temperature=0.0, top_p=0.95, seed=0, stream=True
    ):
        if chunk["choices"][0]["text"]:
            times.append(time.perf_counter())
    return (len(times) - 1) / (times[-1] - times[0]), len(times)


async def bench_in_process(model_id: str, rounds: int, max_tokens: int, threads: int) -> dict:
    import llama_cpp

    provider = LlamaCppProvider(
        LlamaCppConfig(model=model_id, n_threads=threads, n_ctx=1024, prompt_mode="completion")
    )
    await provider.load()
    path = resolve_gguf(BUNDLED_MODELS[model_id])
    bare = llama_cpp.Llama(
        model_path=str(path), n_ctx=1024, n_batch=512, n_threads=threads, verbose=False, seed=0
    )
    tokens = bare.tokenize(PROMPT.encode(), add_bos=bool(bare._model.add_bos_token()), special=True)
    params = GenerateParams(max_tokens=max_tokens)

    async def adapter_rate() -> tuple[float, int]:
        c = (await provider.generate(PROMPT, params)).timings.chunk_times
        return (len(c) - 1) / (c[-1] - c[0]), len(c)

    # Paired runs in alternating order: background load drifts, so compare neighbours.
    ours: list[float] = []
    theirs: list[float] = []
    chunks_ours = chunks_bare = 0
    for i in range(rounds):
        if i % 2:
            rate, chunks_ours = await adapter_rate()
            bare_rate, chunks_bare = _bare_decode_rate(bare, tokens, max_tokens)
        else:
            bare_rate, chunks_bare = _bare_decode_rate(bare, tokens, max_tokens)
            rate, chunks_ours = await adapter_rate()
        ours.append(rate)
        theirs.append(bare_rate)
    await provider.aclose()
    bare.close()
    paired = statistics.median(a / b for a, b in zip(ours, theirs, strict=True))
    best = max(ours) / max(theirs)
    return {
        "model": model_id,
        "threads": threads,
        "max_tokens": max_tokens,
        "rounds": rounds,
        "chunks": {"adapter": chunks_ours, "bare": chunks_bare},
        "adapter_tokens_per_s": {
            "median": round(statistics.median(ours), 1),
            "best": round(max(ours), 1),
        },
        "bare_tokens_per_s": {
            "median": round(statistics.median(theirs), 1),
            "best": round(max(theirs), 1),
        },
        "ratio_paired_median": round(paired, 3),
        "ratio_best": round(best, 3),
        "pass": paired >= 0.95,
    }


# 2. Timing accuracy --------------------------------------------------------------------------


async def bench_timing(requests: int, ttft_ms: float = 50.0, itl_ms: float = 10.0) -> dict:
    # The server runs in its own process, as a real one would: no shared GIL with the client.
    options = ("--ttft-ms", str(ttft_ms), "--itl-ms", str(itl_ms), "--tokens", "24")
    with mock_server_process(*options) as server:
        provider = create_provider(
            {"kind": "openai", "model": "mock", "base_url": f"{server.url}/v1"}
        )
        async with provider:
            await provider.generate(CHAT)  # connection set-up is not what we measure
            results = [await provider.generate(CHAT) for _ in range(requests)]
    ttft_ms_measured = statistics.median(r.ttft_s for r in results) * 1000  # type: ignore[misc]
    itl_ms_measured = statistics.median(g for r in results for g in r.itl_s) * 1000
    return {
        "configured": {"ttft_ms": ttft_ms, "itl_ms": itl_ms},
        "median_ttft_ms": round(ttft_ms_measured, 3),
        "median_itl_ms": round(itl_ms_measured, 3),
        "ttft_error_ms": round(ttft_ms_measured - ttft_ms, 3),
        "itl_error_ms": round(itl_ms_measured - itl_ms, 3),
        "pass": abs(ttft_ms_measured - ttft_ms) <= 2 and abs(itl_ms_measured - itl_ms) <= 2,
    }


# 3. Per-request overhead ---------------------------------------------------------------------


async def _drive(n: int, concurrency: int, one: Callable[[], Awaitable[None]]) -> dict:
    queue = iter(range(n))

    async def worker() -> None:
        for _ in queue:
            await one()

    cpu0, t0 = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    return {
        "requests_per_s": round(n / wall, 1),
        "client_cpu_ms_per_request": round(cpu / n * 1000, 3),
    }


def _body() -> dict:
    return {
        "model": "mock",
        "messages": [{"role": "user", "content": "Say hello."}],
        "max_tokens": 16,
        "stream": True,
        "stream_options": {"include_usage": True},
    }


async def bench_overhead(n: int, concurrency: int) -> dict:
    import aiohttp

    out: dict[str, Any] = {"requests": n, "concurrency": concurrency}
    with mock_server_process("--tokens", "16") as server:
        url = f"{server.url}/v1"
        provider = create_provider(
            {
                "kind": "openai",
                "model": "mock",
                "base_url": url,
                "max_concurrency": concurrency,
                "adaptive_concurrency": False,
            }
        )
        async with provider:
            await provider.generate(CHAT)

            async def ours() -> None:
                await provider.generate(CHAT, GenerateParams(max_tokens=16))

            out["llmpick_openai_adapter"] = await _drive(n, concurrency, ours)

        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:

            async def bare_aiohttp() -> None:
                async with session.post(url + "/chat/completions", json=_body()) as resp:
                    async for _line in resp.content:
                        pass

            out["bare_aiohttp"] = await _drive(n, concurrency, bare_aiohttp)
        try:
            import httpx
        except ImportError:
            out["bare_httpx"] = "httpx not installed: pip install httpx"
        else:
            limits = httpx.Limits(max_connections=concurrency)
            async with httpx.AsyncClient(limits=limits, timeout=60) as client:

                async def bare_httpx() -> None:
                    async with client.stream("POST", url + "/chat/completions", json=_body()) as r:
                        async for _line in r.aiter_lines():
                            pass

                out["bare_httpx"] = await _drive(n, concurrency, bare_httpx)
    httpx_rate = out.get("bare_httpx", {})
    if isinstance(httpx_rate, dict) and httpx_rate:
        ours_cpu = out["llmpick_openai_adapter"]["client_cpu_ms_per_request"]
        out["adapter_vs_bare_httpx_speed"] = round(
            out["llmpick_openai_adapter"]["requests_per_s"] / httpx_rate["requests_per_s"], 2
        )
        out["adapter_overhead_vs_bare_aiohttp_cpu_ms"] = round(
            ours_cpu - out["bare_aiohttp"]["client_cpu_ms_per_request"], 3
        )
    return out


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="Fewer rounds (a smoke run).")
    parser.add_argument("--json", action="store_true", help="Print JSON only.")
    parser.add_argument("--threads", type=int, default=2, help="llama.cpp threads.")
    args = parser.parse_args()
    rounds, n = (4, 300) if args.quick else (16, 2000)
    report: dict[str, Any] = {"in_process": [], "timing": None, "overhead": None}
    for model_id in BUNDLED_MODELS:
        report["in_process"].append(await bench_in_process(model_id, rounds, 64, args.threads))
        if not args.json:
            print(json.dumps(report["in_process"][-1]))
    report["timing"] = await bench_timing(10 if args.quick else 30)
    if not args.json:
        print(json.dumps({"timing": report["timing"]}))
    report["overhead"] = await bench_overhead(n, 32)
    print(json.dumps(report if args.json else {"overhead": report["overhead"]}, indent=None))


if __name__ == "__main__":
    asyncio.run(main())
