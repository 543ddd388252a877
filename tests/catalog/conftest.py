"""Catalog test fixtures: a small catalog, a private LLMPICK_HOME, a loopback HTTP server."""

from __future__ import annotations

import functools
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from llmpick.catalog import Catalog, load_catalog
from llmpick.catalog._loader import load_entry_file

FIXTURES = Path(__file__).parent / "fixtures"
FIXTURE_ENTRIES = FIXTURES / "entries"


@pytest.fixture(autouse=True)
def llmpick_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own LLMPICK_HOME, so none reads or writes the user's overrides."""
    home = tmp_path / "llmpick-home"
    monkeypatch.setenv("LLMPICK_HOME", str(home))
    return home


@pytest.fixture(scope="session")
def fixture_catalog() -> Catalog:
    """Four hand-written entries (tests/catalog/fixtures/entries), independent of bundled data."""
    paths = sorted(FIXTURE_ENTRIES.rglob("*.yaml"))
    return Catalog(load_entry_file(p.read_text(encoding="utf-8"), p) for p in paths)


@pytest.fixture(scope="session")
def bundled_catalog() -> Catalog:
    """The bundled catalog without any overrides."""
    return load_catalog()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@dataclass
class FileServer:
    """A real HTTP server on 127.0.0.1 serving the files in `root`."""

    root: Path
    base_url: str

    def url(self, name: str) -> str:
        return f"{self.base_url}/{name}"

    def put(self, name: str, text: str) -> str:
        """Serve `text` as `name`; returns its URL."""
        (self.root / name).write_text(text, encoding="utf-8")
        return self.url(name)


@pytest.fixture
def file_server(tmp_path: Path) -> Iterator[FileServer]:
    root = tmp_path / "served"
    root.mkdir()
    for name in ("models_dev_api.json", "openrouter_models.json"):
        shutil.copy(FIXTURES / name, root / name)
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    )
    thread.start()
    try:
        yield FileServer(root, f"http://127.0.0.1:{server.server_address[1]}")
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
