"""The model catalog: sourced facts about closed API models and open-weight models.

```python
from llmpick.catalog import load_catalog

catalog = load_catalog()
entry = catalog.get("gpt-4o")                     # ids and aliases, any case
cheap_open = catalog.filter(open_weights=True, commercial=True, min_context=32_000)
```

Every section of an entry says where its facts were read and when (`source`, `as_of`); facts
refreshed later by `llmpick catalog update` carry their own (`section.source_of(field)`).
"""

from __future__ import annotations

from llmpick.catalog._catalog import Catalog
from llmpick.catalog._errors import (
    CatalogError,
    CatalogFileError,
    CatalogUpdateError,
    UnknownModelError,
)
from llmpick.catalog._loader import load_catalog
from llmpick.catalog._overrides import overrides_path
from llmpick.catalog._schema import MODALITIES, Benchmark, CatalogEntry, FactSource, Sourced
from llmpick.catalog._update import (
    FactChange,
    UpdateResult,
    VerifyResult,
    update_catalog,
    verify_catalog,
)

__all__ = [
    "MODALITIES",
    "Benchmark",
    "Catalog",
    "CatalogEntry",
    "CatalogError",
    "CatalogFileError",
    "CatalogUpdateError",
    "FactChange",
    "FactSource",
    "Sourced",
    "UnknownModelError",
    "UpdateResult",
    "VerifyResult",
    "load_catalog",
    "overrides_path",
    "update_catalog",
    "verify_catalog",
]
