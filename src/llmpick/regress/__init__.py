"""Keep testing the choice: re-run a candidate's evaluation against its deployment and compare
it with a baseline run, item by item.

```python
from llmpick.regress import regress
report = regress("llmpick.yaml", candidate="my-vllm", endpoint="http://gpu-box:8000/v1")
report.exit_code      # 0 held, 1 regressed (quality, SLO or cost), 3 underpowered
report.junit_xml()    # for CI systems
```

A quality drop fails only when it is statistically significant (McNemar's exact test on the
paired items for pass/fail metrics, a paired sign-flip permutation test otherwise) at the spec's
`regress.alpha` and larger than `regress.max_quality_drop`. A test set too small to detect a drop
of `regress.detectable_drop` is reported as underpowered, with the number of paired items that
would be needed, rather than as a pass.
"""

from __future__ import annotations

from llmpick.regress._compare import (
    Check,
    Flip,
    RegressionReport,
    compare_scores,
    items_to_detect,
)
from llmpick.regress._run import RegressError, baseline_run, regress

__all__ = [
    "Check",
    "Flip",
    "RegressError",
    "RegressionReport",
    "baseline_run",
    "compare_scores",
    "items_to_detect",
    "regress",
]
