"""Step 2: rule out the models that cannot be used, each exclusion with its reason.

```python
from llmpick.constraints import check_spec
report = check_spec(load_spec("llmpick.yaml").spec)
for verdict in report.excluded:
    print(verdict.candidate.id, [r.message for r in verdict.exclusions])
```
"""

from __future__ import annotations

from llmpick.constraints._candidates import (
    Deployment,
    ResolvedCandidate,
    resolve_candidates,
)
from llmpick.constraints._check import (
    CandidateVerdict,
    CheckReport,
    check_candidates,
    check_spec,
)
from llmpick.constraints._hardware import RENTABLE, check_hardware, serving_shape
from llmpick.constraints._rules import RULES, RuleResult, rule

__all__ = [
    "RENTABLE",
    "RULES",
    "CandidateVerdict",
    "CheckReport",
    "Deployment",
    "ResolvedCandidate",
    "RuleResult",
    "check_candidates",
    "check_hardware",
    "check_spec",
    "resolve_candidates",
    "rule",
    "serving_shape",
]
