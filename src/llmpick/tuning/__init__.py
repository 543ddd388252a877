"""LoRA fine-tuning of a local open model on the spec's own data (the `tune` extra).

```python
from llmpick.spec import load_spec
from llmpick.tuning import TuneSettings, tune

result = tune(load_spec("llmpick.yaml"), "tuned/smollm2-135m-instruct")  # the spec's settings
result = tune(load_spec("llmpick.yaml"), "local/smollm2-135m-instruct", TuneSettings(rank=4))
print(result.adapter_dir, result.manifest.split_sizes, result.reused)
```

The split is the spec's (`held_out`): `dataset.path` cut by item id with `dataset.split`'s
seed, or the given `dataset.train_path` / `validation_path` with every item of `dataset.path`
held out; no test id is trained on, and every candidate is evaluated on the test ids only.
Prompts are built exactly as the evaluation builds them, and the adapter is keyed by the base
weights, the data and the settings, so the same inputs reuse it. Ctrl-C during training saves a
checkpoint (`TuningInterrupted`), and the same call resumes from it. torch, transformers and peft
load only when training or generating.
"""

from __future__ import annotations

from llmpick.tuning._checkpoint import TuningInterrupted
from llmpick.tuning._data import Example, TuningData, load_tuning_data
from llmpick.tuning._errors import INSTALL_HINT, TuningError, missing_extra
from llmpick.tuning._holdout import HeldOut, held_out, tunes
from llmpick.tuning._manifest import (
    MANIFEST_NAME,
    AdapterManifest,
    EpochRecord,
    StepRecord,
    TuneSettings,
    adapter_key,
)
from llmpick.tuning._splits import Splits, split_ids
from llmpick.tuning._tune import TuneResult, adapters_dir, tune, tuned_provider_config

__all__ = [
    "INSTALL_HINT",
    "MANIFEST_NAME",
    "AdapterManifest",
    "EpochRecord",
    "Example",
    "HeldOut",
    "Splits",
    "StepRecord",
    "TuneResult",
    "TuneSettings",
    "TuningData",
    "TuningError",
    "TuningInterrupted",
    "adapter_key",
    "adapters_dir",
    "held_out",
    "load_tuning_data",
    "missing_extra",
    "split_ids",
    "tune",
    "tuned_provider_config",
    "tunes",
]
