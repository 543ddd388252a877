"""llmpick: decide between a self-hosted open-weight LLM and a closed API model, with evidence.

The library is the product; the CLI only wraps it. The public API is re-exported here.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
