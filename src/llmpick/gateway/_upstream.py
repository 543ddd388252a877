"""A lean HTTP/1.1 client for the OpenAI pass-through: kept-alive connections to one origin,
one write per request, and the answer parsed as it arrives by the connection's protocol.

Why not aiohttp's client, which the rest of llmpick uses: measured at 500 requests/s, a paced
client in front of the mock (CPU time of the proxy process per request, from /proc), an
aiohttp server that answers by itself took 0.21 ms and one that forwards through an aiohttp
`ClientSession` 0.42 ms: the client cost as much as the whole server (URL and header objects,
tracing hooks, timers, a stream reader and several tasks' worth of hops per request). The gateway
needs little of that: POST bytes, read a status, headers and a body (by length, chunked, or to
the end), reuse the connection. This client does that in one protocol object per connection and
one future per request.

    pool = UpstreamPool("http://127.0.0.1:8000/v1", connect_timeout_s=5)
    response = await pool.post("/chat/completions", body, headers)
    raw = await response.read()            # or: async for piece in response.pieces(): ...
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Mapping
from urllib.parse import urlsplit

__all__ = [
    "UpstreamClosed",
    "UpstreamConnectTimeout",
    "UpstreamError",
    "UpstreamPool",
    "UpstreamResponse",
]

_HEAD, _LENGTH, _CHUNKED, _TO_EOF, _DONE = range(5)
_MAX_HEAD = 64 * 1024
# A streamed body waiting for its reader past this stops the socket's reads (back-pressure).
_HIGH_WATER = 1 << 20


class UpstreamError(Exception):
    """The upstream broke the protocol (an unreadable status line, headers or chunk)."""


class UpstreamConnectTimeout(UpstreamError):
    """No connection within the pool's `connect_timeout_s`."""


class UpstreamClosed(UpstreamError):
    """The connection closed before the answer was whole; `received`: any byte of it came.
    The message reads after the upstream's name ("... closed the connection mid-answer")."""

    def __init__(self, message: str, received: bool) -> None:
        super().__init__(message)
        self.received = received


