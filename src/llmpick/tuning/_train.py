"""LoRA training with Hugging Face transformers + PEFT (the `tune` extra), on the CPU.

torch, transformers and peft are imported inside the functions here, so `import llmpick` and
the base install never load them. The loss is taken on the answer tokens only (the prompt's
labels are masked), the validation loss is measured after every epoch, and training stops when
it has not improved for `patience` epochs; the adapter kept is the best epoch's.
"""

from __future__ import annotations

import math
import os
import random
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from llmpick.providers import ProviderSetupError, load_causal_lm
from llmpick.tuning._data import Example
from llmpick.tuning._errors import INSTALL_HINT, TuningError
from llmpick.tuning._manifest import EpochRecord, StepRecord, TuneSettings

__all__ = ["TrainOutcome", "encode_example", "import_training", "load_base", "train_lora"]

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


def train_lora(
    train: Sequence[Example],
    validation: Sequence[Example],
    base_path: Path,
    mode: Literal["chat", "completion"],
    settings: TuneSettings,
    out_dir: Path,
    *,
    on_step: Callable[[StepRecord], None] | None = None,
    on_epoch: Callable[[EpochRecord], None] | None = None,
) -> TrainOutcome:
    """Train a LoRA adapter on `train`, keep the epoch with the lowest validation loss in
    `out_dir` (PEFT's adapter_config.json + adapter_model.safetensors)."""
    torch, _, peft = import_training()
    torch.manual_seed(settings.seed)
    model, tokenizer = load_base(base_path)
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
    steps: list[StepRecord] = []
    epochs: list[EpochRecord] = []
    best, best_epoch, stale, tokens_seen = math.inf, 0, 0, 0
    initial = _mean_loss(torch, model, encoded_val, pad, settings.batch_size)
    for epoch in range(1, settings.epochs + 1):
        model.train()
        order = list(range(len(encoded_train)))
        shuffler.shuffle(order)
        losses: list[float] = []
        for start in range(0, len(order), settings.batch_size):
            if settings.max_steps is not None and len(steps) >= settings.max_steps:
                break
            batch = [encoded_train[i] for i in order[start : start + settings.batch_size]]
            began = time.perf_counter()
            ids, labels, mask = _collate(torch, batch, pad)
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
        val_loss = _mean_loss(torch, model, encoded_val, pad, settings.batch_size)
        record_e = EpochRecord(
            epoch=epoch, train_loss=sum(losses) / len(losses), validation_loss=val_loss
        )
        epochs.append(record_e)
        if on_epoch is not None:
            on_epoch(record_e)
        if val_loss < best or (math.isnan(val_loss) and best_epoch == 0):
            best, best_epoch, stale = val_loss, epoch, 0
            with warnings.catch_warnings():  # "no config file beside a GGUF": vocabulary unchanged
                warnings.simplefilter("ignore", UserWarning)
                model.save_pretrained(str(out_dir))
        else:
            stale += 1
            if stale >= settings.patience:
                return TrainOutcome(initial, steps, epochs, best_epoch, True, tokens_seen)
    return TrainOutcome(initial, steps, epochs, best_epoch, False, tokens_seen)


def _collate(torch: Any, batch: Sequence[tuple[list[int], list[int]]], pad: int) -> Any:
    """Right-padded tensors (input ids, labels, attention mask)."""
    width = max(len(ids) for ids, _ in batch)
    ids = [i + [pad] * (width - len(i)) for i, _ in batch]
    labels = [la + [_IGNORE] * (width - len(la)) for _, la in batch]
    mask = [[1] * len(i) + [0] * (width - len(i)) for i, _ in batch]
    return torch.tensor(ids), torch.tensor(labels), torch.tensor(mask)


def _mean_loss(
    torch: Any, model: Any, encoded: Sequence[tuple[list[int], list[int]]], pad: int, size: int
) -> float:
    """Loss per answer token over `encoded` (each batch weighted by its answer tokens)."""
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for start in range(0, len(encoded), size):
            ids, labels, mask = _collate(torch, encoded[start : start + size], pad)
            n = int((labels[:, 1:] != _IGNORE).sum())
            if n == 0:
                continue
            total += float(model(input_ids=ids, attention_mask=mask, labels=labels).loss) * n
            count += n
    return total / count if count else math.nan
