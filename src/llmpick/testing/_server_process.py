"""Run a server as a subprocess on 127.0.0.1: a free port, a readiness check, a clean stop."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Sequence
from typing import Self

__all__ = ["ServerProcess", "free_port", "mock_server_process"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerProcess:
    """`with ServerProcess(argv_for) as server:` runs `argv_for(port)` until the block ends.

    Entering waits until `ready_path` answers over HTTP at `server.url` (or the process dies,
    or `startup_timeout_s` passes: then `RuntimeError`, or what `error` builds).
    """

    def __init__(
        self,
        argv_for: Callable[[int], Sequence[str]],
        *,
        ready_path: str = "/health",
        startup_timeout_s: float = 60.0,
        error: Callable[[str], Exception] = RuntimeError,
    ) -> None:
        self._argv_for = argv_for
        self._ready_path = ready_path
        self._timeout = startup_timeout_s
        self._error = error
        self._process: subprocess.Popen[bytes] | None = None
        self.url = ""

    def __enter__(self) -> Self:
        port = free_port()
        command = list(self._argv_for(port))
        self._process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        self.url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + self._timeout
        while True:
            try:
                with urllib.request.urlopen(self.url + self._ready_path, timeout=1) as answer:
                    answer.read()
                return self
            except OSError:
                if self._process.poll() is not None or time.monotonic() > deadline:
                    self.__exit__()
                    raise self._error(
                        f"{' '.join(command[1:3])} did not start on {self.url}"
                    ) from None
                time.sleep(0.1)

    def __exit__(self, *exc: object) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None


def mock_server_process(*options: str) -> ServerProcess:
    """llmpick's mock OpenAI-compatible server in its own process (a benchmark's server must
    not share the client's interpreter); `options` are its command-line flags."""
    module = "llmpick.testing.mock_server"
    return ServerProcess(lambda port: [sys.executable, "-m", module, "--port", str(port), *options])
