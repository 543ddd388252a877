"""Evaluate candidate models on the organization's own data.

```python
from llmpick.evaluation import RunOptions, evaluate, summarize_run
from llmpick.spec import load_spec
from llmpick.store import open_store

with open_store() as store:
    outcome = evaluate(load_spec("llmpick.yaml"), store, RunOptions(limit=100))
    summary = summarize_run(store, outcome.run_id)
    for c in summary.candidates:
        print(c.label, c.status_text, c.metrics.get(summary.primary_metric))
```

Datasets (JSONL, CSV, Parquet, saved Hugging Face datasets), Jinja2 prompts (chat or completion),
a registry of scorers (exact ... LLM-as-judge, your own function), an async, cached, resumable
runner, and statistics with confidence intervals and paired comparisons.
"""

from __future__ import annotations

from llmpick.evaluation._assertions import ASSERTIONS_METRIC, RowAssertions, row_assertions
from llmpick.evaluation._candidates import (
    VARIANT_SEPARATOR,
    PlannedCandidate,
    call_cost_usd,
    plan_candidates,
)
from llmpick.evaluation._concurrency import measured_under_queue
from llmpick.evaluation._dataset import (
    DatasetError,
    FieldMapping,
    Item,
    LoadedDataset,
    load_dataset,
    select_items,
)
from llmpick.evaluation._judge import LlmJudge, parse_verdict
from llmpick.evaluation._progress import PlainProgress, RichProgress
from llmpick.evaluation._prompts import COMPLETION_STOP, PromptBuilder, PromptError
from llmpick.evaluation._runner import (
    EvaluationError,
    ProgressSink,
    RunOptions,
    RunOutcome,
    evaluate,
    run_async,
)
from llmpick.evaluation._scorers import (
    AMBIGUOUS_PREFIX,
    ModelCall,
    Sample,
    Score,
    Scorer,
    ScorerConfigError,
    ScorerDescription,
    ScorerEnv,
    ScorerOption,
    build_scorer,
    describe_scorers,
    normalize_text,
    register_scorer,
    scorer_class,
    scorer_kinds,
)
from llmpick.evaluation._stats import (
    CandidateSummary,
    CostSummary,
    MetricSummary,
    PairedComparison,
    Percentiles,
    RunSummary,
    mcnemar_exact_p,
    paired_sample_size,
    summarize_run,
    wilson_interval,
)

__all__ = [
    "AMBIGUOUS_PREFIX",
    "ASSERTIONS_METRIC",
    "COMPLETION_STOP",
    "VARIANT_SEPARATOR",
    "CandidateSummary",
    "CostSummary",
    "DatasetError",
    "EvaluationError",
    "FieldMapping",
    "Item",
    "LlmJudge",
    "LoadedDataset",
    "MetricSummary",
    "ModelCall",
    "PairedComparison",
    "Percentiles",
    "PlainProgress",
    "PlannedCandidate",
    "ProgressSink",
    "PromptBuilder",
    "PromptError",
    "RichProgress",
    "RowAssertions",
    "RunOptions",
    "RunOutcome",
    "RunSummary",
    "Sample",
    "Score",
    "Scorer",
    "ScorerConfigError",
    "ScorerDescription",
    "ScorerEnv",
    "ScorerOption",
    "build_scorer",
    "call_cost_usd",
    "describe_scorers",
    "evaluate",
    "load_dataset",
    "mcnemar_exact_p",
    "measured_under_queue",
    "normalize_text",
    "paired_sample_size",
    "parse_verdict",
    "plan_candidates",
    "register_scorer",
    "row_assertions",
    "run_async",
    "scorer_class",
    "scorer_kinds",
    "select_items",
    "summarize_run",
    "wilson_interval",
]
