"""Where llama.cpp's own log lines go: a log file, not the user's terminal.

llama.cpp reports every model load in dozens of lines on stderr, and llama-cpp-python's filter
(`verbose=False`) maps this llama.cpp's levels wrongly, so its warnings ("using full-size SWA
cache") still reach the output of `eval`, `decide` and `ask`. `route_llama_cpp_logs()` installs
a log callback that appends every line to `$LLMPICK_HOME/logs/llama-cpp.log` (home default:
`~/.local/share/llmpick`) and, when `LLMPICK_VERBOSE` is set (`llmpick --verbose ...`), also
prints it on stderr. Call it after importing `llama_cpp` and before loading a model.
"""

from __future__ import annotations

import ctypes
import os
import sys
import threading
from pathlib import Path
from typing import Any, TextIO

__all__ = ["VERBOSE_ENV", "llama_cpp_log_path", "route_llama_cpp_logs"]

VERBOSE_ENV = "LLMPICK_VERBOSE"

_lock = threading.Lock()
_installed: dict[str, Any] = {}  # keeps the ctypes callback alive while llama.cpp holds it


def llama_cpp_log_path() -> Path:
    """The file llama.cpp's log lines are appended to."""
    home = os.environ.get("LLMPICK_HOME")
    base = Path(home).expanduser() if home else Path.home() / ".local" / "share" / "llmpick"
    return base / "logs" / "llama-cpp.log"


def route_llama_cpp_logs() -> Path | None:
    """Send llama.cpp's log lines to the log file (and stderr when verbose); idempotent.

    Returns the log file, or None when llama-cpp-python is not installed. A log file that
    cannot be written is skipped silently: a log must never stop a run.
    """
    with _lock:
        if "callback" in _installed:
            return _installed.get("path")
        try:
            import llama_cpp
        except ImportError:
            return None
        path = llama_cpp_log_path()
        handle: TextIO | None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handle = path.open("a", encoding="utf-8", buffering=1)
        except OSError:
            handle = None
        echo = bool(os.environ.get(VERBOSE_ENV))

        @llama_cpp.llama_log_callback
        def _callback(level: int, text: bytes, user_data: ctypes.c_void_p) -> None:
            line = text.decode("utf-8", errors="replace")
            if handle is not None:
                handle.write(line)
            if echo:
                sys.stderr.write(line)

        llama_cpp.llama_log_set(_callback, ctypes.c_void_p(0))
        _installed.update(callback=_callback, handle=handle, path=path if handle else None)
        return path if handle else None
