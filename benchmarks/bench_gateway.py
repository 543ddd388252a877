"""What the gateway adds: latency through it vs straight to the same fast upstream, in one run.

Starts llmpick's mock OpenAI-compatible server in its own process (answering at once, 16 tokens),
and two gateway processes in front of it (`llmpick gateway --config ...`, with the ledger and
request logging on, as deployed): one whose backend is local (no redaction) and one whose backend
is external, so every prompt, each carrying an e-mail address and a phone number, is scanned and
redacted and the answer restored. Then, with `llmpick loadtest`'s open-loop generator (Poisson
arrivals, latency counted from each request's scheduled time), non-streaming chat requests at
100 and 500 requests/s go straight to the mock and through each gateway, alternately; the added
latency is the gateway's p50/p99 minus the direct p50/p99 at the same rate. It then raises the rate
until the p99 added passes 10 ms (or the client cannot keep up), and finally sends many requests
through the gateway and compares its resident memory after 10,000 and after all of them.

    .venv/bin/python benchmarks/bench_gateway.py                # --rss-requests 200000
    .venv/bin/python benchmarks/bench_gateway.py --quick        # shorter levels, 20,000 for RSS
    .venv/bin/python benchmarks/bench_gateway.py --memory-only  # RSS after 200,000 vs 10,000

Targets (the issue's, for a 2-core machine): p50 added under 1 ms and p99 under 5 ms at 500
requests/s, redaction on and off reported apart; RSS growth under 10%.

Why aiohttp's server: it is already the client library here, so one event loop parses the
request, forwards it over a shared keep-alive pool and writes the answer back, with no extra
dependency. Measured on this kind of machine (NOTES.md, pass-through to a mock at c=32): uvicorn
with httptools and an aiohttp client topped out at 410-430 requests/s, below the 500/s target
rate, so it was out; granian with an aiohttp client reached 1,274-1,418 requests/s. This benchmark
measures aiohttp's own ceiling ("highest rate" below); where it meets the 500/s targets, granian's
extra throughput would cost a second server stack (ASGI or RSGI plumbing, a Rust wheel) for
capacity a 2-core gateway box does not use; past a replica's ceiling, replicas scale out instead
(the gateway is stateless apart from the store).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

from llmpick.loadtest import Slo, run_rate_level
from llmpick.providers import GenerateParams, Message, create_provider
from llmpick.testing import ServerProcess, mock_server_process

PII_PROMPT = "Please reply to ana.lopez{i}@example.org or call +44 20 7946 {n:04d} about order {i}."
PLAIN_PROMPT = "Please reply about order {i}; the customer asked twice already, kindly."


def _gateway(upstream: str, external: bool, folder: Path, name: str) -> ServerProcess:
    config = folder / f"{name}.yaml"
    config.write_text(
        "backends:\n"
        f'  - name: upstream\n    endpoint: {{base_url: "{upstream}/v1", model: mock}}\n'
        f"    external: {'true' if external else 'false'}\n"
        "routes:\n  - {model: chat, primary: upstream}\n"
    )
    db = folder / f"{name}.sqlite"
    return ServerProcess(
        lambda port: [
            sys.executable, "-c", "from llmpick.cli import main; main()", "gateway",
            "--config", str(config), "--port", str(port), "--db", str(db),
        ]
    )  # fmt: skip


async def _level(
    base_url: str, rate: float, requests: int, pii: bool, model: str
) -> dict[str, Any]:
    config = {"kind": "openai", "base_url": base_url, "model": model, "max_retries": 0,
              "adaptive_concurrency": False, "max_concurrency": 512}  # fmt: skip
    template = PII_PROMPT if pii else PLAIN_PROMPT
    prompts = [[Message("user", template.format(i=i, n=i % 10_000))] for i in range(256)]
    async with create_provider(config) as provider:
        level = await run_rate_level(
            provider, prompts, GenerateParams(max_tokens=16, stream=False), rate, Slo(),
            requests=requests, max_seconds=requests / rate * 3 + 10,
        )  # fmt: skip
    return {
        "p50": level.e2e_ms["p50"],
        "p99": level.e2e_ms["p99"],
        "errors": level.errors,
        "client_limited": level.client_limited,
        "sent_rate": level.sent_rate,
    }


async def _process(base_url: str) -> tuple[float, float]:
    """The gateway's resident memory (MiB) and CPU time (s), from its /metrics."""
    found: dict[str, float] = {}
    async with aiohttp.ClientSession() as s, s.get(base_url + "/metrics") as r:
        for line in (await r.text()).splitlines():
            name, _, value = line.partition(" ")
            if name in ("process_resident_memory_bytes", "process_cpu_seconds_total"):
                found[name] = float(value)
    return found["process_resident_memory_bytes"] / 2**20, found["process_cpu_seconds_total"]


async def _flood(base_url: str, requests: int, concurrency: int = 32) -> None:
    """Closed-loop traffic as fast as the gateway takes it (for the memory check)."""
    url = base_url + "/v1/chat/completions"
    sent = 0
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as s:

        async def worker() -> None:
            nonlocal sent
            while sent < requests:
                i = sent
                sent += 1
                message = {"role": "user", "content": PII_PROMPT.format(i=i, n=i % 10_000)}
                body = {"model": "chat", "max_tokens": 16, "stream": i % 2 == 0,
                        "messages": [message]}  # fmt: skip
                async with s.post(url, json=body) as r:
                    await r.read()
                    assert r.status == 200, r.status

        await asyncio.gather(*(worker() for _ in range(concurrency)))


