"""Step 4: the weighted decision, its sensitivity and confidence, as a typed `Decision`.

```python
from llmpick.decision import decide_from_evidence
decision = decide_from_evidence(spec, check_report, evidence_by_label, items)
decision.recommendation.status     # "chosen" only when a measured candidate meets every need
decision.recommendation.headline
```

Most callers want `llmpick.decide(spec)`, which gathers the evidence (an evaluation run, load
tests) from a spec and a store and then calls `decide_from_evidence`.
"""

from __future__ import annotations

from llmpick.decision._decide import PROVENANCE_LEGEND, decide_from_evidence
from llmpick.decision._evidence import (
    DatasetItem,
    Evidence,
    ItemResponse,
    LatencyEvidence,
    QualityEvidence,
    SafetyEvidence,
    percentile,
)
from llmpick.decision._from_run import evidence_from_run
from llmpick.decision._model import (
    BreakEven,
    CandidateRow,
    CostFigure,
    Decision,
    ItemRow,
    LatencyFigure,
    NeedCheck,
    NextMeasurement,
    PublishedScore,
    QualityFigure,
    Recommendation,
    Sensitivity,
    Serving,
    TrainingCostFigure,
    TunedModel,
    Tuning,
    TuningGain,
    decision_schema_text,
)
from llmpick.decision._scoring import CRITERIA, criteria, pareto_front, weighted_score
from llmpick.decision._tuning import TuningEvidence

__all__ = [
    "CRITERIA",
    "PROVENANCE_LEGEND",
    "BreakEven",
    "CandidateRow",
    "CostFigure",
    "DatasetItem",
    "Decision",
    "Evidence",
    "ItemResponse",
    "ItemRow",
    "LatencyEvidence",
    "LatencyFigure",
    "NeedCheck",
    "NextMeasurement",
    "PublishedScore",
    "QualityEvidence",
    "QualityFigure",
    "Recommendation",
    "SafetyEvidence",
    "Sensitivity",
    "Serving",
    "TrainingCostFigure",
    "TunedModel",
    "Tuning",
    "TuningEvidence",
    "TuningGain",
    "criteria",
    "decide_from_evidence",
    "decision_schema_text",
    "evidence_from_run",
    "pareto_front",
    "percentile",
    "weighted_score",
]
