"""`tune`: split the spec's data, train a LoRA adapter for one candidate, or reuse the one the
same inputs already produced."""

from __future__ import annotations

import contextlib
import hashlib
import os
import platform
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from llmpick.providers import BUNDLED_MODELS
from llmpick.spec import TUNED_PREFIX, LoadedSpec, TuneSpec
from llmpick.tuning._checkpoint import checkpoint_dir
from llmpick.tuning._data import TuningData, load_tuning_data
from llmpick.tuning._errors import TuningError
from llmpick.tuning._gguf import LORA_GGUF_NAME, write_lora_gguf
from llmpick.tuning._manifest import (
    MANIFEST_NAME,
    AdapterManifest,
    EpochRecord,
    StepRecord,
    TuneSettings,
    adapter_key,
)

__all__ = ["TuneResult", "adapters_dir", "tune", "tuned_provider_config"]

_VERSIONED = ("llmpick", "torch", "transformers", "peft", "gguf")
# Beside an adapter llama.cpp cannot load: why (the report's reason for the transformers runtime).
_NO_LORA_GGUF = "no-lora-gguf.txt"


def adapters_dir() -> Path:
    """Where adapters go by default: `$LLMPICK_HOME/adapters`, else `~/.cache/llmpick/adapters`."""
    home = os.environ.get("LLMPICK_HOME")
    root = Path(home) if home else Path.home() / ".cache" / "llmpick"
    return root / "adapters"


@dataclass(frozen=True)
class TuneResult:
    """The adapter for (base weights, data, settings): trained now, or found from before."""

    adapter_dir: Path
    manifest: AdapterManifest
    reused: bool
    data: TuningData

    @property
    def runtime_reason(self) -> str | None:
        """Why the adapter runs in transformers rather than its base's llama.cpp, if it does."""
        if (self.adapter_dir / LORA_GGUF_NAME).is_file():
            return None
        why = self.adapter_dir / _NO_LORA_GGUF
        return why.read_text(encoding="utf-8").strip() if why.is_file() else None


def tune(
    loaded: LoadedSpec,
    candidate: str,
    settings: TuneSettings | None = None,
    *,
    output_root: Path | None = None,
    on_step: Callable[[StepRecord], None] | None = None,
    on_epoch: Callable[[EpochRecord], None] | None = None,
    on_resume: Callable[[int], None] | None = None,
) -> TuneResult:
    """Tune `candidate` (a spec's `tuned/<name>`, or a local GGUF candidate) on the spec's
    training split; `settings` default to the candidate's `tune` block.

    The adapter lands in `output_root/<key>/` (default `adapters_dir()`), the key hashing the
    base file's SHA-256, the data (prompts, answers, split) and every setting; when that folder
    already holds a finished adapter nothing is trained. The folder appears only once complete.
    Training runs in a child process (`_process`: torch never shares this process with
    llama.cpp). Ctrl-C saves a checkpoint (`.<key>.checkpoint/`) and raises
    `TuningInterrupted`; the next call with the same inputs resumes from it (`on_resume` hears
    after how many steps).
    """
    data = load_tuning_data(loaded, candidate)
    settings = settings or TuneSettings.of(_tune_block(loaded, candidate))
    base_sha = _sha256(data.base_path)
    data_hash = data.data_hash()
    key = adapter_key(base_sha, data_hash, settings)
    root = output_root or adapters_dir()
    final = root / key
    if (final / MANIFEST_NAME).is_file():
        if not (final / LORA_GGUF_NAME).is_file():  # an adapter from before llama.cpp serving
            _llama_cpp_copy(final, data.base_path)
        return TuneResult(final, AdapterManifest.read(final), True, data)

    from llmpick.tuning._process import train_in_child

    root.mkdir(parents=True, exist_ok=True)
    staging = root / f".{key}.partial-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    checkpoint = checkpoint_dir(root, key)
    started = time.perf_counter()
    try:
        outcome = train_in_child(
            data.split("train"),
            data.split("validation"),
            data.base_path,
            data.prompt_mode,
            settings,
            staging,
            checkpoint=checkpoint,
            on_step=on_step,
            on_epoch=on_epoch,
            on_resume=on_resume,
        )
        if not outcome.steps:
            raise TuningError("no training step ran (empty training split?)")
        manifest = AdapterManifest(
            key=key,
            candidate=candidate,
            base_model=data.base_model,
            base_file=data.base_path.name,
            base_sha256=base_sha,
            prompt_mode=data.prompt_mode,
            data_hash=data_hash,
            split_sizes=data.splits.sizes(),
            split_ids={
                "train": list(data.splits.train),
                "validation": list(data.splits.validation),
                "test": list(data.splits.test),
            },
            settings=settings,
            initial_validation_loss=outcome.initial_validation_loss,
            steps=outcome.steps,
            epochs=outcome.epochs,
            best_epoch=outcome.best_epoch,
            stopped_early=outcome.stopped_early,
            wall_time_s=round(outcome.prior_seconds + time.perf_counter() - started, 3),
            resumed_after=list(outcome.resumed_after),
            train_tokens=outcome.train_tokens,
            hardware=outcome.hardware or {},
            versions=_versions(),
        )
        manifest.write(staging)
        _llama_cpp_copy(staging, data.base_path)
        try:
            staging.rename(final)
        except OSError:  # another process finished the same adapter first: keep theirs
            if not (final / MANIFEST_NAME).is_file():
                raise
            return TuneResult(final, AdapterManifest.read(final), True, data)
        shutil.rmtree(checkpoint, ignore_errors=True)  # the adapter is whole: nothing to resume
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return TuneResult(final, manifest, False, data)


def tuned_provider_config(result: TuneResult) -> dict[str, Any]:
    """The provider config that runs the base weights with this adapter: llama.cpp with the
    adapter's LoRA GGUF (the base's own runtime) when it could be written, else transformers.

    A bundled base is named (not its path, which moves with the virtual environment), and
    the adapter's key is part of the config, so cached answers follow the adapter."""
    data = result.data
    label = data.candidate if data.candidate.startswith(TUNED_PREFIX) else TUNED_PREFIX + (
        data.candidate.rsplit("/", 1)[-1]
    )  # fmt: skip
    bundled = data.base_model in BUNDLED_MODELS
    common = {
        "model": label,
        "base_model": data.base_model if bundled else None,
        "model_path": None if bundled else str(data.base_path),
        "adapter_key": result.manifest.key,
        "prompt_mode": data.prompt_mode,
    }
    lora = result.adapter_dir / LORA_GGUF_NAME
    if lora.is_file():
        return {"kind": "llamacpp", **common, "lora_path": str(lora)}
    return {"kind": "transformers", **common, "adapter_path": str(result.adapter_dir)}


def _llama_cpp_copy(adapter_dir: Path, base_path: Path) -> None:
    """The adapter as a llama.cpp LoRA GGUF beside it; where the layout is not mapped the
    adapter runs in transformers, and the reason is kept beside it for the report."""
    try:
        write_lora_gguf(adapter_dir, base_path)
    except TuningError as exc:
        (adapter_dir / _NO_LORA_GGUF).write_text(f"{exc}\n", encoding="utf-8")


def _tune_block(loaded: LoadedSpec, candidate: str) -> TuneSpec | None:
    found = next((c for c in loaded.spec.candidates if c.label == candidate), None)
    return found.tune if found is not None else None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _versions() -> dict[str, str]:
    found: dict[str, str] = {"python": platform.python_version()}
    for name in _VERSIONED:
        with contextlib.suppress(metadata.PackageNotFoundError):
            found[name] = metadata.version(name)
    return found