def _added(through: dict[str, Any], direct: dict[str, Any]) -> dict[str, float]:
    return {q: through[q] - direct[q] for q in ("p50", "p99")}


async def main(args: argparse.Namespace) -> int:
    folder = Path(tempfile.mkdtemp(prefix="bench-gateway-"))
    seconds = 4 if args.quick else 10
    with (
        mock_server_process("--coarse", "--tokens", "16") as upstream,
        _gateway(upstream.url, False, folder, "plain") as plain,
        _gateway(upstream.url, True, folder, "redacting") as redacting,
    ):
        results: dict[str, Any] = {"levels": []}
        for rate in () if args.memory_only else (100, 500):
            n = int(rate * seconds)
            runs: dict[str, list[dict[str, Any]]] = {"direct": [], "off": [], "on": []}
            for _ in range(args.repeats):  # alternate, so drift in machine load hits all
                runs["direct"].append(await _level(upstream.url + "/v1", rate, n, True, "mock"))
                runs["off"].append(await _level(plain.url + "/v1", rate, n, True, "chat"))
                runs["on"].append(await _level(redacting.url + "/v1", rate, n, True, "chat"))
            med = {
                k: {q: statistics.median(r[q] for r in v) for q in ("p50", "p99")}
                for k, v in runs.items()
            }
            row = {
                "rate": rate,
                "direct_ms": med["direct"],
                "added_ms_redaction_off": _added(med["off"], med["direct"]),
                "added_ms_redaction_on": _added(med["on"], med["direct"]),
                "errors": sum(r["errors"] for v in runs.values() for r in v),
                "client_limited": any(r["client_limited"] for v in runs.values() for r in v),
            }
            results["levels"].append(row)
            print(json.dumps(row), flush=True)
        at_500 = results["levels"][-1] if results["levels"] else None
        fine_at_500 = (
            at_500 is not None
            and not at_500["client_limited"]
            and at_500["added_ms_redaction_off"]["p99"] < 10
        )
        best = 500 if fine_at_500 else None  # None: not established on this machine now
        for rate in (750, 1000, 1500, 2000, 3000) if fine_at_500 else ():
            n = int(rate * 4)
            direct = await _level(upstream.url + "/v1", rate, n, True, "mock")
            through = await _level(plain.url + "/v1", rate, n, True, "chat")
            added = _added(through, direct)
            limited = through["client_limited"] or direct["client_limited"]
            step = {"rate": rate, "added_ms": added, "errors": through["errors"],
                    "client_limited": limited}  # fmt: skip
            print(json.dumps(step), flush=True)
            if through["errors"] or step["client_limited"] or added["p99"] >= 10:
                break
            best = rate
        results["highest_rate_p99_added_under_10ms"] = best
        await _flood(plain.url, 10_000)
        rss_10k, cpu_10k = await _process(plain.url)
        await _flood(plain.url, args.rss_requests - 10_000)
        rss_all, cpu_all = await _process(plain.url)
        # CPU per request does not depend on how busy the machine is: on a free core the
        # added latency is about this plus one loopback hop.
        cpu_ms = (cpu_all - cpu_10k) / (args.rss_requests - 10_000) * 1000
        results["gateway_cpu_ms_per_request"] = {"redaction_off": cpu_ms}
        _, before = await _process(redacting.url)
        await _flood(redacting.url, 10_000)
        _, after = await _process(redacting.url)
        results["gateway_cpu_ms_per_request"]["redaction_on"] = (after - before) / 10_000 * 1000
        results["rss_mib"] = {"after_10000": rss_10k, f"after_{args.rss_requests}": rss_all}
        results["rss_growth"] = rss_all / rss_10k - 1
    if args.memory_only:
        print(json.dumps(results, indent=2))
        return 0 if results["rss_growth"] < 0.10 else 1
    at500 = next(r for r in results["levels"] if r["rate"] == 500)
    measurable = not any(r["client_limited"] for r in results["levels"])
    checks = {
        "load generator kept its schedule (else the latency figures measure the client)": (
            measurable
        ),
        "p50 added < 1 ms at 500/s (redaction off)": at500["added_ms_redaction_off"]["p50"] < 1,
        "p50 added < 1 ms at 500/s (redaction on)": at500["added_ms_redaction_on"]["p50"] < 1,
        "p99 added < 5 ms at 500/s (redaction off)": at500["added_ms_redaction_off"]["p99"] < 5,
        "p99 added < 5 ms at 500/s (redaction on)": at500["added_ms_redaction_on"]["p99"] < 5,
        "RSS growth < 10%": results["rss_growth"] < 0.10,
    }
    results["checks"] = checks
    print(json.dumps(results, indent=2))
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="Shorter levels (4 s each).")
    parser.add_argument("--repeats", type=int, default=3, help="Alternating runs per level.")
    parser.add_argument(
        "--rss-requests", type=int, default=200_000, help="Requests for the memory check."
    )
    parser.add_argument(
        "--memory-only", action="store_true", help="Only the memory and CPU-per-request checks."
    )
    parsed = parser.parse_args()
    if parsed.quick:
        parsed.rss_requests = min(parsed.rss_requests, 20_000)
    started = time.perf_counter()
    code = asyncio.run(main(parsed))
    print(f"took {time.perf_counter() - started:.0f} s", file=sys.stderr)
    sys.exit(code)
