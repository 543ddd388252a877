"""llama-cpp-python's own OpenAI-compatible server, serving a bundled model on 127.0.0.1.

A real serving endpoint with no network and no GPU: the provider tests talk to it, and a load
test can measure it (it generates one sequence at a time, so its capacity is easy to reason
about). Needs `pip install 'llmpick[serve]'`.

    with LlamaCppServer("local/smollm2-135m-instruct") as server:
        ...  # server.url == "http://127.0.0.1:<port>/v1"
"""

from __future__ import annotations

from llmpick.providers import ProviderSetupError
from llmpick.serving import llamacpp_server_command
from llmpick.testing._server_process import ServerProcess

__all__ = ["LlamaCppServer"]


class LlamaCppServer(ServerProcess):
    """Start on `__enter__` (waits until `/v1/models` answers), stop on `__exit__`; `url` ends
    in `/v1`."""

    def __init__(
        self,
        model_id: str = "local/smollm2-135m-instruct",  # or a path to a .gguf file
        *,
        threads: int = 1,
        context_tokens: int = 1024,
        startup_timeout_s: float = 60.0,
    ) -> None:
        self.model_id = model_id
        super().__init__(
            lambda port: llamacpp_server_command(
                model_id, port=port, threads=threads, context_tokens=context_tokens
            ),
            ready_path="/v1/models",
            startup_timeout_s=startup_timeout_s,
            error=ProviderSetupError,
        )

    def __enter__(self) -> LlamaCppServer:
        super().__enter__()
        self.url += "/v1"
        return self
