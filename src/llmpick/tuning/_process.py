"""Training in a child process, so the process that evaluates never starts torch's threads.

`decide` trains and then evaluates local models in one run. Trained in place, torch's OpenMP
threads and its allocator's memory would share the process with llama.cpp's own threads. Whether
that slows llama.cpp here depends on the moment. These figures are per call, for SmolLM2 on 24 of
the quickstart's prompts with 2 threads, each run in a fresh process, on 2026-12-03:
- in a slow phase of this machine, 410-540 ms, against 1,030-1,240 ms after one torch matmul
  (also with `torch.set_num_threads(1)` or `OMP_WAIT_POLICY=PASSIVE`);
- half an hour later, 195 ms against 205 ms, whether torch ran before or after llama.cpp loaded.
Either way, the evaluation's latencies should not depend on it, so training runs apart. The child
is started with "spawn" (a fresh interpreter, nothing of the parent's state). It sends each step,
epoch and resume back as it happens, and returns the outcome. Its memory goes back to the system
when it ends.

Ctrl-C: the child ignores SIGINT; the parent's first one sets an event the child checks between
steps, and the child saves its checkpoint and reports `TuningInterrupted`. A second SIGINT in the
parent ends the child at once.
"""

from __future__ import annotations

import multiprocessing
import queue
import signal
import threading
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from llmpick.tuning._checkpoint import TuningInterrupted
from llmpick.tuning._data import Example
from llmpick.tuning._errors import TuningError
from llmpick.tuning._manifest import EpochRecord, StepRecord, TuneSettings
from llmpick.tuning._train import TrainOutcome

__all__ = ["train_in_child"]


def train_in_child(
    train: Sequence[Example],
    validation: Sequence[Example],
    base_path: Path,
    mode: Literal["chat", "completion"],
    settings: TuneSettings,
    out_dir: Path,
    *,
    checkpoint: Path,
    on_step: Callable[[StepRecord], None] | None = None,
    on_epoch: Callable[[EpochRecord], None] | None = None,
    on_resume: Callable[[int], None] | None = None,
) -> TrainOutcome:
    """`train_lora` with the same arguments, run in a spawned child; its outcome."""
    context = multiprocessing.get_context("spawn")
    events: Any = context.Queue()
    stop = context.Event()
    child = context.Process(
        target=_child,
        args=(events, stop, list(train), list(validation), base_path, mode, settings, out_dir,
              checkpoint),
        name="llmpick-tune",
        daemon=True,
    )  # fmt: skip
    child.start()
    try:
        with _interrupts_stop(stop, child):
            while True:
                try:
                    kind, payload = events.get(timeout=0.5)
                except queue.Empty:
                    if not child.is_alive():
                        raise TuningError(
                            f"the training process ended without a result (exit code "
                            f"{child.exitcode}); out of memory?"
                        ) from None
                    continue
                if kind == "step" and on_step is not None:
                    on_step(payload)
                elif kind == "epoch" and on_epoch is not None:
                    on_epoch(payload)
                elif kind == "resume" and on_resume is not None:
                    on_resume(payload)
                elif kind == "done":
                    outcome: TrainOutcome = payload
                    return outcome
                elif kind == "interrupted":
                    message, saved, step = payload
                    raise TuningInterrupted(message, saved, step)
                elif kind == "error":
                    raise TuningError(payload)
                elif kind == "crash":
                    raise RuntimeError(f"training failed in its process:\n{payload}")
    finally:
        child.join(timeout=30)
        if child.is_alive():
            child.kill()
            child.join()


@contextmanager
def _interrupts_stop(stop: Any, child: Any) -> Iterator[None]:
    """In the main thread: the first SIGINT asks the child to stop after its step, the second
    kills it and raises KeyboardInterrupt."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handle(signum: int, frame: object) -> None:
        if stop.is_set():
            child.kill()
            raise KeyboardInterrupt
        stop.set()

    previous = signal.signal(signal.SIGINT, handle)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _child(
    events: Any,
    stop: Any,
    train: list[Example],
    validation: list[Example],
    base_path: Path,
    mode: Literal["chat", "completion"],
    settings: TuneSettings,
    out_dir: Path,
    checkpoint: Path,
) -> None:
    from llmpick.tuning._train import train_lora

    # Only the parent hears Ctrl-C (the terminal sends it to both): it asks through `stop`, so
    # an interrupt while the base loads is no traceback here, and a second one kills this child.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        outcome = train_lora(
            train,
            validation,
            base_path,
            mode,
            settings,
            out_dir,
            checkpoint=checkpoint,
            on_step=lambda r: events.put(("step", r)),
            on_epoch=lambda r: events.put(("epoch", r)),
            on_resume=lambda n: events.put(("resume", n)),
            stop_event=stop,
        )
        events.put(("done", outcome))
    except TuningInterrupted as exc:
        events.put(("interrupted", (str(exc), exc.checkpoint, exc.step)))
    except TuningError as exc:
        events.put(("error", str(exc)))
    except BaseException:  # reported to the parent, which raises it there
        events.put(("crash", traceback.format_exc()))
    finally:
        events.close()
        events.join_thread()
