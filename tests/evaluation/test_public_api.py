from __future__ import annotations

import importlib

import pytest


@pytest.mark.parametrize("package", ["llmpick.evaluation", "llmpick.store"])
def test_all_lists_every_public_name(package: str) -> None:
    module = importlib.import_module(package)
    public = {
        name
        for name, value in vars(module).items()
        if not name.startswith("_") and getattr(value, "__module__", "").startswith(package)
    }
    assert public <= set(module.__all__)
    assert all(hasattr(module, name) for name in module.__all__)