class UpstreamResponse:
    """One answer: `status` and `headers` (lower-case names) once `post` returns; the body from
    `read()` (whole) or `pieces()` (as it arrives). A body not read to its end must be `close`d
    (its connection cannot be reused); a whole one frees its connection by itself."""

    __slots__ = (
        "_buf",
        "_chunk_left",
        "_conn",
        "_error",
        "_head",
        "_pending",
        "_pieces",
        "_remaining",
        "_state",
        "_streaming",
        "_waiter",
        "headers",
        "keep_alive",
        "received",
        "status",
    )

    def __init__(self, conn: _Connection, head: asyncio.Future[None]) -> None:
        self._conn: _Connection | None = conn
        self._head = head
        self._state = _HEAD
        self._buf = b""
        self._pieces: list[bytes] = []
        self._pending = 0
        self._remaining = 0
        self._chunk_left = -1  # -1: a size line is next; 0: the CRLF after a chunk is next
        self._waiter: asyncio.Future[None] | None = None
        self._streaming = False  # read piece by piece: back-pressure applies
        self._error: BaseException | None = None
        self.status = 0
        self.headers: dict[str, str] = {}
        self.keep_alive = False
        self.received = False

    # The reader's side ----------------------------------------------------------------------

    @property
    def done(self) -> bool:
        return self._state == _DONE

    async def read(self) -> bytes:
        """The whole body."""
        while self._state != _DONE:
            await self._wait()
        pieces, self._pieces = self._pieces, []
        return pieces[0] if len(pieces) == 1 else b"".join(pieces)

    async def next_piece(self) -> bytes:
        """The body bytes that arrived since the last call (waiting for some); b"" at the end."""
        self._streaming = True
        while not self._pieces:
            if self._state == _DONE:
                return b""
            await self._wait()
        pieces, self._pieces = self._pieces, []
        if self._pending > _HIGH_WATER and self._conn is not None and not self._conn.closed:
            self._conn.transport.resume_reading()
        self._pending = 0
        return pieces[0] if len(pieces) == 1 else b"".join(pieces)

    async def pieces(self) -> AsyncIterator[bytes]:
        """The body as it arrives."""
        while piece := await self.next_piece():
            yield piece

    def close(self) -> None:
        """Give up on the rest of the body: the connection closes (no-op once whole)."""
        conn, self._conn = self._conn, None
        if conn is not None and self._state != _DONE:
            conn.response = None
            conn.transport.close()
        if self._state != _DONE and self._error is None:
            self._error = UpstreamClosed("the answer was abandoned", self.received)  # by us

    async def _wait(self) -> None:
        if self._error is not None:
            raise self._error
        waiter = self._waiter = asyncio.get_running_loop().create_future()
        try:
            await waiter
        finally:
            self._waiter = None
        if self._error is not None:
            raise self._error

    # The connection's side ------------------------------------------------------------------

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _fail(self, error: BaseException) -> None:
        if self._state == _DONE or self._error is not None:
            return
        self._error = error
        if not self._head.done():
            self._head.set_exception(error)
            self._head.exception()  # retrieved: `post` may have stopped waiting (cancelled)
        self._wake()

    def _push(self, piece: bytes) -> None:
        if piece:
            self._pieces.append(piece)
            self._pending += len(piece)
            if self._streaming and self._pending > _HIGH_WATER and self._conn is not None:
                self._conn.transport.pause_reading()

    def _finish(self) -> None:
        self._state = _DONE
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.response = None
            conn.pool._release(conn, self.keep_alive)
        self._wake()

    def feed(self, data: bytes) -> None:
        self.received = True
        if self._state == _HEAD:
            data = self._buf + data if self._buf else data
            end = data.find(b"\r\n\r\n")
            if end < 0:
                if len(data) > _MAX_HEAD:
                    self._fail(UpstreamError("the upstream's headers are too long"))
                    self.close()
                else:
                    self._buf = data
                return
            self._buf = b""
            try:
                self._parse_head(data[:end])
            except (ValueError, UnicodeDecodeError):
                self._fail(UpstreamError("the upstream sent an unreadable HTTP head"))
                self.close()
                return
            data = data[end + 4 :]
            if self.status < 200:  # 100 Continue and friends: the real head follows
                self._state = _HEAD
                self.headers = {}
                if data:
                    self.feed(data)
                return
            if not self._head.done():
                self._head.set_result(None)
            if self._state == _DONE:
                self._finish()
                return
            if not data:
                return
        state = self._state
        if state == _LENGTH:
            if len(data) >= self._remaining:
                if len(data) > self._remaining:  # bytes past the body: do not reuse this one
                    self.keep_alive = False
                self._push(data[: self._remaining])
                self._remaining = 0
                self._finish()
            else:
                self._remaining -= len(data)
                self._push(data)
                self._wake()
        elif state == _CHUNKED:
            self._feed_chunked(data)
        elif state == _TO_EOF:
            self._push(data)
            self._wake()

    def _parse_head(self, head: bytes) -> None:
        lines = head.split(b"\r\n")
        version, _, rest = lines[0].partition(b" ")
        if not version.startswith(b"HTTP/1."):
            raise ValueError("not HTTP/1.x")
        self.status = int(rest[:3])
        headers = self.headers
        for line in lines[1:]:
            name, sep, value = line.partition(b":")
            if not sep:
                raise ValueError("a header line without a colon")
            headers[name.strip().lower().decode("latin-1")] = value.strip().decode("latin-1")
        connection = headers.get("connection", "").lower()
        self.keep_alive = version == b"HTTP/1.1" and "close" not in connection
        if self.status < 200:
            return
        if self.status in (204, 304):
            self._state = _DONE
        elif "chunked" in headers.get("transfer-encoding", "").lower():
            self._state = _CHUNKED
        elif "content-length" in headers:
            self._remaining = int(headers["content-length"])
            if self._remaining < 0:
                raise ValueError("a negative Content-Length")
            self._state = _LENGTH if self._remaining else _DONE
        else:
            self._state = _TO_EOF
            self.keep_alive = False

    def _feed_chunked(self, data: bytes) -> None:
        buf = self._buf + data if self._buf else data
        pos = 0
        pushed = False
        while True:
            left = self._chunk_left
            if left > 0:
                take = buf[pos : pos + left]
                self._push(take)
                pushed = True
                pos += len(take)
                self._chunk_left = left - len(take)
                if self._chunk_left:
                    break  # the rest of this chunk is still on its way
            if self._chunk_left == 0:  # the CRLF that closes a chunk
                if len(buf) - pos < 2:
                    break
                pos += 2
                self._chunk_left = -1
            if self._chunk_left == -2:  # after the last chunk: trailers up to an empty line
                end = buf.find(b"\r\n", pos)
                if end < 0:
                    break
                if end == pos:
                    self._buf = b""
                    self._finish()
                    return
                pos = end + 2
                continue
            end = buf.find(b"\r\n", pos)
            if end < 0:
                if len(buf) - pos > 1024:
                    self._fail(UpstreamError("an unreadable chunk size from the upstream"))
                    self.close()
                    return
                break
            try:
                size = int(buf[pos:end].split(b";", 1)[0], 16)
            except ValueError:
                self._fail(UpstreamError("an unreadable chunk size from the upstream"))
                self.close()
                return
            pos = end + 2
            self._chunk_left = size if size else -2
        self._buf = buf[pos:]
        if pushed:
            self._wake()

    def lost(self, exc: BaseException | None) -> None:
        if self._state == _TO_EOF and exc is None:
            self._finish()
            return
        self._conn = None
        what = "mid-answer" if self.received else "before answering"
        self._fail(UpstreamClosed(f"closed the connection {what}", self.received))


