"""Shared fixtures: real servers on 127.0.0.1 and the bundled models, loaded once per session."""

from __future__ import annotations

import asyncio
import importlib.util
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from llmpick.providers._llamacpp import LlamaCppConfig, LlamaCppProvider
from llmpick.testing import ServerThread

HAVE_LLAMA = importlib.util.find_spec("llama_cpp") is not None
needs_llama = pytest.mark.skipif(not HAVE_LLAMA, reason="needs the `local` extra")

# A key that must never show up in any output; tests grep for it.
PLANTED_KEY = "sk-planted-SECRET-4f9c2e7a1b"


@pytest.fixture(scope="session")
def llmpick_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A private LLMPICK_HOME, so assembled models land in a temporary folder."""
    home = tmp_path_factory.mktemp("llmpick-home")
    old = os.environ.get("LLMPICK_HOME")
    os.environ["LLMPICK_HOME"] = str(home)
    yield home
    if old is None:
        os.environ.pop("LLMPICK_HOME", None)
    else:
        os.environ["LLMPICK_HOME"] = old


def _loaded(model: str) -> Iterator[LlamaCppProvider]:
    provider = LlamaCppProvider(LlamaCppConfig(model=model, n_threads=2, n_ctx=1024))
    asyncio.run(provider.load())
    yield provider
    asyncio.run(provider.aclose())


@pytest.fixture(scope="session")
def smollm2(llmpick_home: Path) -> Iterator[LlamaCppProvider]:
    if not HAVE_LLAMA:
        pytest.skip("needs the `local` extra")
    yield from _loaded("local/smollm2-135m-instruct")


@pytest.fixture(scope="session")
def gemma(llmpick_home: Path) -> Iterator[LlamaCppProvider]:
    if not HAVE_LLAMA:
        pytest.skip("needs the `local` extra")
    yield from _loaded("local/gemma-3-270m")


def serve(app: object) -> ServerThread:
    """Start an aiohttp app on a free loopback port (use as a context manager)."""
    return ServerThread(app)  # type: ignore[arg-type]
