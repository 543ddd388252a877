"""Serve a model yourself: the command line of an OpenAI-compatible server for a GGUF model.

Today that server is llama-cpp-python's own (CPU or Metal, one sequence at a time), enough to
try the whole self-hosted path offline: `llmpick serve`, then `llmpick loadtest` against it.

    from llmpick.serving import llamacpp_server_command
    command = llamacpp_server_command("local/smollm2-135m-instruct", port=8000)
"""

from __future__ import annotations

from llmpick.serving._llamacpp import (
    SERVER_INSTALL_HINT,
    ServedModel,
    llamacpp_server_command,
    served_model,
)

__all__ = ["SERVER_INSTALL_HINT", "ServedModel", "llamacpp_server_command", "served_model"]
