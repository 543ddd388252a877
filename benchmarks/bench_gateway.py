"""What the gateway adds: latency through it vs straight to the same fast upstream, in one run.

Starts llmpick's mock OpenAI-compatible server in its own process (answering at once, 16 tokens),
and two gateway processes in front of it (`llmpick gateway --config ...`, with the ledger and
request logging on, as deployed): one whose backend is local (no redaction) and one whose backend
is external, so every prompt, each carrying an e-mail address and a phone number, is scanned and
redacted and the answer restored. Then, with `llmpick loadtest`'s open-loop generator (Poisson
arrivals, latency counted from each request's scheduled time), non-streaming chat requests at
100 and 500 requests/s go straight to the mock and through each gateway, three times each with
the order turning; the added latency is taken per repeat (the gateway's p50/p99 minus the direct
p50/p99 at the same rate, runs side by side) and given as median and range. It then raises the
rate until the p99 added passes 10 ms (or the generator cannot keep up), and finally sends
200,000 requests through the gateway (half streamed) and compares its resident memory after
10,000 and after all of them.

The floor. At 500/s two forwarders with no logic run in the same rotation
(`benchmarks/_forwarder.py`: the body POSTed untouched through the gateway's own upstream pool and
the answer's bytes sent back), one on aiohttp's server and one on a bare asyncio protocol. Their
added latency is what the extra hop costs on this machine at that moment, whatever the gateway
does; the gateway's own share is its added latency minus theirs (`own_p50_ms_*`: minus the
aiohttp forwarder's, paired within each repeat). This machine's speed swings
by 2x over hours (the same closed-loop run: 0.34 ms of gateway CPU per request on 12-02, 0.69
on 12-03), and the hop's cost with it: a process woken from idle answered a loopback ping in
~130 us on one day and ~210 us on the next (2 ms gaps; 27-34 us back to back).

    .venv/bin/python benchmarks/bench_gateway.py                # --rss-requests 200000
    .venv/bin/python benchmarks/bench_gateway.py --quick        # 4 s levels, 20,000 for RSS
    .venv/bin/python benchmarks/bench_gateway.py --memory-only  # RSS after 200,000 vs 10,000
    nice -n -15 .venv/bin/python benchmarks/bench_gateway.py    # on a machine others share

Reading it. A level counts only if the generator kept up, checked two ways: its own send rate
and lag (`client_limited`), and the mock's count and rate of what it served, on the mock's clock
(`upstream_served`, `upstream_rate`); `generator_kept_up: false` means the figures measure the
client, and the checks fail. The gateway's CPU time per request (from its /metrics, per level)
hardly depends on how busy the machine is: compare changes by it. The latency does: each of the
gateway's two extra hops waits for a core, so on a machine shared with other work the added
latency grows by that wait; `nice` (inherited by the mock, the gateways and the generator, and
recorded as `niceness`) puts the direct and the gateway path ahead of the neighbours alike.

Measured 2026-12-02 on the 2-core development machine, shared with other sessions' tests and
benchmarks, with `nice -n -15 .venv/bin/python benchmarks/bench_gateway.py` (one run; load
average 1.1 at the start, 0.3 during the 100/s levels, 1.1 during the 500/s ones, 2.3 at the end):

    rate   direct p50 / p99   redaction   added p50 (range)   added p99 (range)   in ms
    100/s  2.23 / 4.11        off         1.11 (0.97-1.40)    1.78 (1.49-2.53)
                              on          1.10 (0.86-1.39)    2.40 (1.48-2.62)
    500/s  1.82 / 4.73        off         0.54 (0.37-0.75)    0.65 (0.51-1.71)
                              on          0.82 (0.66-0.87)    1.16 (1.10-1.68)

  gateway CPU per request: 0.98 / 1.05 ms at 100/s, 0.51 / 0.61 ms at 500/s (off / on; at low
  rates every request finds the caches cold); 0.34 / 0.38 ms closed loop (32 clients, half of
  the requests streamed)
  highest rate with p99 added under 10 ms: 1,000/s (p50 added 0.64 ms, p99 1.5 ms; at 1,500/s
  the p99 added was 63 ms)
  RSS after 10,000 requests 65.02 MiB, after 200,000 65.04 MiB (+0.04%)
  every check passed (p50 under 1 ms and p99 under 5 ms at 500/s, both ways; RSS under 10%)

A run without `nice` minutes later (load average 1.0-1.3 during the levels) also passed every
check: 0.60 / 0.81 ms p50 and 0.1 / 2.9 ms p99 added at 500/s (off / on), RSS +0.01%; its ramp
stopped when the generator could not send 2,000/s (its 1,500/s step had p99 added under 10 ms,
the direct run's tail being the longer one). Under heavier neighbours (load average 2-4) the
niced command gave 0.97 / 1.18 ms p50 and 5.5 / 7.8 ms p99 added at 500/s, and without `nice`
at load average 4 the generator fell behind (418 of 500/s sent) and the run said so and failed.

Measured 2026-12-03 with the same command (quiet: load average 0.4 during the 100/s levels, 0.9
during the 500/s ones), with the floor in the rotation:

    500/s, p50 added (range)     gateway off 1.09 (0.92-1.29)   on 1.13 (0.96-1.53)
           p99 added             gateway off 3.20               on 2.34
           no logic, p50 added   aiohttp's server 0.83 (0.28-0.97)   bare protocol 0.67 (0.60-0.73)
           CPU per request       gateway 0.67 / 0.77; no logic 0.42 (aiohttp) / 0.25 (bare)
  closed loop 0.75 / 0.94 ms CPU per request (off / on); highest rate with p99 added under
  10 ms 750/s (51.7 ms at 1,000/s); RSS +0.08% from 10,000 to 200,000 requests
  failed: p50 under 1 ms (both ways); passed: p99 under 5 ms, RSS.
So on this day the hop alone took two thirds to three quarters of the budget: the gateway's own
work added 0.26-0.30 ms over the same hop on the same server stack, and even a front end with
no logic on a bare protocol would leave it 0.33 ms. A second run at 14:34 (load average 0.8,
with `own_p50_ms`): p50 added 1.26 / 1.72 ms (off / on), the floors 0.92 (aiohttp's server) and
0.72 ms (bare), the gateway's own work 0.46 / 0.81 ms over the first, CPU per request 0.72 /
0.86 ms; p99 added 4.46 / 5.32 ms; highest rate 750/s; RSS +0.10%. The first full run that
day (before the floor was added; load average 0.5-0.9) gave 1.73 / 1.64 ms p50 added at 500/s,
0.80 / 0.84 ms of CPU per request.

Before this round of work the gateway spent 0.76-0.98 ms (off) and 0.80-1.13 ms (on) of CPU per
request at 500/s, and 0.47-0.65 and 0.58-0.75 ms after (three pairs of runs, old and new code
side by side, minutes apart, a paced client, CPU from the gateway's /metrics; the ranges follow
the machine's load); closed loop with 8 clients, 0.70-0.81 -> 0.37 ms (off) and 0.86-0.88 ->
0.43-0.44 ms (on). The difference: the pass-through's own HTTP client (`gateway/_upstream.py`)
instead of aiohttp's, log lines and ledger rows written in batches off the request path, the
answer sent before the accounting, and a trimmed request path.

Why aiohttp's server: it is already a dependency, and one event loop parses the request, forwards
it and writes the answer back. Measured on this kind of machine (NOTES.md, pass-through to a mock
at c=32): uvicorn with httptools and an aiohttp client topped out at 410-430 requests/s, below
the 500/s target rate, so it was out; granian with an aiohttp client reached 1,274-1,418/s. At
500/s open loop an aiohttp server answering by itself took 0.21 ms of CPU per request and one
forwarding through aiohttp's client 0.42 ms: the client, not the server, was the cost worth
removing, and the gateway now has its own. With the 500/s targets met, granian's extra
throughput would cost a second server stack (ASGI or RSGI plumbing, a Rust wheel) for capacity
a 2-core gateway box does not use; past a replica's ceiling, replicas scale out instead.
uvloop under aiohttp's server bought nothing here: the gateway started on `uvloop.new_event_loop()`
(`web.run_app(loop=...)`) vs asyncio's own loop, 4 alternating pairs of 2,500 requests at 500/s
(2026-12-03), spent 0.78 vs 0.79 ms of CPU per request and added 1.58 vs 1.53 ms p50: the cost is
in Python code above the loop, not in the loop.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
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
        "send_lag_p95_ms": (level.send_lag_ms or {}).get("p95"),
    }


async def _get_json(url: str, method: str = "GET") -> Any:
    async with aiohttp.ClientSession() as s, s.request(method, url) as r:
        return await r.json()


async def _process(base_url: str) -> tuple[float, float]:
    """The gateway's resident memory (MiB) and CPU time (s), from its /metrics."""
    found: dict[str, float] = {}
    async with aiohttp.ClientSession() as s, s.get(base_url + "/metrics") as r:
        for line in (await r.text()).splitlines():
            name, _, value = line.partition(" ")
            if name in ("process_resident_memory_bytes", "process_cpu_seconds_total"):
                found[name] = float(value)
    return found["process_resident_memory_bytes"] / 2**20, found["process_cpu_seconds_total"]


