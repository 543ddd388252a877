"""The pass-through's HTTP/1.1 client against real servers on loopback: aiohttp's (bodies by
length and chunked, kept-alive connections) and a raw socket server that answers with exact
bytes (split heads, chunk extensions and trailers, bodies read to the end, cuts, stale
kept-alive connections, broken heads), and https with certificate checks."""

from __future__ import annotations

import asyncio
import ssl
import subprocess
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from aiohttp import web

from llmpick.gateway._upstream import UpstreamClosed, UpstreamError, UpstreamPool
from llmpick.testing import ServerThread


def echo_app() -> web.Application:
    async def whole(request: web.Request) -> web.Response:
        body = await request.read()
        return web.Response(body=b"got:" + body, headers={"x-path": request.path})

    async def chunked(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse()
        await resp.prepare(request)
        for i in range(50):
            await resp.write(f"piece {i};".encode())
        await resp.write_eof()
        return resp

    app = web.Application()
    app.router.add_post("/v1/whole", whole)
    app.router.add_post("/v1/chunked", chunked)
    return app


async def test_bodies_by_length_and_chunked_over_one_kept_alive_connection() -> None:
    with ServerThread(echo_app()) as server:
        pool = UpstreamPool(server.url + "/v1", headers={"X-Extra": "1"})
        try:
            for i in range(20):
                response = await pool.post("/whole", f"n={i}".encode(), "text/plain")
                assert response.status == 200
                assert response.headers["x-path"] == "/v1/whole"
                assert await response.read() == f"got:n={i}".encode()
            streamed = await pool.post("/chunked", b"", "text/plain")
            pieces = [piece async for piece in streamed.pieces()]
            assert b"".join(pieces) == b"".join(f"piece {i};".encode() for i in range(50))
            assert len(pool._idle) == 1  # every request reused the one connection
        finally:
            pool.close()


@asynccontextmanager
async def raw_server(
    answer: Callable[[int, asyncio.StreamWriter], object],
) -> AsyncIterator[str]:
    """A server that reads each request's head and body and lets `answer(n, writer)` write the
    bytes of the answer, `n` counting requests across all connections (0, 1, ...)."""
    count = 0

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal count
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length")
                )
                await reader.readexactly(length)
                count += 1
                result = answer(count - 1, writer)
                if asyncio.iscoroutine(result):
                    await result
                if writer.is_closing():
                    return
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()


async def test_heads_and_chunks_split_anywhere_and_trailers() -> None:
    raw = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: b\r\n\r\n"
        b"5;ext=1\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\nX-Trailer: t\r\n\r\n"
    )

    async def answer(n: int, writer: asyncio.StreamWriter) -> None:
        for i in range(len(raw)):  # one byte per write: every split point is exercised
            writer.write(raw[i : i + 1])
            await writer.drain()
            await asyncio.sleep(0)

    async with raw_server(answer) as url:
        pool = UpstreamPool(url)
        try:
            for _ in range(2):
                response = await pool.post("/x", b"{}", "application/json")
                assert response.headers["x-a"] == "b"
                assert await response.read() == b"hello world"
        finally:
            pool.close()


async def test_a_body_read_to_the_end_and_connection_close_are_not_reused() -> None:
    async def answer(n: int, writer: asyncio.StreamWriter) -> None:
        if n == 0:  # kept open by the server, but the head says it closes
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
            return
        writer.write(b"HTTP/1.0 200 OK\r\n\r\nuntil the end")
        await writer.drain()
        writer.close()

    async with raw_server(answer) as url:
        pool = UpstreamPool(url)
        try:
            assert await (await pool.post("/x", b"", "text/plain")).read() == b"ok"
            assert await (await pool.post("/x", b"", "text/plain")).read() == b"until the end"
            await asyncio.sleep(0.05)
            assert pool._idle == []
        finally:
            pool.close()


async def test_a_cut_body_raises_and_a_stale_kept_alive_connection_is_retried_once() -> None:
    async def answer(n: int, writer: asyncio.StreamWriter) -> None:
        if n == 0:  # answered; the server then drops the kept-alive connection unannounced
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            await writer.drain()
            writer.transport.abort()
        elif n == 1:
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf")
            await writer.drain()
            writer.transport.abort()

    async with raw_server(answer) as url:
        pool = UpstreamPool(url)
        try:
            assert await (await pool.post("/x", b"", "text/plain")).read() == b"ok"
            await asyncio.sleep(0.05)  # the idle connection is gone: a fresh one is used
            response = await pool.post("/x", b"", "text/plain")
            with pytest.raises(UpstreamClosed, match="mid-answer") as cut:
                await response.read()
            assert cut.value.received
        finally:
            pool.close()


async def test_a_kept_alive_connection_closed_as_the_request_goes_is_retried() -> None:
    async def answer(n: int, writer: asyncio.StreamWriter) -> None:
        if n == 0:
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst")
        elif n == 1:  # the second request, on the kept-alive one: closed without a byte
            writer.transport.abort()
        else:
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond")

    async with raw_server(answer) as url:
        pool = UpstreamPool(url)
        try:
            assert await (await pool.post("/x", b"", "text/plain")).read() == b"first"
            # The pool still holds the connection; the server closes it on the next request,
            # so the client retries once, on a fresh connection.
            assert await (await pool.post("/x", b"", "text/plain")).read() == b"second"
        finally:
            pool.close()


async def test_broken_heads_and_refused_connections() -> None:
    async def answer(n: int, writer: asyncio.StreamWriter) -> None:
        writer.write(b"SPDY/9 what\r\n\r\n")

    async with raw_server(answer) as url:
        pool = UpstreamPool(url)
        try:
            with pytest.raises(UpstreamError, match="unreadable HTTP head"):
                await pool.post("/x", b"", "text/plain")
        finally:
            pool.close()
    with pytest.raises(OSError):
        await UpstreamPool("http://127.0.0.1:9/v1").post("/x", b"", "text/plain")
    with pytest.raises(ValueError, match="cannot carry"):
        UpstreamPool("http://127.0.0.1:9", headers={"X-Bad": "a\r\nInjected: 1"})


async def test_https_verifies_the_certificate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecret")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=server_tls)
    url = f"https://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    try:
        untrusted = UpstreamPool(url)
        with pytest.raises(ssl.SSLCertVerificationError):
            await untrusted.post("/x", b"", "text/plain")
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # read when a pool makes its context
        pool = UpstreamPool(url)
        try:
            assert await (await pool.post("/x", b"", "text/plain")).read() == b"secret"
        finally:
            pool.close()
    finally:
        server.close()
