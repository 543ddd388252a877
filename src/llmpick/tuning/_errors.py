"""The one error the tuning package raises on purpose."""

from __future__ import annotations

from llmpick._errors import LlmpickError

__all__ = ["INSTALL_HINT", "TuningError"]

INSTALL_HINT = "pip install 'llmpick[tune]'"


class TuningError(LlmpickError):
    """A candidate cannot be tuned as asked (wrong kind, too few items, missing extra)."""
