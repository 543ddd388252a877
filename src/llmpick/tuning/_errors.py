"""The one error the tuning package raises on purpose, and the check for its extra."""

from __future__ import annotations

import importlib.util

from llmpick._errors import LlmpickError

__all__ = ["INSTALL_HINT", "TuningError", "missing_extra"]

INSTALL_HINT = "pip install 'llmpick[tune]'"

_EXTRA = ("torch", "transformers", "peft", "gguf")


class TuningError(LlmpickError):
    """A candidate cannot be tuned as asked (wrong kind, too few items, missing extra)."""


def missing_extra() -> str | None:
    """Why tuning cannot run here (a package of the `tune` extra is missing, with the pip
    command), or None; nothing is imported, so the check is cheap."""
    missing = [name for name in _EXTRA if importlib.util.find_spec(name) is None]
    if not missing:
        return None
    return f"tuning needs the `tune` extra ({', '.join(missing)} missing): {INSTALL_HINT}"
