"""`Catalog`: the loaded model entries, with look-up by id or alias, filters and search."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Iterator

from llmpick.catalog._errors import UnknownModelError
from llmpick.catalog._schema import CatalogEntry, CommercialUse, Modality

__all__ = ["Catalog"]

_MAX_SUGGESTIONS = 3


def _key(text: str) -> str:
    return text.strip().lower()


def _slug(model_id: str) -> str:
    return model_id.split("/", 1)[-1]


def _compact(text: str) -> str:
    """Lower case with punctuation dropped, so 'Meta', 'meta' and 'meta-llama' compare simply."""
    return re.sub(r"[^a-z0-9]", "", text.lower())


class Catalog:
    """An immutable set of catalog entries, sorted by id.

    Look-ups are case-insensitive and accept an entry's id, any of its aliases, its API model
    name, or the part of the id after the vendor when only one entry has it.
    """

    def __init__(self, entries: Iterable[CatalogEntry]) -> None:
        self._entries: tuple[CatalogEntry, ...] = tuple(sorted(entries, key=lambda e: e.id))
        self._by_id: dict[str, CatalogEntry] = {}
        self._by_alias: dict[str, CatalogEntry] = {}
        slugs: dict[str, list[CatalogEntry]] = {}
        for entry in self._entries:
            if _key(entry.id) in self._by_id:
                raise ValueError(f"two catalog entries have the id {entry.id!r}")
            self._by_id[_key(entry.id)] = entry
            slugs.setdefault(_key(_slug(entry.id)), []).append(entry)
        for entry in self._entries:
            names = [*entry.aliases, *([entry.api_model] if entry.api_model else [])]
            for name in names:
                # An id always wins over another entry's alias; the first alias wins a tie.
                self._by_alias.setdefault(_key(name), entry)
        for slug, owners in slugs.items():
            if len(owners) == 1:
                self._by_alias.setdefault(slug, owners[0])

    @property
    def models(self) -> tuple[CatalogEntry, ...]:
        """Every entry, sorted by id."""
        return self._entries

    @property
    def ids(self) -> list[str]:
        """Every entry's id, sorted."""
        return [entry.id for entry in self._entries]

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[CatalogEntry]:
        return iter(self._entries)

    def __contains__(self, model_id: object) -> bool:
        return isinstance(model_id, str) and self.find(model_id) is not None

    def __repr__(self) -> str:
        return f"<Catalog: {len(self._entries)} models>"

    def find(self, model_id: str) -> CatalogEntry | None:
        """The entry with this id or alias, or None."""
        key = _key(model_id)
        return self._by_id.get(key) or self._by_alias.get(key)

    def get(self, model_id: str) -> CatalogEntry:
        """The entry with this id or alias; `UnknownModelError` (with suggestions) if none."""
        entry = self.find(model_id)
        if entry is None:
            raise UnknownModelError(model_id, self.suggest(model_id))
        return entry

    def suggest(self, text: str, limit: int = _MAX_SUGGESTIONS) -> list[str]:
        """Ids that look most like `text`: close spellings first, then search matches."""
        key = _key(text)
        names: dict[str, str] = {eid: eid for eid in self._by_id}
        names.update({_key(_slug(entry.id)): _key(entry.id) for entry in self._entries})
        names.update({alias: _key(entry.id) for alias, entry in self._by_alias.items()})
        suggestions: list[str] = []
        for match in difflib.get_close_matches(key, list(names), n=limit * 3, cutoff=0.6):
            entry = self._by_id[names[match]]
            if entry.id not in suggestions:
                suggestions.append(entry.id)
        for entry in self.search(text):
            if entry.id not in suggestions:
                suggestions.append(entry.id)
        return suggestions[:limit]

    def filter(
        self,
        *,
        open_weights: bool | None = None,
        vendor: str | None = None,
        commercial: bool = False,
        min_context: int | None = None,
        modality: Modality | str | None = None,
    ) -> list[CatalogEntry]:
        """Entries that meet every given condition, sorted by id.

        - `open_weights`: True for open-weight models only, False for closed API models only.
        - `vendor`: the vendor's name or the id's vendor part, any case ("meta", "Meta").
        - `commercial`: only models whose licence allows commercial use, with or without
          conditions (a Llama-style MAU cap counts as allowed).
        - `min_context`: a known context window of at least this many tokens (unknown: excluded).
        - `modality`: accepts this input modality ("image", "audio", "video", "text").
        """
        wanted_vendor = _compact(vendor) if vendor else None
        selected = []
        for entry in self._entries:
            if open_weights is not None and entry.open_weights != open_weights:
                continue
            if wanted_vendor is not None and wanted_vendor not in (
                _compact(entry.vendor),
                _compact(entry.id.split("/", 1)[0]),
            ):
                continue
            if commercial and entry.licence.commercial_use == CommercialUse.NO:
                continue
            if min_context is not None and (
                entry.limits.context_window_tokens is None
                or entry.limits.context_window_tokens < min_context
            ):
                continue
            if modality is not None and modality not in entry.limits.input_modalities:
                continue
            selected.append(entry)
        return selected

    def search(self, text: str) -> list[CatalogEntry]:
        """Entries whose id, name, vendor or aliases contain every word of `text`, best first.

        Ranking: exact id or alias, then ids/names/aliases that start with the text, then
        ones that contain it, then entries that merely contain all its words; ties by id.
        """
        query = _key(text)
        words = query.split()
        if not words:
            return []
        ranked: list[tuple[int, str, CatalogEntry]] = []
        for entry in self._entries:
            names = [_key(n) for n in (entry.id, _slug(entry.id), entry.name, *entry.aliases)]
            if entry.api_model:
                names.append(_key(entry.api_model))
            haystack = " ".join([*names, _key(entry.vendor)])
            if not all(word in haystack for word in words):
                continue
            if query in names:
                rank = 0
            elif any(name.startswith(query) for name in names):
                rank = 1
            elif any(query in name for name in names):
                rank = 2
            elif _key(entry.vendor) == query or _key(entry.id.split("/", 1)[0]) == query:
                rank = 3
            else:
                rank = 4
            ranked.append((rank, entry.id, entry))
        ranked.sort(key=lambda item: (item[0], item[1]))
        return [entry for _, _, entry in ranked]
