"""The root of every error llmpick raises on purpose.

Catch `LlmpickError` to handle anything llmpick reports as a user-facing problem; the CLI prints
its message in one line (no traceback) and exits with status 2.
"""

from __future__ import annotations

__all__ = ["LlmpickError"]


class LlmpickError(Exception):
    """A problem llmpick can explain: the message says what happened and how to fix it."""

    exit_code = 2  # the CLI's exit status for it (an interrupt's is 130, as the shell's)