class _Connection(asyncio.Protocol):
    """One socket to the upstream; its current `response` gets the bytes that arrive."""

    __slots__ = ("closed", "idle_since", "pool", "response", "transport")

    def __init__(self, pool: UpstreamPool) -> None:
        self.pool = pool
        self.transport: asyncio.Transport = None  # type: ignore[assignment]
        self.response: UpstreamResponse | None = None
        self.closed = False
        self.idle_since = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        response = self.response
        if response is None:  # bytes nobody asked for: the connection is not reusable
            self.transport.close()
            return
        response.feed(data)

    def eof_received(self) -> bool:
        return False  # close the transport; `connection_lost` ends the response

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        response, self.response = self.response, None
        if response is not None:
            response.lost(exc)


class UpstreamPool:
    """Kept-alive HTTP/1.1 connections to the origin of `base_url` (http or https), whose path
    prefixes every request's. Connections idle for `idle_timeout_s` are not reused."""

    def __init__(
        self,
        base_url: str,
        *,
        connect_timeout_s: float = 5.0,
        idle_timeout_s: float = 30.0,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {base_url!r}")
        self.host = parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.prefix = parts.path.rstrip("/")
        self.connect_timeout_s = connect_timeout_s
        self.idle_timeout_s = idle_timeout_s
        self._ssl: ssl.SSLContext | None = None
        if parts.scheme == "https":
            self._ssl = ssl.create_default_context()
        default_port = parts.port is None or parts.port == (443 if self._ssl else 80)
        host = f"[{self.host}]" if ":" in self.host else self.host
        netloc = host if default_port else f"{host}:{self.port}"
        fixed = {"Host": netloc, "User-Agent": "llmpick-gateway", "Accept": "*/*"}
        for name, value in {**fixed, **(headers or {})}.items():
            if any(c in f"{name}{value}" for c in "\r\n\0") or ":" in name:
                raise ValueError(f"header {name!r} has a character HTTP headers cannot carry")
        self._headers = "".join(
            f"{name}: {value}\r\n" for name, value in {**fixed, **(headers or {})}.items()
        ).encode("latin-1")
        self._idle: list[_Connection] = []
        self._closed = False

    async def post(self, path: str, body: bytes, content_type: str) -> UpstreamResponse:
        """Send one POST and wait for the answer's head. Raises `OSError` (cannot connect) or an
        `UpstreamError` (`UpstreamConnectTimeout`, `UpstreamClosed`, a broken answer)."""
        head = (
            f"POST {self.prefix}{path} HTTP/1.1\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\n"
        ).encode("latin-1")
        request = head + self._headers + b"\r\n" + body
        loop = asyncio.get_running_loop()
        for attempt in (1, 2):
            conn, reused = await self._acquire(loop)
            started = loop.create_future()
            response = UpstreamResponse(conn, started)
            conn.response = response
            conn.transport.write(request)
            try:
                await started
            except UpstreamClosed as exc:
                # A kept-alive connection the server had just closed: nothing was processed,
                # so one more try on a fresh connection is safe.
                if reused and not exc.received and attempt == 1:
                    continue
                raise
            except BaseException:
                response.close()
                raise
            return response
        raise AssertionError("unreachable")

    async def _acquire(self, loop: asyncio.AbstractEventLoop) -> tuple[_Connection, bool]:
        idle = self._idle
        now = loop.time()
        while idle:
            conn = idle.pop()
            if conn.closed:
                continue
            if now - conn.idle_since > self.idle_timeout_s:
                conn.transport.close()
                continue
            return conn, True
        try:
            async with asyncio.timeout(self.connect_timeout_s):
                _, conn = await loop.create_connection(
                    lambda: _Connection(self),
                    self.host,
                    self.port,
                    ssl=self._ssl,
                    server_hostname=self.host if self._ssl else None,
                )
        except TimeoutError:
            raise UpstreamConnectTimeout(
                f"no connection to {self.host}:{self.port} within {self.connect_timeout_s:g} s"
            ) from None
        return conn, False

    def _release(self, conn: _Connection, keep_alive: bool) -> None:
        if keep_alive and not conn.closed and not self._closed:
            conn.idle_since = asyncio.get_running_loop().time()
            self._idle.append(conn)
        else:
            conn.transport.close()

    def close(self) -> None:
        """Close the idle connections; those in use close when their answer ends."""
        self._closed = True
        for conn in self._idle:
            conn.transport.close()
        self._idle.clear()
