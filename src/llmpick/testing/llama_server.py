"""llama-cpp-python's own OpenAI-compatible server, serving a bundled model on 127.0.0.1.

A real serving endpoint with no network and no GPU: the provider tests talk to it, and a load
test can measure it (it generates one sequence at a time, so its capacity is easy to reason
about). Needs `pip install 'llmpick[serve]'`.

    with LlamaCppServer("local/smollm2-135m-instruct") as server:
        ...  # server.url == "http://127.0.0.1:<port>/v1"
"""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.request

from llmpick.providers import ProviderSetupError
from llmpick.serving import llamacpp_server_command

__all__ = ["LlamaCppServer"]


class LlamaCppServer:
    """Start on `__enter__` (waits until `/v1/models` answers), stop on `__exit__`."""

    def __init__(
        self,
        model_id: str = "local/smollm2-135m-instruct",  # or a path to a .gguf file
        *,
        threads: int = 1,
        context_tokens: int = 1024,
        startup_timeout_s: float = 60.0,
    ) -> None:
        self.model_id = model_id
        self._threads = threads
        self._context = context_tokens
        self._timeout = startup_timeout_s
        self._process: subprocess.Popen[bytes] | None = None
        self.url = ""

    def __enter__(self) -> LlamaCppServer:
        port = _free_port()
        command = llamacpp_server_command(
            self.model_id, port=port, threads=self._threads, context_tokens=self._context
        )
        self._process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        self.url = f"http://127.0.0.1:{port}/v1"
        deadline = time.monotonic() + self._timeout
        while True:
            try:
                with urllib.request.urlopen(self.url + "/models", timeout=1) as answer:
                    answer.read()
                return self
            except OSError:
                if self._process.poll() is not None or time.monotonic() > deadline:
                    self.__exit__()
                    raise ProviderSetupError(
                        f"llama_cpp.server did not start for {self.model_id} on {self.url}"
                    ) from None
                time.sleep(0.2)

    def __exit__(self, *exc: object) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
