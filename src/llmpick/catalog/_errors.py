"""Errors of the model catalog: unknown model ids, bad data files, failed updates.

```
LlmpickError
└── CatalogError
    ├── UnknownModelError      an id or alias no catalog entry answers to; has .suggestions
    ├── CatalogFileError       a catalog or overrides file that does not parse or validate;
    │                          names the file, line and field of each problem
    └── CatalogUpdateError     `catalog update` could not fetch or understand its document
```
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from llmpick._errors import LlmpickError

__all__ = ["CatalogError", "CatalogFileError", "CatalogUpdateError", "UnknownModelError"]


class CatalogError(LlmpickError):
    """Any problem with the model catalog."""


class UnknownModelError(CatalogError, LookupError):
    """No catalog entry has this id or alias; `.suggestions` holds the closest ids."""

    def __init__(self, model_id: str, suggestions: Sequence[str] = ()) -> None:
        self.model_id = model_id
        self.suggestions: list[str] = list(suggestions)
        if self.suggestions:
            hint = "did you mean " + ", ".join(f"'{s}'" for s in self.suggestions) + "?"
        else:
            hint = "see `llmpick catalog list` or `llmpick catalog search TEXT` for known ids"
        super().__init__(f"unknown model '{model_id}'; {hint}")


class CatalogFileError(CatalogError):
    """A data file is not valid: `.problems` lists `line: field: what is wrong` per issue."""

    def __init__(self, path: Path | str, problems: Sequence[str]) -> None:
        self.path = Path(path)
        self.problems: list[str] = list(problems)
        details = (
            "; ".join(self.problems)
            if len(self.problems) <= 3
            else ("; ".join(self.problems[:3]) + f"; and {len(self.problems) - 3} more")
        )
        super().__init__(f"{self.path}: {details}")


class CatalogUpdateError(CatalogError):
    """`catalog update` could not read its source, or the document has an unexpected shape."""
