"""LoRA fine-tuning of a local open model on the spec's own data (the `tune` extra).

```python
from llmpick.spec import load_spec
from llmpick.tuning import TuneSettings, tune

result = tune(load_spec("llmpick.yaml"), "smollm2", TuneSettings(epochs=2, rank=8))
print(result.adapter_dir, result.manifest.split_sizes, result.reused)
```

The dataset is split into train / validation / test with a fixed seed (ids listed in the
manifest; the test split is never trained on), prompts are built exactly as the evaluation
builds them, and the adapter is keyed by the base weights, the data and the settings, so the
same inputs reuse it. torch, transformers and peft load only when training or generating.
"""

from __future__ import annotations

from llmpick.tuning._data import Example, TuningData, load_tuning_data
from llmpick.tuning._errors import INSTALL_HINT, TuningError
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
    "Splits",
    "StepRecord",
    "TuneResult",
    "TuneSettings",
    "TuningData",
    "TuningError",
    "adapter_key",
    "adapters_dir",
    "load_tuning_data",
    "split_ids",
    "tune",
    "tuned_provider_config",
]
