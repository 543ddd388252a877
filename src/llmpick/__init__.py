"""llmpick: decide between a self-hosted open-weight LLM and a closed API model, with evidence.

The library is the product; the CLI only wraps it:

```python
import llmpick

report = llmpick.check("llmpick.yaml")              # eligible / excluded, with reasons
decision = llmpick.decide("llmpick.yaml")           # check, evaluate, cost, decide
print(decision.recommendation.headline)
llmpick.write_report(decision, "llmpick-report")    # report.html, decision.md, decision.json
```

Names are imported on first use, so `import llmpick` (and the CLI's start-up) stays light.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from llmpick._errors import LlmpickError
    from llmpick._pipeline import DecideOptions, check, decide, evaluate, fit
    from llmpick.decision import Decision
    from llmpick.report import write_report
    from llmpick.spec import load_spec

# Public name -> (module, attribute).
_EXPORTS: dict[str, tuple[str, str]] = {
    "DecideOptions": ("llmpick._pipeline", "DecideOptions"),
    "Decision": ("llmpick.decision", "Decision"),
    "LlmpickError": ("llmpick._errors", "LlmpickError"),
    "check": ("llmpick._pipeline", "check"),
    "decide": ("llmpick._pipeline", "decide"),
    "evaluate": ("llmpick._pipeline", "evaluate"),
    "fit": ("llmpick._pipeline", "fit"),
    "load_spec": ("llmpick.spec", "load_spec"),
    "write_report": ("llmpick.report", "write_report"),
}

__all__ = [
    "DecideOptions",
    "Decision",
    "LlmpickError",
    "__version__",
    "check",
    "decide",
    "evaluate",
    "fit",
    "load_spec",
    "write_report",
]


def __getattr__(name: str) -> Any:
    try:
        module, attribute = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'llmpick' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
