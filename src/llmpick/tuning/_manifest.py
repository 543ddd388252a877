"""The settings a tune runs with and the manifest written beside its adapter.

The adapter's folder is named by `adapter_key`: a hash of the base weights' file hash, the data
hash and every hyper-parameter, so the same inputs find the same adapter (no training), and any
change trains a new one beside it. How the data is split is the spec's (`dataset.split` or the
given training files), so it enters the key through the data hash, not the settings.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from llmpick.spec import TuneSpec

__all__ = ["MANIFEST_NAME", "AdapterManifest", "EpochRecord", "StepRecord", "TuneSettings"]

MANIFEST_NAME = "manifest.json"


class TuneSettings(BaseModel):
    """Every hyper-parameter of a LoRA tune (all of them go into the adapter's key)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    method: str = Field("lora", description="Adaptation method (only LoRA for now).")
    epochs: int = Field(1, ge=1, description="Passes over the training split.")
    rank: int = Field(8, ge=1, description="LoRA rank r.")
    alpha: float = Field(16.0, gt=0, description="LoRA alpha (scale = alpha / r).")
    dropout: float = Field(0.0, ge=0, lt=1, description="Dropout on the LoRA input.")
    learning_rate: float = Field(5e-4, gt=0, description="AdamW learning rate.")
    batch_size: int = Field(4, ge=1, description="Examples per optimizer step.")
    max_steps: int | None = Field(None, ge=1, description="Stop after this many steps.")
    max_length: int = Field(256, ge=8, description="Tokens per example (prompt cut from the left).")
    target_modules: tuple[str, ...] = Field(("q_proj", "v_proj"), description="Layers adapted.")
    patience: int = Field(1, ge=1, description="Epochs without a better validation loss to stop.")
    seed: int = Field(0, description="Seed of the shuffling and the initial adapter weights.")

    @model_validator(mode="after")
    def _known_method(self) -> TuneSettings:
        if self.method != "lora":
            raise ValueError(f"unknown tuning method {self.method!r}; available: lora")
        return self

    @classmethod
    def of(cls, tune: TuneSpec | None, **overrides: Any) -> TuneSettings:
        """A spec candidate's `tune` block as settings (defaults without one), with the
        `overrides` that are not None laid over it (the `llmpick tune` flags)."""
        base = tune.model_dump(exclude={"base", "retune_every_days"}) if tune else {}
        given = {k: v for k, v in overrides.items() if v is not None}
        return cls.model_validate({**base, **given})


def adapter_key(base_sha256: str, data_hash: str, settings: TuneSettings) -> str:
    """The adapter's identity: what changes the trained weights, nothing else."""
    payload = {"base": base_sha256, "data": data_hash, "settings": settings.model_dump(mode="json")}
    blob = json.dumps(payload, sort_keys=True).encode("utf-8")
    return hashlib.sha256(blob).hexdigest()[:20]


class StepRecord(BaseModel):
    model_config = ConfigDict(frozen=True)

    step: int
    epoch: int
    loss: float
    tokens: int = Field(description="Tokens in the step's batch (prompt and answer).")
    seconds: float = Field(description="Wall time of the step (forward, backward, update).")


class EpochRecord(BaseModel):
    model_config = ConfigDict(frozen=True)

    epoch: int
    train_loss: float
    validation_loss: float


class AdapterManifest(BaseModel):
    """Where an adapter came from and how it was trained (written as manifest.json)."""

    model_config = ConfigDict(frozen=True)

    key: str
    candidate: str
    base_model: str
    base_file: str = Field(description="File name of the base weights (no folder).")
    base_sha256: str
    prompt_mode: str
    data_hash: str
    split_sizes: dict[str, int]
    split_ids: dict[str, list[str]]
    settings: TuneSettings
    initial_validation_loss: float = Field(description="The base model's, before any step.")
    steps: list[StepRecord]
    epochs: list[EpochRecord]
    best_epoch: int
    stopped_early: bool
    wall_time_s: float = Field(description="Training's wall time, interrupted runs included.")
    resumed_after: list[int] = Field(
        default_factory=list,
        description="Step counts at which earlier runs were interrupted (Ctrl-C) and resumed.",
    )
    train_tokens: int
    hardware: dict[str, Any]
    versions: dict[str, str]

    def write(self, folder: Path) -> Path:
        path = folder / MANIFEST_NAME
        path.write_text(self.model_dump_json(indent=2) + "\n", encoding="utf-8")
        return path

    @classmethod
    def read(cls, folder: Path) -> AdapterManifest:
        return cls.model_validate_json((folder / MANIFEST_NAME).read_text(encoding="utf-8"))
