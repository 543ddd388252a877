"""A forwarder with no logic: the floor under the gateway's added latency on this machine.

    python benchmarks/_forwarder.py aiohttp|bare UPSTREAM_URL PORT

POSTs each request's body, untouched, to `UPSTREAM_URL/v1/chat/completions` through the gateway's
own `UpstreamPool`, and sends the upstream's bytes back: no parsing of either JSON, no checks, no
routing, accounting or logs. `aiohttp` serves it on aiohttp's server, as the gateway is served;
`bare` on an asyncio protocol with a minimal HTTP/1.1 reader (Content-Length bodies, keep-alive:
what the benchmark's generator sends, nothing more), the least a Python front end can do per
request. `benchmarks/bench_gateway.py` runs both beside the gateway, so a run shows how much of
the added latency is the extra hop on this machine and how much is the gateway's own work.
/metrics gives `process_cpu_seconds_total` and `process_resident_memory_bytes` as the gateway's.
"""

from __future__ import annotations

import asyncio
import resource
import sys

from aiohttp import web

from llmpick.gateway._upstream import UpstreamPool

_JSON = "application/json"


def _metrics() -> bytes:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = usage.ru_utime + usage.ru_stime
    rss = usage.ru_maxrss * 1024
    return f"process_cpu_seconds_total {cpu}\nprocess_resident_memory_bytes {rss}\n".encode()


async def _serve_aiohttp(pool: UpstreamPool, port: int) -> None:
    async def chat(request: web.Request) -> web.Response:
        response = await pool.post("/chat/completions", await request.read(), _JSON)
        return web.Response(body=await response.read(), status=response.status, content_type=_JSON)

    async def metrics(request: web.Request) -> web.Response:
        return web.Response(body=_metrics(), content_type="text/plain")

    async def health(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/health", health)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()


class _Bare(asyncio.Protocol):
    """One connection: requests read in order, each answered before the next is read."""

    def __init__(self, pool: UpstreamPool) -> None:
        self.pool = pool
        self.buffer = b""
        self.busy = False
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if not self.busy:
            self._next()

    def _next(self) -> None:
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = self.buffer[:end].decode("latin-1").split("\r\n")
        length = 0
        for line in head[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        if len(self.buffer) < end + 4 + length:
            return
        body = self.buffer[end + 4 : end + 4 + length]
        self.buffer = self.buffer[end + 4 + length :]
        self.busy = True
        asyncio.get_running_loop().create_task(self._answer(head[0].split(" ")[1], body))

    async def _answer(self, path: str, body: bytes) -> None:
        if path == "/v1/chat/completions":
            response = await self.pool.post("/chat/completions", body, _JSON)
            status, out, kind = response.status, await response.read(), _JSON
        else:
            status, out, kind = 200, _metrics() if path == "/metrics" else b"{}", "text/plain"
        assert self.transport is not None
        self.transport.write(
            f"HTTP/1.1 {status} OK\r\nContent-Type: {kind}\r\nContent-Length: {len(out)}\r\n\r\n"
            .encode() + out
        )  # fmt: skip
        self.busy = False
        self._next()


async def main(kind: str, upstream: str, port: int) -> None:
    pool = UpstreamPool(upstream.rstrip("/") + "/v1", connect_timeout_s=5)
    if kind == "aiohttp":
        await _serve_aiohttp(pool, port)
    else:
        loop = asyncio.get_running_loop()
        await loop.create_server(lambda: _Bare(pool), "127.0.0.1", port)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
