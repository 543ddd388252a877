"""Serve a model yourself: the command line of an OpenAI-compatible server for a GGUF model.

Today that server is llama-cpp-python's own (CPU or Metal, one sequence at a time), enough to
try the whole self-hosted path offline: `llmpick serve`, then `llmpick loadtest` against it. It
starts with llmpick's sampling defaults (no repeat penalty), so a model decodes there exactly as
it does in-process, and it reuses the prompt head requests share (llama-cpp-python keeps the
longest common prefix of consecutive requests; exact on the CPU, see `llmpick.providers`' llama.cpp
adapter). The evaluation sends each candidate's prompts back to back, all with the same head.

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
