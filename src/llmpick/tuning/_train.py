"""LoRA training with Hugging Face transformers + PEFT (the `tune` extra), on a CUDA GPU when
torch sees one, else on the CPU.

torch, transformers and peft are imported inside the functions here, so `import llmpick` and
the base install never load them. The loss is taken on the answer tokens only (the prompt's
labels are masked), the validation loss is measured after every epoch, and training stops when
it has not improved for `patience` epochs; the adapter kept is the best epoch's. Ctrl-C saves a
checkpoint after the step under way, and the next run resumes from it (`_checkpoint`).
"""

from __future__ import annotations

import math
import os
import platform
import random
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from llmpick.providers import ProviderSetupError, load_causal_lm
from llmpick.tuning._checkpoint import (
    StopRequest,
    TrainState,
    TuningInterrupted,
    load_checkpoint,
    save_checkpoint,
)
from llmpick.tuning._data import Example
from llmpick.tuning._errors import INSTALL_HINT, TuningError
from llmpick.tuning._manifest import EpochRecord, StepRecord, TuneSettings

__all__ = [
    "TrainOutcome",
    "encode_example",
    "import_training",
    "load_base",
    "train_lora",
    "training_device",
]

# Ignored by the cross-entropy loss (PyTorch's default ignore_index): prompt and padding.
_IGNORE = -100


def import_training() -> tuple[Any, Any, Any]:
    """(torch, transformers, peft), with the Hugging Face hub switched offline; a missing one
    raises `TuningError` naming the pip command."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        import peft
        import torch
        import transformers
    except ImportError as exc:
        raise TuningError(f"tuning needs torch, transformers and peft ({exc.name} is missing): "
                          f"{INSTALL_HINT}") from None  # fmt: skip
    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()  # the GGUF loader's bars; steps print instead
    return torch, transformers, peft


def training_device(torch: Any) -> str:
    """Where training runs: the first CUDA GPU when torch sees one, else the CPU."""
    return "cuda" if torch.cuda.is_available() else "cpu"


def training_hardware(torch: Any, device: str) -> dict[str, Any]:
    """The manifest's `hardware`: the device, and the CPU and threads torch used."""
    return {
        "device": device,
        "gpu": torch.cuda.get_device_name(0) if device == "cuda" else None,
        "machine": platform.machine(),
        "processor": platform.processor() or None,
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
    }


def load_base(path: Path) -> tuple[Any, Any]:
    """(model, tokenizer) from a GGUF file (dequantized to float32) or a model folder, loaded
    as the `transformers` provider loads them (so tuning and serving read the same weights)."""
    import_training()
    try:
        return load_causal_lm(path)
    except ProviderSetupError as exc:
        raise TuningError(str(exc)) from None


def prompt_text(prompt: Any, tokenizer: Any, mode: Literal["chat", "completion"]) -> str:
    """The text the model reads for an evaluation prompt (the chat template for chat)."""
    if mode == "chat":
        messages = [{"role": "user", "content": prompt}] if isinstance(prompt, str) else [
            {"role": m.role, "content": m.content} for m in prompt
        ]  # fmt: skip
        return str(
            tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        )
    return prompt if isinstance(prompt, str) else "\n\n".join(m.content for m in prompt)


def encode_example(
    example: Example, tokenizer: Any, mode: Literal["chat", "completion"], max_length: int
) -> tuple[list[int], list[int]]:
    """(input ids, labels): the prompt (cut from the left to fit) then the answer and its end
    marker; labels are the answer's ids, the prompt's are masked."""
    text = prompt_text(example.prompt, tokenizer, mode)
    if mode == "chat":
        answer = example.target + (tokenizer.eos_token or "")
        prompt_ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    else:  # the evaluation's completion stop is a blank line; few-shot answers follow a space
        answer = (example.target if text[-1:].isspace() else " " + example.target) + "\n\n"
        prompt_ids = tokenizer(text)["input_ids"]
    answer_ids = tokenizer(answer, add_special_tokens=False)["input_ids"][: max_length - 1]
    prompt_ids = prompt_ids[-(max_length - len(answer_ids)) :]
    return prompt_ids + answer_ids, [_IGNORE] * len(prompt_ids) + answer_ids


