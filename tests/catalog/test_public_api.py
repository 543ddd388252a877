"""The catalog package's public API: `__all__` lists exactly what it exports."""

from __future__ import annotations

import llmpick.catalog


def test_all_is_complete_and_importable() -> None:
    public = {
        name
        for name, value in vars(llmpick.catalog).items()
        if not name.startswith("_")
        and (getattr(value, "__module__", "").startswith("llmpick.") or name.isupper())
    }
    assert public == set(llmpick.catalog.__all__)
    for name in llmpick.catalog.__all__:
        assert getattr(llmpick.catalog, name) is not None
