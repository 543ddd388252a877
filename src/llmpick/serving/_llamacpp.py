"""llama-cpp-python's OpenAI-compatible server for a bundled model or any GGUF file."""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path

from llmpick.providers import BUNDLED_MODELS, ProviderSetupError, resolve_gguf

__all__ = ["SERVER_INSTALL_HINT", "ServedModel", "llamacpp_server_command", "served_model"]

SERVER_INSTALL_HINT = "pip install 'llmpick[serve]'  (llama-cpp-python with its server)"


@dataclass(frozen=True)
class ServedModel:
    """What to serve: the GGUF file and the name clients send as `model`."""

    path: Path
    name: str
    catalog_id: str | None


def served_model(model: str) -> ServedModel:
    """A bundled model id (`local/smollm2-135m-instruct`) or a path to a `.gguf` file."""
    if model in BUNDLED_MODELS:
        return ServedModel(resolve_gguf(BUNDLED_MODELS[model]), model.split("/", 1)[-1], model)
    path = Path(model).expanduser()
    if path.suffix.lower() == ".gguf" and path.is_file():
        return ServedModel(path, path.stem, None)
    raise ProviderSetupError(
        f"{model!r} is neither a bundled model ({', '.join(BUNDLED_MODELS)}) nor a .gguf file"
    )


def llamacpp_server_command(
    model: str,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    threads: int | None = None,
    context_tokens: int = 2048,
) -> list[str]:
    """The argv that runs llama.cpp's server for `model`; raises with the install command when
    the server is missing."""
    if importlib.util.find_spec("llama_cpp") is None or (
        importlib.util.find_spec("llama_cpp.server") is None
    ):
        raise ProviderSetupError(f"llama.cpp's server is not installed: {SERVER_INSTALL_HINT}")
    served = served_model(model)
    command = [
        # llama-cpp-python's server, with its request defaults set to llmpick's sampling.
        sys.executable, "-m", "llmpick.serving._server_main", "--model", str(served.path),
        "--model_alias", served.name, "--host", host, "--port", str(port),
        "--n_ctx", str(context_tokens),
        # Without this a second request silently cuts off the first stream instead of waiting.
        "--interrupt_requests", "false",
    ]  # fmt: skip
    if threads is not None:
        command += ["--n_threads", str(threads)]
    return command
