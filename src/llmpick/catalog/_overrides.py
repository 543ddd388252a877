"""The user's catalog overrides: facts refreshed by `llmpick catalog update`.

They live in `$LLMPICK_HOME/catalog-overrides.yaml` (default `~/.local/share/llmpick`), apart from
the bundled data so that upgrading llmpick never loses them and deleting the file restores the
bundled facts. Each overridden fact keeps the source and date it was read from, which
`CatalogEntry` shows through the section's `fact_sources`::

    models:
      openai/gpt-4o:
        pricing:
          input_usd_per_mtok: {value: 2.5, source: https://models.dev/api.json, as_of: 2026-11-28}
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from llmpick._files import write_text_atomic
from llmpick.catalog._errors import CatalogFileError
from llmpick.catalog._schema import CatalogEntry, FactSource
from llmpick.catalog._yaml import dump_yaml, parse_yaml, validation_problems

__all__ = [
    "UPDATABLE_FACTS",
    "CatalogOverrides",
    "FactOverride",
    "apply_overrides",
    "llmpick_home",
    "overrides_path",
    "read_overrides",
    "write_overrides",
]

# The facts `catalog update` may replace, by section. Everything else in the catalog is curated.
UPDATABLE_FACTS: Mapping[str, tuple[str, ...]] = {
    "pricing": ("input_usd_per_mtok", "output_usd_per_mtok", "cached_input_usd_per_mtok"),
    "limits": ("context_window_tokens", "max_output_tokens"),
}

_HEADER = (
    "# Catalog facts refreshed by `llmpick catalog update`; they replace the bundled values.\n"
    "# Delete a model (or this file) to go back to the bundled catalog.\n"
)


class FactOverride(BaseModel):
    """One refreshed fact with where and when it was read."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    value: float | int | None
    source: str = Field(min_length=1)
    as_of: dt.date


class CatalogOverrides(BaseModel):
    """The whole overrides file: model id -> section -> field -> refreshed fact."""

    model_config = ConfigDict(extra="forbid")

    models: dict[str, dict[str, dict[str, FactOverride]]] = Field(default_factory=dict)

    def set(self, model_id: str, section: str, field: str, fact: FactOverride) -> None:
        """Record (or replace) one refreshed fact."""
        if field not in UPDATABLE_FACTS.get(section, ()):
            raise ValueError(f"{section}.{field} is not a fact `catalog update` may change")
        sections = self.models.setdefault(model_id, {})
        sections.setdefault(section, {})[field] = fact


def llmpick_home() -> Path:
    """llmpick's per-user data folder: `$LLMPICK_HOME`, else `~/.local/share/llmpick`."""
    configured = os.environ.get("LLMPICK_HOME")
    return Path(configured).expanduser() if configured else Path.home() / ".local/share/llmpick"


def overrides_path() -> Path:
    """Where `catalog update` writes and `load_catalog` reads the overrides."""
    return llmpick_home() / "catalog-overrides.yaml"


def read_overrides(path: Path | None = None) -> CatalogOverrides:
    """The overrides in `path` (default: `overrides_path()`); none when the file is missing."""
    path = path or overrides_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return CatalogOverrides()
    except OSError as exc:
        raise CatalogFileError(path, [f"cannot read: {exc.strerror or exc}"]) from None
    data = parse_yaml(text, path) or {}
    try:
        overrides = CatalogOverrides.model_validate(data)
    except ValidationError as exc:
        problems = validation_problems(exc, text)
        raise CatalogFileError(
            path, [*problems, "fix or delete the file, then run `llmpick catalog update` again"]
        ) from None
    for model_id, sections in overrides.models.items():
        for section, fields in sections.items():
            if section not in UPDATABLE_FACTS:
                raise CatalogFileError(
                    path,
                    [
                        f"models.{model_id}.{section}: not an updatable section "
                        f"(allowed: {', '.join(UPDATABLE_FACTS)})"
                    ],
                )
            for field in fields:
                if field not in UPDATABLE_FACTS[section]:
                    allowed = ", ".join(UPDATABLE_FACTS[section])
                    raise CatalogFileError(
                        path,
                        [
                            f"models.{model_id}.{section}.{field}: not an updatable fact "
                            f"(allowed: {allowed})"
                        ],
                    )
    return overrides


def write_overrides(overrides: CatalogOverrides, path: Path | None = None) -> Path:
    """Write the overrides atomically (a crash never leaves half a file); returns the path."""
    path = path or overrides_path()
    write_text_atomic(path, _HEADER + dump_yaml(overrides.model_dump(mode="python")))
    return path


def apply_overrides(
    entry: CatalogEntry, sections: Mapping[str, Mapping[str, FactOverride]], path: Path
) -> CatalogEntry:
    """`entry` with refreshed facts in place, each recorded in its section's `fact_sources`.

    A section the entry lacks (an open-weight model without `pricing`) is left out: an override
    refreshes facts, it does not invent a section whose other facts nobody sourced.
    """
    updates = {}
    for section_name, fields in sections.items():
        section = getattr(entry, section_name)
        if section is None or not fields:
            continue
        data = section.model_dump()
        fact_sources = dict(section.fact_sources)
        for field, fact in fields.items():
            data[field] = fact.value
            fact_sources[field] = FactSource(source=fact.source, as_of=fact.as_of)
        data["fact_sources"] = fact_sources
        try:
            updates[section_name] = type(section).model_validate(data)
        except ValidationError as exc:
            problems = [
                f"models.{entry.id}.{section_name}.{'.'.join(map(str, e['loc']))}: {e['msg']}"
                for e in exc.errors()
            ]
            raise CatalogFileError(path, problems) from None
    return entry.model_copy(update=updates) if updates else entry
