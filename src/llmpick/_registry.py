"""A registry of implementations keyed by `kind`, imported on first use.

Providers and scorers are both extended this way: an entry is a class, or a lazy
"module:Class" path so that the base install works without the optional packages an
implementation needs. An unknown kind lists the available ones.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Generic, TypeVar, cast

T = TypeVar("T")


class LazyRegistry(Generic[T]):
    """Maps a kind to a subclass of `base` (which may be abstract); "module:Class" entries
    are imported when first used."""

    def __init__(
        self,
        base: type,
        noun: str,
        error: Callable[[str], Exception],
        entries: Mapping[str, str | type[T]] | None = None,
    ) -> None:
        self._base = base
        self._noun = noun
        self._error = error
        self._entries: dict[str, str | type[T]] = dict(entries or {})

    def register(self, kind: str, target: str | type[T]) -> None:
        """Add or replace `kind`; `target` is a class or a lazy "module:Class" path."""
        self._entries[kind] = target

    def kinds(self) -> list[str]:
        """The registered kinds, sorted."""
        return sorted(self._entries)

    def get(self, kind: str) -> type[T]:
        """The implementation for `kind`; raises the registry's error listing the kinds."""
        try:
            target = self._entries[kind]
        except KeyError:
            raise self._error(
                f"unknown {self._noun} {kind!r}; available: {', '.join(self.kinds())}"
            ) from None
        if isinstance(target, str):
            module_name, _, class_name = target.partition(":")
            loaded = getattr(importlib.import_module(module_name), class_name)
            if not (isinstance(loaded, type) and issubclass(loaded, self._base)):
                raise TypeError(f"{target} is not a {self._base.__name__}")
            self._entries[kind] = target = cast("type[T]", loaded)
        return target
