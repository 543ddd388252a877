"""Real servers on 127.0.0.1 for tests and load tests: an OpenAI-compatible mock with
configurable timing and errors, Anthropic- and Gemini-protocol servers, a fault-injecting
proxy, and llama.cpp's own server for a bundled model. Nothing here reaches beyond loopback.

    with ServerThread(create_mock_app(MockServerConfig(ttft_ms=50, itl_ms=10))) as server:
        ...  # server.url == "http://127.0.0.1:<port>"
"""

from __future__ import annotations

from llmpick.testing._server_process import ServerProcess, free_port, mock_server_process
from llmpick.testing._server_thread import ServerThread
from llmpick.testing.fault_proxy import FAULTS, FaultConfig, create_fault_proxy_app
from llmpick.testing.llama_server import LlamaCppServer
from llmpick.testing.mock_server import STATS, MockServerConfig, create_mock_app
from llmpick.testing.vendor_servers import (
    VendorServerConfig,
    create_anthropic_app,
    create_gemini_app,
)

__all__ = [
    "FAULTS",
    "STATS",
    "FaultConfig",
    "LlamaCppServer",
    "MockServerConfig",
    "ServerProcess",
    "ServerThread",
    "VendorServerConfig",
    "create_anthropic_app",
    "create_fault_proxy_app",
    "create_gemini_app",
    "create_mock_app",
    "free_port",
    "mock_server_process",
]
