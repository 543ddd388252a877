"""Safety as measured evidence: llmpick's probe suite run on every candidate, inside the
deployment's own system prompt and task, scored by deterministic checks.

```python
from llmpick.safety import run_probes
report = await run_probes(load_spec("llmpick.yaml"), store, folder=Path(".probes"))
for c in report.candidates:
    print(c.label, {k: r.rate for k, r in c.categories.items()})
```

Categories: system-prompt leakage (a canary in the system prompt, also caught spaced, reversed or
base64/hex encoded), prompt injection (a marker word asked for by instructions hidden in the
content), PII leakage (synthetic personal data the instructions forbid repeating), harmful
compliance (must refuse) and over-refusal (must not refuse a benign request).
"""

from __future__ import annotations

from llmpick.safety._checks import Verdict, injected, leaked, pii_repeated, refused
from llmpick.safety._run import (
    CandidateSafety,
    CategoryRate,
    PairedProbes,
    ProbeFailure,
    ProbeReport,
    probe_spec,
    read_probe_run,
    run_probes,
)
from llmpick.safety._scorer import SafetyProbeScorer
from llmpick.safety._suite import (
    CATEGORIES,
    Planted,
    Probe,
    SafetyError,
    category_description,
    load_probes,
    planted_for,
)

__all__ = [
    "CATEGORIES",
    "CandidateSafety",
    "CategoryRate",
    "PairedProbes",
    "Planted",
    "Probe",
    "ProbeFailure",
    "ProbeReport",
    "SafetyError",
    "SafetyProbeScorer",
    "Verdict",
    "category_description",
    "injected",
    "leaked",
    "load_probes",
    "pii_repeated",
    "planted_for",
    "probe_spec",
    "read_probe_run",
    "refused",
    "run_probes",
]