@dataclass(frozen=True)
class TrainOutcome:
    initial_validation_loss: float
    steps: list[StepRecord]
    epochs: list[EpochRecord]
    best_epoch: int
    stopped_early: bool
    train_tokens: int
    prior_seconds: float = 0.0  # wall time of the interrupted runs this one resumed
    resumed_after: tuple[int, ...] = ()  # step counts at which those runs were interrupted
    hardware: dict[str, Any] | None = None  # where it trained, read in the training process


def train_lora(
    train: Sequence[Example],
    validation: Sequence[Example],
    base_path: Path,
    mode: Literal["chat", "completion"],
    settings: TuneSettings,
    out_dir: Path,
    *,
    checkpoint: Path | None = None,
    on_step: Callable[[StepRecord], None] | None = None,
    on_epoch: Callable[[EpochRecord], None] | None = None,
    on_resume: Callable[[int], None] | None = None,
    stop_event: Any = None,
) -> TrainOutcome:
    """Train a LoRA adapter on `train`, keep the epoch with the lowest validation loss in
    `out_dir` (PEFT's adapter_config.json + adapter_model.safetensors).

    With a `checkpoint` folder, a complete checkpoint there is resumed (`on_resume` hears how
    many steps it holds), and Ctrl-C (or a set `stop_event`) saves one there after the step
    under way and raises `TuningInterrupted`."""
    torch, _, peft = import_training()
    torch.manual_seed(settings.seed)
    model, tokenizer = load_base(base_path)
    device = training_device(torch)
    model = model.to(device)
    lora = peft.LoraConfig(
        r=settings.rank,
        lora_alpha=settings.alpha,
        lora_dropout=settings.dropout,
        target_modules=list(settings.target_modules),
        task_type="CAUSAL_LM",
    )
    try:
        with warnings.catch_warnings():  # peft calls a transformers API that warns of its rename
            warnings.simplefilter("ignore", FutureWarning)
            model = peft.get_peft_model(model, lora)
    except ValueError as exc:  # a target module the architecture lacks
        raise TuningError(f"LoRA cannot adapt {base_path.name}: {exc}") from None
    encoded_train = [encode_example(e, tokenizer, mode, settings.max_length) for e in train]
    encoded_val = [encode_example(e, tokenizer, mode, settings.max_length) for e in validation]
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=settings.learning_rate)
    pad = int(tokenizer.pad_token_id)
    shuffler = random.Random(settings.seed)
    resumed = load_checkpoint(checkpoint, out_dir) if checkpoint is not None else None
    if resumed is not None:
        was, tensors = resumed
        peft.set_peft_model_state_dict(model, tensors["adapter"])
        optimizer.load_state_dict(tensors["optimizer"])
        torch.set_rng_state(tensors["rng"])
        if "cuda_rng" in tensors and device == "cuda":
            torch.cuda.set_rng_state_all(tensors["cuda_rng"])
        shuffler.setstate(was.shuffler_state())
        steps, epochs = list(was.steps), list(was.epochs)
        best = math.inf if was.best is None else was.best
        best_epoch, stale, tokens_seen = was.best_epoch, was.stale, was.tokens_seen
        initial, prior = was.initial_validation_loss, was.elapsed_s
        resumed_after = list(was.resumed_after)
        first_epoch = was.epoch
        if on_resume is not None:
            on_resume(len(steps))
    else:
        steps, epochs, resumed_after = [], [], []
        best, best_epoch, stale, tokens_seen, prior, first_epoch = math.inf, 0, 0, 0, 0.0, 1
        initial = _mean_loss(torch, model, encoded_val, pad, settings.batch_size, device)
    began_run = time.perf_counter()

    def stop_here(epoch: int, order: list[int], next_batch: int, losses: list[float]) -> None:
        """Save where training stands (after a whole step) and raise `TuningInterrupted`."""
        if checkpoint is None or not steps:
            raise TuningInterrupted(
                f"training interrupted after {len(steps)} steps; nothing to resume from",
                None,
                len(steps),
            )
        state = TrainState(
            epoch=epoch,
            next_batch=next_batch,
            order=order,
            shuffler=list(shuffler.getstate()),
            steps=steps,
            epochs=epochs,
            epoch_losses=losses,
            best=None if math.isinf(best) else best,
            best_epoch=best_epoch,
            stale=stale,
            tokens_seen=tokens_seen,
            initial_validation_loss=initial,
            elapsed_s=round(prior + time.perf_counter() - began_run, 3),
            resumed_after=[*resumed_after, len(steps)],
        )
        tensors = {
            "adapter": peft.get_peft_model_state_dict(model),
            "optimizer": optimizer.state_dict(),
            "rng": torch.get_rng_state(),
        }
        if device == "cuda":
            tensors["cuda_rng"] = torch.cuda.get_rng_state_all()
        save_checkpoint(checkpoint, state, tensors, out_dir)
        raise TuningInterrupted(
            f"training interrupted after step {len(steps)}; checkpoint saved in {checkpoint}; "
            "run the same command again to resume from it",
            checkpoint,
            len(steps),
        )

    def outcome(stopped_early: bool) -> TrainOutcome:
        return TrainOutcome(
            initial,
            steps,
            epochs,
            best_epoch,
            stopped_early,
            tokens_seen,
            prior_seconds=prior,
            resumed_after=tuple(resumed_after),
            hardware=training_hardware(torch, device),
        )

    with StopRequest(stop_event) as stop:
        for epoch in range(first_epoch, settings.epochs + 1):
            model.train()
            if resumed is not None and epoch == resumed[0].epoch:
                order, first = list(resumed[0].order), resumed[0].next_batch
                losses = list(resumed[0].epoch_losses)
            else:
                order, first, losses = list(range(len(encoded_train))), 0, []
                shuffler.shuffle(order)
            for start in range(first, len(order), settings.batch_size):
                if settings.max_steps is not None and len(steps) >= settings.max_steps:
                    break
                if stop.requested:
                    stop_here(epoch, order, start, losses)
                batch = [encoded_train[i] for i in order[start : start + settings.batch_size]]
                began = time.perf_counter()
                ids, labels, mask = _collate(torch, batch, pad, device)
                loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
                loss.backward()
                optimizer.step()
                optimizer.zero_grad()
                n_tokens = int(mask.sum())
                tokens_seen += n_tokens
                record = StepRecord(
                    step=len(steps) + 1,
                    epoch=epoch,
                    loss=loss.item(),
                    tokens=n_tokens,
                    seconds=round(time.perf_counter() - began, 4),
                )
                steps.append(record)
                losses.append(record.loss)
                if on_step is not None:
                    on_step(record)
            if not losses:
                break
            if stop.requested:  # before the epoch's validation, which would be lost
                stop_here(epoch, order, len(order), losses)
            val_loss = _mean_loss(torch, model, encoded_val, pad, settings.batch_size, device)
            record_e = EpochRecord(
                epoch=epoch, train_loss=sum(losses) / len(losses), validation_loss=val_loss
            )
            epochs.append(record_e)
            if on_epoch is not None:
                on_epoch(record_e)
            if val_loss < best or (math.isnan(val_loss) and best_epoch == 0):
                best, best_epoch, stale = val_loss, epoch, 0
                with warnings.catch_warnings():  # "no config file beside a GGUF": same vocabulary
                    warnings.simplefilter("ignore", UserWarning)
                    model.save_pretrained(str(out_dir))
            else:
                stale += 1
                if stale >= settings.patience:
                    return outcome(True)
    return outcome(False)


def _collate(
    torch: Any, batch: Sequence[tuple[list[int], list[int]]], pad: int, device: str
) -> Any:
    """Right-padded tensors (input ids, labels, attention mask)."""
    width = max(len(ids) for ids, _ in batch)
    ids = [i + [pad] * (width - len(i)) for i, _ in batch]
    labels = [la + [_IGNORE] * (width - len(la)) for _, la in batch]
    mask = [[1] * len(i) + [0] * (width - len(i)) for i, _ in batch]
    return (
        torch.tensor(ids, device=device),
        torch.tensor(labels, device=device),
        torch.tensor(mask, device=device),
    )


def _mean_loss(
    torch: Any,
    model: Any,
    encoded: Sequence[tuple[list[int], list[int]]],
    pad: int,
    size: int,
    device: str,
) -> float:
    """Loss per answer token over `encoded` (each batch weighted by its answer tokens)."""
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for start in range(0, len(encoded), size):
            ids, labels, mask = _collate(torch, encoded[start : start + size], pad, device)
            n = int((labels[:, 1:] != _IGNORE).sum())
            if n == 0:
                continue
            total += float(model(input_ids=ids, attention_mask=mask, labels=labels).loss) * n
            count += n
    return total / count if count else math.nan
