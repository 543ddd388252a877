"""Ctrl-C during training: finish the step under way, save a checkpoint, resume from it later.

Training a model on a CPU takes minutes to hours, and whoever started it may need the machine
back. The first Ctrl-C (SIGINT) asks training to stop once the current optimizer step is done
(never in the middle of an update, so the saved weights and optimizer state belong together);
a second one stops at once, keeping the last checkpoint. The checkpoint holds everything the
next steps depend on, so a resumed run takes the same steps an uninterrupted one would: the
adapter's weights, AdamW's moments, torch's random state, the epoch's shuffled order and the
shuffler's state, the loss records, the best epoch's adapter so far and the wall time spent.

It sits beside the adapters as `.<key>.checkpoint/`, named by the same key as the adapter, so
only the same base, data and settings resume from it; it is written whole (a temporary folder
renamed into place) and removed once the adapter is finished.
"""

from __future__ import annotations

import os
import shutil
import signal
import threading
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

from pydantic import BaseModel, ConfigDict

from llmpick._errors import LlmpickError
from llmpick.tuning._manifest import EpochRecord, StepRecord

__all__ = [
    "StopRequest",
    "TrainState",
    "TuningInterrupted",
    "checkpoint_dir",
    "load_checkpoint",
    "save_checkpoint",
]

_STATE = "state.json"
_TENSORS = "state.pt"
_BEST = "best"


def checkpoint_dir(root: Path, key: str) -> Path:
    """Where an interrupted tune of adapter `key` keeps its checkpoint."""
    return root / f".{key}.checkpoint"


class TuningInterrupted(LlmpickError):
    """Training stopped on Ctrl-C. Not a `TuningError`: `decide` must stop too, not go on
    without the candidate. The CLI exits with 130, the shell's status for an interrupt."""

    exit_code = 130

    def __init__(self, message: str, checkpoint: Path | None, step: int) -> None:
        super().__init__(message)
        self.checkpoint = checkpoint
        self.step = step


class StopRequest:
    """While active (in the main thread only, where signals arrive), the first SIGINT sets
    `requested` and the second raises KeyboardInterrupt as usual. Given an `event` (a training
    child, whose parent hears the signals), only the event being set requests a stop."""

    def __init__(self, event: Any = None) -> None:
        self._flag = False
        self._event = event  # also asks to stop once set (from the parent of a training child)
        self._previous: Any = None
        self._installed = False

    @property
    def requested(self) -> bool:
        return self._flag or (self._event is not None and self._event.is_set())

    def __enter__(self) -> StopRequest:
        if self._event is None and threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
            self._installed = True
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._installed:
            signal.signal(signal.SIGINT, self._previous)
            self._installed = False

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self._flag:
            raise KeyboardInterrupt
        self._flag = True


class TrainState(BaseModel):
    """Where training stood, apart from the tensors: enough to take the next step as an
    uninterrupted run would."""

    model_config = ConfigDict(frozen=True)

    epoch: int
    next_batch: int  # index into `order` of the next batch's first example
    order: list[int]  # this epoch's shuffled example order
    shuffler: list[Any]  # random.Random.getstate() after this epoch's shuffle, as JSON
    steps: list[StepRecord]
    epochs: list[EpochRecord]
    epoch_losses: list[float]  # this epoch's step losses so far
    best: float | None  # lowest validation loss so far (None: no epoch finished)
    best_epoch: int
    stale: int
    tokens_seen: int
    initial_validation_loss: float
    elapsed_s: float  # wall time of every run that led here
    resumed_after: list[int]  # the step counts at which earlier runs were interrupted

    def shuffler_state(self) -> tuple[Any, ...]:
        version, internal, gauss = self.shuffler
        return (version, tuple(internal), gauss)


def save_checkpoint(
    folder: Path, state: TrainState, tensors: dict[str, Any], best_adapter: Path
) -> None:
    """Write the checkpoint whole: into a temporary folder, then renamed over the old one."""
    import torch

    partial = folder.with_name(f"{folder.name}.tmp-{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    try:
        torch.save(tensors, partial / _TENSORS)
        if best_adapter.is_dir() and any(best_adapter.iterdir()):
            shutil.copytree(best_adapter, partial / _BEST)
        (partial / _STATE).write_text(state.model_dump_json() + "\n", encoding="utf-8")
        shutil.rmtree(folder, ignore_errors=True)
        partial.rename(folder)
    finally:
        shutil.rmtree(partial, ignore_errors=True)


def load_checkpoint(folder: Path, best_adapter: Path) -> tuple[TrainState, dict[str, Any]] | None:
    """(state, tensors) of the checkpoint in `folder`, copying its best epoch's adapter into
    `best_adapter`; None when there is no complete checkpoint."""
    import torch

    if not (folder / _STATE).is_file() or not (folder / _TENSORS).is_file():
        return None
    state = TrainState.model_validate_json((folder / _STATE).read_text(encoding="utf-8"))
    tensors = torch.load(folder / _TENSORS, weights_only=True)
    if (folder / _BEST).is_dir():
        shutil.copytree(folder / _BEST, best_adapter, dirs_exist_ok=True)
    return state, tensors