async def _measured_level(
    upstream: str, target: str | None, rate: float, requests: int
) -> dict[str, Any]:
    """One level straight to the mock (`target` None) or through a gateway, with the mock's
    own count of what it served (its clock: a generator that fell behind shows here too) and
    the gateway's CPU time per request."""
    await _get_json(upstream + "/mock/requests", "DELETE")
    cpu_before = (await _process(target))[1] if target else 0.0
    url, model = (target, "chat") if target else (upstream, "mock")
    result = await _level(url + "/v1", rate, requests, True, model)
    seen = await _get_json(upstream + "/mock/requests")
    result["upstream_served"] = seen["served"]
    result["upstream_rate"] = seen["rate"]
    if target:
        cpu_after = (await _process(target))[1]
        result["gateway_cpu_ms"] = (cpu_after - cpu_before) / max(1, seen["served"]) * 1000
    # The generator kept up when it sent at the rate and the upstream served every request at
    # that rate on its own clock.
    result["kept_up"] = (
        not result["client_limited"]
        and seen["served"] >= requests - result["errors"]
        and seen["rate"] >= 0.9 * rate
    )
    return result


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


def _q(values: list[float]) -> dict[str, float]:
    """Median and range of per-repeat figures."""
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


async def _rate_row(
    upstream: str,
    gateways: dict[str, str],
    rate: int,
    seconds: float,
    repeats: int,
    floors: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Straight, redaction off and redaction on (and the floor forwarders, when given),
    alternating (the order turns each repeat, so drift in the machine's load falls on all);
    the added latency is taken per repeat, between runs minutes apart at most, then
    summarized."""
    n = int(rate * seconds)
    targets = {f"redaction_{mode}": url for mode, url in gateways.items()}
    targets.update({f"floor_{name}": url for name, url in (floors or {}).items()})
    modes = ["direct", *targets]
    runs: dict[str, list[dict[str, Any]]] = {m: [] for m in modes}
    for i in range(repeats):
        turn = i % len(modes)
        for mode in modes[turn:] + modes[:turn]:
            runs[mode].append(await _measured_level(upstream, targets.get(mode), rate, n))
    row: dict[str, Any] = {"rate": rate, "requests_per_run": n, "repeats": repeats}
    row["direct_ms"] = {q: _q([r[q] for r in runs["direct"]]) for q in ("p50", "p99")}
    for mode in targets:
        added = {
            q: _q([t[q] - d[q] for t, d in zip(runs[mode], runs["direct"], strict=True)])
            for q in ("p50", "p99")
        }
        row[f"added_ms_{mode}"] = added
        cpu = "gateway_cpu_ms_per_request" if mode.startswith("redaction") else "cpu_ms_per_request"
        row[f"{cpu}_{mode}"] = _q([r["gateway_cpu_ms"] for r in runs[mode]])
    if "floor_aiohttp" in runs:
        # The gateway's own work: its p50 over the same hop with no logic on the same server
        # stack, paired within each repeat.
        for mode in gateways:
            pairs = zip(runs[f"redaction_{mode}"], runs["floor_aiohttp"], strict=True)
            row[f"own_p50_ms_redaction_{mode}"] = _q([g["p50"] - f["p50"] for g, f in pairs])
    row["sent_rate_min"] = min(r["sent_rate"] or 0.0 for v in runs.values() for r in v)
    row["upstream_rate_min"] = min(r["upstream_rate"] for v in runs.values() for r in v)
    row["errors"] = sum(r["errors"] for v in runs.values() for r in v)
    row["generator_kept_up"] = all(r["kept_up"] for v in runs.values() for r in v)
    row["load_average_1m"] = os.getloadavg()[0]
    return row


def _forwarder(kind: str, upstream: str) -> ServerProcess:
    """`benchmarks/_forwarder.py`: the same hop with no logic (the floor)."""
    script = str(Path(__file__).with_name("_forwarder.py"))
    return ServerProcess(
        lambda port: [sys.executable, script, kind, upstream, str(port)], ready_path="/health"
    )


async def main(args: argparse.Namespace) -> int:
    folder = Path(tempfile.mkdtemp(prefix="bench-gateway-"))
    seconds = 4 if args.quick else 10
    results: dict[str, Any] = {
        "command": " ".join(["benchmarks/bench_gateway.py", *sys.argv[1:]]),
        "cpus": os.cpu_count(),
        "niceness": os.nice(0),  # the generator's, the mock's and the gateways' (inherited)
        "load_average_at_start": os.getloadavg(),
        "levels": [],
    }
    with (
        mock_server_process("--coarse", "--tokens", "16") as upstream,
        _gateway(upstream.url, False, folder, "plain") as plain,
        _gateway(upstream.url, True, folder, "redacting") as redacting,
        _forwarder("aiohttp", upstream.url) as floor_aiohttp,
        _forwarder("bare", upstream.url) as floor_bare,
    ):
        gateways = {"off": plain.url, "on": redacting.url}
        floors = {"aiohttp": floor_aiohttp.url, "bare": floor_bare.url}
        for rate in () if args.memory_only else (100, 500):
            row = await _rate_row(
                upstream.url, gateways, rate, seconds, args.repeats, floors if rate == 500 else None
            )
            results["levels"].append(row)
            print(json.dumps(row), flush=True)
        at_500 = results["levels"][-1] if results["levels"] else None
        fine_at_500 = (
            at_500 is not None
            and at_500["generator_kept_up"]
            and at_500["added_ms_redaction_off"]["p99"]["median"] < 10
        )
        best = 500 if fine_at_500 else None  # None: not established on this machine now
        limit = None
        for rate in (750, 1000, 1500, 2000, 3000) if fine_at_500 else ():
            n = int(rate * 4)
            direct = await _measured_level(upstream.url, None, rate, n)
            through = await _measured_level(upstream.url, plain.url, rate, n)
            added = {q: through[q] - direct[q] for q in ("p50", "p99")}
            kept_up = direct["kept_up"] and through["kept_up"]
            step = {"rate": rate, "added_ms": added, "errors": through["errors"],
                    "generator_kept_up": kept_up,
                    "gateway_cpu_ms_per_request": through["gateway_cpu_ms"]}  # fmt: skip
            print(json.dumps(step), flush=True)
            if not kept_up:
                limit = f"the load generator could not send {rate}/s here"
                break
            if through["errors"] or added["p99"] >= 10:
                limit = f"p99 added {added['p99']:.1f} ms at {rate}/s"
                break
            best = rate
        results["highest_rate_p99_added_under_10ms"] = best
        results["highest_rate_stopped_by"] = limit
        await _flood(plain.url, 10_000)
        rss_10k, cpu_10k = await _process(plain.url)
        await _flood(plain.url, args.rss_requests - 10_000)
        rss_all, cpu_all = await _process(plain.url)
        # Closed loop, half of them streamed: CPU per request when the gateway is never idle.
        cpu_ms = (cpu_all - cpu_10k) / (args.rss_requests - 10_000) * 1000
        results["closed_loop_cpu_ms_per_request"] = {"redaction_off": cpu_ms}
        _, before = await _process(redacting.url)
        await _flood(redacting.url, 10_000)
        _, after = await _process(redacting.url)
        results["closed_loop_cpu_ms_per_request"]["redaction_on"] = (after - before) / 10
        results["rss_mib"] = {"after_10000": rss_10k, f"after_{args.rss_requests}": rss_all}
        results["rss_growth"] = rss_all / rss_10k - 1
    results["load_average_at_end"] = os.getloadavg()
    if args.memory_only:
        print(json.dumps(results, indent=2))
        return 0 if results["rss_growth"] < 0.10 else 1
    at500 = next(r for r in results["levels"] if r["rate"] == 500)
    measurable = all(r["generator_kept_up"] for r in results["levels"])
    off, on = at500["added_ms_redaction_off"], at500["added_ms_redaction_on"]
    checks = {
        "load generator kept its schedule (else the latency figures measure the client)": (
            measurable
        ),
        "p50 added < 1 ms at 500/s (redaction off)": off["p50"]["median"] < 1,
        "p50 added < 1 ms at 500/s (redaction on)": on["p50"]["median"] < 1,
        "p99 added < 5 ms at 500/s (redaction off)": off["p99"]["median"] < 5,
        "p99 added < 5 ms at 500/s (redaction on)": on["p99"]["median"] < 5,
        "RSS growth < 10%": results["rss_growth"] < 0.10,
    }
    results["checks"] = checks
    print(json.dumps(results, indent=2))
    floor_a, floor_b = at500["added_ms_floor_aiohttp"], at500["added_ms_floor_bare"]
    print(
        f"p50 added at 500/s: gateway {off['p50']['median']:.2f} ms (redaction off), "
        f"{on['p50']['median']:.2f} ms (on); a forwarder with no logic "
        f"{floor_a['p50']['median']:.2f} ms on aiohttp's server, "
        f"{floor_b['p50']['median']:.2f} ms on a bare asyncio protocol: the hop itself, here "
        f"and now; the gateway's own work {at500['own_p50_ms_redaction_off']['median']:.2f} / "
        f"{at500['own_p50_ms_redaction_on']['median']:.2f} ms over the hop on aiohttp's server"
    )
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
