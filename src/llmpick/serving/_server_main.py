"""`python -m llmpick.serving._server_main ARGS`: llama-cpp-python's server, llmpick's sampling.

llama-cpp-python's server fills what a request leaves out with its own defaults (repeat_penalty
1.1, top_k 40, top_p 0.95, min_p 0.05), which differ from llama.cpp's in-process API and from
what llmpick runs in-process (`llmpick.providers.SAMPLING`). At temperature 0 the repeat penalty
alone changed 9 of 60 quickstart answers between `llmpick eval` in-process and against
`llmpick serve`. This entry point sets the request defaults to llmpick's before the server
starts, so every client (llmpick, lm-evaluation-harness, curl) gets the same decoding as the
in-process provider; ARGS are the server's own (`--model`, `--port`, ...).
"""

from __future__ import annotations

import os
import sys
from typing import Any

from llmpick.providers._llamacpp import DEFAULT_TOP_P, SAMPLING

__all__ = ["SERVER_SAMPLING", "main"]

# The request fields llama-cpp-python's server accepts, at llmpick's values.
SERVER_SAMPLING: dict[str, float | int] = {
    "top_p": DEFAULT_TOP_P,
    **{k: v for k, v in SAMPLING.items() if k != "typical_p"},
}


def _with_defaults(model: Any) -> Any:
    """A subclass of the server's request model whose sampling fields default to ours."""
    from pydantic import create_model

    fields: dict[str, Any] = {}
    for name, value in SERVER_SAMPLING.items():
        info = model.model_fields[name]
        fields[name] = (info.annotation, _field_like(info, value))
    return create_model(model.__name__, __base__=model, **fields)


def _field_like(info: Any, default: Any) -> Any:
    from pydantic import Field

    bounds = {
        key: getattr(meta, key)
        for meta in info.metadata
        for key in ("ge", "le", "gt", "lt")
        if getattr(meta, key, None) is not None
    }
    return Field(default, description=info.description, **bounds)


def main() -> None:
    """Patch the request models, then run the server's own command line."""
    from llama_cpp.server import types

    from llmpick._logs import VERBOSE_ENV, route_llama_cpp_logs

    # llama.cpp's model-load lines go to the log file; the server's access log stays on screen.
    route_llama_cpp_logs()
    if not os.environ.get(VERBOSE_ENV) and "--verbose" not in sys.argv:
        sys.argv += ["--verbose", "false"]  # no model metadata dump (llmpick --verbose keeps it)
    for name in ("CreateCompletionRequest", "CreateChatCompletionRequest"):
        setattr(types, name, _with_defaults(getattr(types, name)))
    # Imported after the patch: the app binds the request models when it is first imported.
    from llama_cpp.server.__main__ import main as server_main

    server_main()


if __name__ == "__main__":
    main()
