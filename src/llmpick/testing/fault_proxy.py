"""A reverse proxy that injects the faults real endpoints produce: 429 with `Retry-After`, 500s,
streams that stall, streams cut off mid-way, and malformed SSE events.

Each request gets one fault, drawn from the configured rates (or taken in order from `script`,
then "ok"). Streams are forwarded line by line, so mid-stream faults strike after
`after_events` events have passed through.

Run it:  python -m llmpick.testing.fault_proxy --upstream http://127.0.0.1:8000 --port 8001 \
             --rate-429 0.1 --rate-500 0.1
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
from dataclasses import dataclass, field
from typing import Literal

import aiohttp
from aiohttp import web

__all__ = ["FAULTS", "Fault", "FaultConfig", "create_fault_proxy_app", "main"]

Fault = Literal["ok", "429", "500", "stall", "cut", "malformed"]
# Faults injected so far by kind: `app[FAULTS]` == {"ok": 9, "429": 1, ...}.
FAULTS = web.AppKey("faults", dict)
_CLIENT = web.AppKey("client", aiohttp.ClientSession)
_HOP_HEADERS = {"content-length", "transfer-encoding", "connection", "host", "keep-alive"}


@dataclass
class FaultConfig:
    """Fault rates (0..1, drawn per request) and their parameters."""

    upstream: str = "http://127.0.0.1:8000"
    rate_429: float = 0.0
    rate_500: float = 0.0
    rate_stall: float = 0.0
    rate_cut: float = 0.0
    rate_malformed: float = 0.0
    retry_after_s: float = 0.05
    stall_s: float = 30.0
    after_events: int = 3
    script: list[Fault] = field(default_factory=list)
    seed: int = 0


def create_fault_proxy_app(config: FaultConfig) -> web.Application:
    """The proxy application; `app[FAULTS]` counts the faults injected, by kind."""
    rng = random.Random(config.seed)
    script = list(config.script)
    counts: dict[str, int] = {}
    app = web.Application()
    app[FAULTS] = counts

    def draw() -> Fault:
        if script:
            return script.pop(0)
        x = rng.random()
        for fault, rate in (
            ("429", config.rate_429),
            ("500", config.rate_500),
            ("stall", config.rate_stall),
            ("cut", config.rate_cut),
            ("malformed", config.rate_malformed),
        ):
            if x < rate:
                return fault  # type: ignore[return-value]
            x -= rate
        return "ok"

    async def on_startup(app: web.Application) -> None:
        app[_CLIENT] = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=None, sock_read=None), auto_decompress=False
        )

    async def on_cleanup(app: web.Application) -> None:
        await app[_CLIENT].close()

    async def handle(request: web.Request) -> web.StreamResponse:
        fault = draw()
        counts[fault] = counts.get(fault, 0) + 1
        if fault == "429":
            body = {
                "error": {
                    "message": "Rate limit reached (injected)",
                    "type": "requests",
                    "code": "rate_limit_exceeded",
                }
            }
            return web.json_response(
                body, status=429, headers={"Retry-After": f"{config.retry_after_s:g}"}
            )
        if fault == "500":
            body = {
                "error": {"message": "The server had an error (injected)", "type": "server_error"}
            }
            return web.json_response(body, status=500)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_HEADERS}
        upstream_url = config.upstream.rstrip("/") + request.rel_url.path_qs
        data = await request.read()
        async with app[_CLIENT].request(
            request.method, upstream_url, headers=headers, data=data
        ) as upstream:
            out_headers = {
                k: v for k, v in upstream.headers.items() if k.lower() not in _HOP_HEADERS
            }
            resp = web.StreamResponse(status=upstream.status, headers=out_headers)
            await resp.prepare(request)
            with contextlib.suppress(ConnectionResetError):  # the client gave up
                await _forward(request, upstream, resp, fault, config)
            return resp

    app.on_startup.append(on_startup)
    app.on_cleanup.append(on_cleanup)
    app.router.add_route("*", "/{tail:.*}", handle)
    return app


async def _forward(
    request: web.Request,
    upstream: aiohttp.ClientResponse,
    resp: web.StreamResponse,
    fault: Fault,
    config: FaultConfig,
) -> None:
    """Copy the upstream body line by line, striking with `fault` after enough events."""
    events = 0
    async for line in upstream.content:
        await resp.write(line)
        if line.startswith(b"data:"):
            events += 1
        if events < config.after_events or fault == "ok" or line.strip():
            continue
        # A whole event has just been forwarded: strike now.
        if fault == "stall":
            await asyncio.sleep(config.stall_s)
        elif fault == "cut":
            assert request.transport is not None
            request.transport.abort()
            return
        elif fault == "malformed":
            await resp.write(b'data: {"choices": [ this is not json\n\n')
        fault = "ok"
    await resp.write_eof()


def main(argv: list[str] | None = None) -> None:
    """Serve the proxy until interrupted."""
    parser = argparse.ArgumentParser(description="A fault-injecting reverse proxy.")
    parser.add_argument("--upstream", required=True, help="Server to forward to.")
    parser.add_argument("--host", default="127.0.0.1", help="Address to listen on.")
    parser.add_argument("--port", type=int, default=8001, help="Port to listen on.")
    for name in ("429", "500", "stall", "cut", "malformed"):
        parser.add_argument(
            f"--rate-{name}",
            type=float,
            default=0.0,
            help=f"Share of requests given the {name} fault.",
        )
    parser.add_argument("--retry-after-s", type=float, default=0.05, help="Retry-After on 429.")
    parser.add_argument("--stall-s", type=float, default=30.0, help="Length of a stall.")
    parser.add_argument("--seed", type=int, default=0, help="Seed for drawing faults.")
    args = parser.parse_args(argv)
    config = FaultConfig(
        upstream=args.upstream,
        rate_429=args.rate_429,
        rate_500=args.rate_500,
        rate_stall=args.rate_stall,
        rate_cut=args.rate_cut,
        rate_malformed=args.rate_malformed,
        retry_after_s=args.retry_after_s,
        stall_s=args.stall_s,
        seed=args.seed,
    )
    print(json.dumps({"proxy": f"http://{args.host}:{args.port}", "upstream": args.upstream}))
    web.run_app(
        create_fault_proxy_app(config), host=args.host, port=args.port, access_log=None, print=None
    )


if __name__ == "__main__":
    main()
