"""Step 4: costs, the weighted decision, its sensitivity and confidence.

```python
from llmpick.decision import decide
decision = decide(spec, check_report, evidence_by_candidate, items)
decision["recommendation"]["id"]
```
"""

from __future__ import annotations

from llmpick.costs import CandidateCost, CapacityEvidence, cost_candidate, replica_throughput
from llmpick.decision._decide import PROVENANCE_LEGEND, decide
from llmpick.decision._evidence import (
    DatasetItem,
    Evidence,
    ItemResponse,
    LatencyEvidence,
    QualityEvidence,
    percentile,
)
from llmpick.decision._scoring import CRITERIA, criteria, pareto_front, weighted_score

__all__ = [
    "CRITERIA",
    "PROVENANCE_LEGEND",
    "CandidateCost",
    "CapacityEvidence",
    "DatasetItem",
    "Evidence",
    "ItemResponse",
    "LatencyEvidence",
    "QualityEvidence",
    "cost_candidate",
    "criteria",
    "decide",
    "pareto_front",
    "percentile",
    "replica_throughput",
    "weighted_score",
]
