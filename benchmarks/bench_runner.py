"""How fast the evaluation runner drives a fast local OpenAI-compatible server.

Runs N items (default 2,000) through `llmpick.evaluation.run_async` against llmpick's mock server
(a separate process answering instantly, 16 streamed tokens per answer), then sends the same
requests from two bare asyncio loops, the floor the runner is held to: raw httpx (the issue's
minimum) and raw aiohttp (what the client library can do at best). Finally it re-runs the
evaluation fully cached. That pair (first run on a fresh store, cached re-run) is repeated five
times and medians are reported; the cached share is the median of the per-pair ratios, since
this machine's speed drifts by tens of percent within seconds. All clients stream, at the same
concurrency; the catalog is read once before timing starts.

    .venv/bin/python benchmarks/bench_runner.py   # --items 2000 --concurrency 32 --trials 5

Pass criteria printed at the end: runner >= 80% of the httpx floor's items/s, and the cached
re-run under 10% of the first run's time.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from llmpick.catalog import load_catalog
from llmpick.evaluation import FieldMapping, PromptBuilder, RunOptions, load_dataset, run_async
from llmpick.evaluation._prompts import prompt_for_cache
from llmpick.spec import load_spec
from llmpick.store import open_store
from llmpick.testing import mock_server_process

TEMPLATE = "Ticket: {{ ticket }}\nQueue:"


def _write_spec(folder: Path, base_url: str, items: int, concurrency: int) -> Path:
    queues = ["billing", "technical", "account", "shipping", "other"]
    with (folder / "items.jsonl").open("w") as handle:
        for i in range(items):
            row = {"id": f"i{i}", "ticket": f"Ticket {i}: something about {queues[i % 5]}",
                   "queue": queues[i % 5]}  # fmt: skip
            handle.write(json.dumps(row) + "\n")
    spec = folder / "llmpick.yaml"
    spec.write_text(
        f"""version: 1
name: bench
candidates:
  - name: mock
    endpoint: {{base_url: "{base_url}", model: mock}}
    max_concurrency: {concurrency}
dataset:
  path: items.jsonl
  id_field: id
  input_field: ticket
  expected_field: queue
  template: {json.dumps(TEMPLATE)}
  system_prompt: You route support tickets to a queue.
  max_output_tokens: 16
scoring:
  scorers:
    - {{type: choice, name: accuracy, choices: [billing, technical, account, shipping, other]}}
  primary: accuracy
"""
    )
    return spec


def _bodies(spec_path: Path) -> list[dict[str, Any]]:
    """The exact request bodies the runner sends (same prompts, same parameters)."""
    loaded = load_spec(spec_path)
    dataset = loaded.spec.dataset
    assert dataset is not None
    items = load_dataset(
        loaded.base_dir / dataset.path,
        FieldMapping(input_field="ticket", expected_field="queue", id_field="id"),
    ).items
    builder = PromptBuilder(TEMPLATE, system_prompt=dataset.system_prompt, input_field="ticket")
    return [
        {
            "model": "mock",
            "messages": prompt_for_cache(builder.build(item)),
            "temperature": 0.0,
            "max_tokens": 16,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        for item in items
    ]


async def _raw_httpx(url: str, bodies: list[dict[str, Any]], concurrency: int) -> float:
    import httpx

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        for body in bodies:
            queue.put_nowait(body)

        async def worker() -> None:
            while not queue.empty():
                body = queue.get_nowait()
                async with client.stream("POST", url, json=body) as response:
                    async for line in response.aiter_lines():
                        if line.startswith("data: ") and line != "data: [DONE]":
                            json.loads(line[6:])

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - start


async def _raw_aiohttp(url: str, bodies: list[dict[str, Any]], concurrency: int) -> float:
    import aiohttp

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        for body in bodies:
            queue.put_nowait(body)

        async def worker() -> None:
            while not queue.empty():
                body = queue.get_nowait()
                async with session.post(url, json=body) as response:
                    async for raw in response.content:
                        line = raw.strip()
                        if line.startswith(b"data: ") and line != b"data: [DONE]":
                            json.loads(line[6:])

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - start


async def _runner(spec: Path, db: Path, options: RunOptions) -> tuple[float, Any]:
    gc.collect()  # start every timed run from the same heap state
    with open_store(db) as store:
        start = time.perf_counter()
        outcome = await run_async(load_spec(spec), store, options)
        return time.perf_counter() - start, outcome


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=2000, help="Items to run.")
    parser.add_argument("--concurrency", type=int, default=32, help="Requests in flight.")
    parser.add_argument("--tokens", type=int, default=16, help="Output tokens per answer.")
    parser.add_argument("--trials", type=int, default=5, help="First-run/re-run pairs.")
    args = parser.parse_args()

    with mock_server_process("--tokens", str(args.tokens)) as server:
        base_url = server.url + "/v1"
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            spec = _write_spec(folder, base_url, args.items, args.concurrency)
            bodies = _bodies(spec)
            url = base_url + "/chat/completions"
            asyncio.run(_raw_aiohttp(url, bodies[:200], args.concurrency))  # warm the server
            load_catalog()  # read once per process; keep it out of the first run's time
            firsts, cached_runs = [], []
            for trial in range(args.trials):
                # Each trial pairs a first run on a fresh store with a cached re-run straight
                # after it, and the ratio is taken per pair: this machine's speed drifts by
                # tens of percent within seconds, which would swamp ratios of distant runs.
                db = folder / f"db{trial}.sqlite"
                seconds, outcome = asyncio.run(_runner(spec, db, RunOptions()))
                assert outcome.calls_made == args.items, outcome
                firsts.append(seconds)
                seconds, again = asyncio.run(_runner(spec, db, RunOptions(resume=False)))
                assert again.cached == args.items and again.calls_made == 0, again
                cached_runs.append(seconds)
            httpx_s = asyncio.run(_raw_httpx(url, bodies, args.concurrency))
            aiohttp_s = asyncio.run(_raw_aiohttp(url, bodies, args.concurrency))

    n = args.items
    first = statistics.median(firsts)
    cached = statistics.median(cached_runs)
    shares = [c / f for c, f in zip(cached_runs, firsts, strict=True)]
    runner_rate, httpx_rate, aiohttp_rate = n / first, n / httpx_s, n / aiohttp_s
    print(f"{n} items, concurrency {args.concurrency}, {args.tokens} streamed tokens each")
    print(
        f"  llmpick runner        {runner_rate:8.0f} items/s  ({first:.2f} s, median of "
        f"{', '.join(f'{f:.2f}' for f in firsts)})"
    )
    print(f"  raw httpx loop        {httpx_rate:8.0f} items/s  ({httpx_s:.2f} s)  <- floor")
    print(f"  raw aiohttp loop      {aiohttp_rate:8.0f} items/s  ({aiohttp_s:.2f} s)")
    print(
        f"  fully cached re-run   {n / cached:8.0f} items/s  ({cached:.3f} s, median of "
        f"{', '.join(f'{c:.3f}' for c in cached_runs)})"
    )
    ratio, cached_share = runner_rate / httpx_rate, statistics.median(shares)
    print(f"runner / httpx floor: {ratio:.0%} (need >= 80%): {'PASS' if ratio >= 0.8 else 'FAIL'}")
    print(f"runner / aiohttp:     {runner_rate / aiohttp_rate:.0%}")
    verdict = "PASS" if cached_share < 0.10 else "FAIL"
    print(
        f"cached re-run / first run: {cached_share:.1%} (median of "
        f"{', '.join(f'{r:.1%}' for r in shares)}; need < 10%): {verdict}"
    )


if __name__ == "__main__":
    main()
