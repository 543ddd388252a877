"""Loading the catalog: the bundled data files, the user's extra folders and overrides.

Loading parses and validates every file once per process (about 120 small YAML files); later
calls return the cached `Catalog` until the overrides file changes.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path, PurePosixPath
from typing import Any

from pydantic import ValidationError

from llmpick.catalog._catalog import Catalog
from llmpick.catalog._errors import CatalogFileError
from llmpick.catalog._overrides import apply_overrides, overrides_path, read_overrides
from llmpick.catalog._schema import CatalogEntry
from llmpick.catalog._yaml import parse_yaml, validation_problems

__all__ = ["bundled_files", "load_catalog", "load_entry_file"]

_YAML_SUFFIXES = (".yaml", ".yml")
_lock = threading.Lock()
_bundled: tuple[CatalogEntry, ...] | None = None
_extra: dict[tuple[Path, ...], tuple[CatalogEntry, ...]] = {}
_catalogs: dict[tuple[Any, ...], Catalog] = {}


def bundled_files() -> list[tuple[str, Traversable]]:
    """Every bundled data file as (path relative to `models/`, file), sorted by path."""
    root = resources.files("llmpick.catalog") / "models"
    return sorted(_walk(root, PurePosixPath()), key=lambda item: item[0])


def _walk(folder: Traversable, relative: PurePosixPath) -> Iterator[tuple[str, Traversable]]:
    for item in folder.iterdir():
        if item.is_dir():
            yield from _walk(item, relative / item.name)
        elif item.name.endswith(_YAML_SUFFIXES) and not item.name.startswith("."):
            yield (relative / item.name).as_posix(), item


def load_entry_file(text: str, path: Path | str, expected_id: str | None = None) -> CatalogEntry:
    """Validate one data file's text; errors name the file, line and field.

    `expected_id` is the id the file's location implies (bundled files live at
    `models/<vendor>/<model>.yaml`, so their id must be `<vendor>/<model>`).
    """
    data = parse_yaml(text, path)
    if not isinstance(data, dict):
        raise CatalogFileError(path, ["the file must be a mapping of fields (id, name, ...)"])
    try:
        entry = CatalogEntry.model_validate(data)
    except ValidationError as exc:
        raise CatalogFileError(path, validation_problems(exc, text)) from None
    if expected_id is not None and entry.id != expected_id:
        raise CatalogFileError(
            path, [f"id: '{entry.id}' does not match the file's place; expected '{expected_id}'"]
        )
    return entry


def _load_bundled() -> tuple[CatalogEntry, ...]:
    global _bundled
    if _bundled is None:
        entries = []
        for relative, item in bundled_files():
            expected_id = relative.rsplit(".", 1)[0]
            entries.append(
                load_entry_file(item.read_text(encoding="utf-8"), str(item), expected_id)
            )
        _bundled = tuple(entries)
    return _bundled


def _load_extra(folders: tuple[Path, ...]) -> tuple[CatalogEntry, ...]:
    if folders not in _extra:
        seen: dict[str, Path] = {}
        entries = []
        for folder in folders:
            if not folder.is_dir():
                raise CatalogFileError(folder, ["not a folder of catalog files"])
            for path in sorted(p for p in folder.rglob("*") if p.suffix in _YAML_SUFFIXES):
                entry = load_entry_file(path.read_text(encoding="utf-8"), path)
                if entry.id in seen:
                    raise CatalogFileError(
                        path, [f"id: '{entry.id}' is also the id of {seen[entry.id]}"]
                    )
                seen[entry.id] = path
                entries.append(entry)
        _extra[folders] = tuple(entries)
    return _extra[folders]


def _file_signature(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size


def load_catalog(extra_dirs: Sequence[Path | str] = ()) -> Catalog:
    """The model catalog: bundled entries, then `extra_dirs`, then the user's overrides.

    - Bundled files ship in `llmpick/catalog/models/`; a file that does not validate raises
      `CatalogFileError` naming the file, line and field (a packaging bug, never skipped).
    - `extra_dirs`: folders of your own entry files (any layout); an entry there replaces a
      bundled one with the same id.
    - Facts refreshed by `llmpick catalog update` (`$LLMPICK_HOME/catalog-overrides.yaml`)
      replace the values they refresh, each keeping its own source and date.

    The result is cached for the process and reloaded only when the overrides file changes.
    """
    folders = tuple(Path(folder).expanduser().resolve() for folder in extra_dirs)
    overrides_file = overrides_path()
    key = (folders, overrides_file, _file_signature(overrides_file))
    with _lock:
        cached = _catalogs.get(key)
        if cached is not None:
            return cached
        by_id = {entry.id: entry for entry in _load_bundled()}
        by_id.update({entry.id: entry for entry in _load_extra(folders)})
        for model_id, sections in read_overrides(overrides_file).models.items():
            if model_id in by_id:
                by_id[model_id] = apply_overrides(by_id[model_id], sections, overrides_file)
        catalog = Catalog(by_id.values())
        _catalogs[key] = catalog
        return catalog
