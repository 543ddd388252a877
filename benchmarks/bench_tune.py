"""Training speed of `llmpick tune` against a bare PEFT loop doing the same steps, and peak RSS.

Run: .venv/bin/python benchmarks/bench_tune.py [--steps 20] [--batch-size 4] [--rank 8]

Needs the `tune` extra and the bundled SmolLM2. Each side runs in its own process (so each peak
RSS is its own): llmpick's `train_lora` on the bundled ticket-routing examples, and a bare loop
(transformers + PEFT + AdamW, no llmpick code in the loop) over the very same tokenized batches
in the same order. Prints tokens/s of the training steps only (model loading excluded on both
sides), their ratio (target: llmpick at least 0.9 of bare), and each process's peak RSS.

Measured 2026-12-03 on the 2-core development machine, nothing else running, with the command
above and its defaults (20 steps of 4 examples, rank 8; 2 min 19 s in all):

    bare       4006 tokens in   26.56 s:   150.8 tokens/s, peak RSS 1607 MiB
    llmpick    4006 tokens in   26.45 s:   151.5 tokens/s, peak RSS 1626 MiB
    llmpick / bare tokens/s: 1.00 (target >= 0.9)

The checkpoint check between steps (a flag set by Ctrl-C) costs nothing measurable.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_ROWS = [
    ("I was charged twice for my plan this month", "billing"),
    ("The app crashes when I open settings", "technical"),
    ("I cannot log in, the reset email never comes", "account"),
    ("My parcel has not arrived after two weeks", "shipping"),
    ("Do you have an office in Berlin?", "other"),
    ("Please refund the duplicate invoice", "billing"),
    ("Error 500 when I upload a file", "technical"),
    ("How do I change the e-mail on my account?", "account"),
    ("The courier left the box at the wrong address", "shipping"),
    ("Can I visit your team for a demo?", "other"),
]
_SYSTEM = "Route the ticket to one queue: billing, technical, account, shipping, other."


def _examples(n: int) -> list[object]:
    from llmpick.providers import Message
    from llmpick.tuning import Example

    return [
        Example(
            f"T{i}",
            [Message("system", _SYSTEM), Message("user", f"Ticket: {_ROWS[i % 10][0]} (#{i})")],
            _ROWS[i % 10][1],
        )
        for i in range(n)
    ]


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child(mode: str, steps: int, batch: int, rank: int) -> None:
    from llmpick.providers import BUNDLED_MODELS, resolve_gguf
    from llmpick.tuning import TuneSettings
    from llmpick.tuning._train import encode_example, import_training, load_base, train_lora

    base = resolve_gguf(BUNDLED_MODELS["local/smollm2-135m-instruct"])
    settings = TuneSettings(max_steps=steps, batch_size=batch, rank=rank, epochs=1)
    train = _examples(steps * batch)
    val = _examples(2)
    if mode == "llmpick":
        with tempfile.TemporaryDirectory() as out:
            outcome = train_lora(train, val, base, "chat", settings, Path(out))  # type: ignore[arg-type]
        tokens = sum(s.tokens for s in outcome.steps)
        seconds = sum(s.seconds for s in outcome.steps)
    else:
        torch, _, peft = import_training()
        torch.manual_seed(settings.seed)
        model, tokenizer = load_base(base)
        model = peft.get_peft_model(
            model,
            peft.LoraConfig(
                r=rank, lora_alpha=settings.alpha, target_modules=["q_proj", "v_proj"],
                task_type="CAUSAL_LM",
            ),
        )  # fmt: skip
        # The same batches in the same order as llmpick's loop (its shuffle, seed 0).
        import random

        order = list(range(len(train)))
        random.Random(settings.seed).shuffle(order)
        encoded = [encode_example(train[i], tokenizer, "chat", settings.max_length) for i in order]  # type: ignore[arg-type]
        opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=5e-4)
        pad = tokenizer.pad_token_id
        model.train()
        tokens, seconds = 0, 0.0
        for start in range(0, len(encoded), batch):
            chunk = encoded[start : start + batch]
            width = max(len(i) for i, _ in chunk)
            began = time.perf_counter()
            ids = torch.tensor([i + [pad] * (width - len(i)) for i, _ in chunk])
            labels = torch.tensor([la + [-100] * (width - len(la)) for _, la in chunk])
            mask = torch.tensor([[1] * len(i) + [0] * (width - len(i)) for i, _ in chunk])
            loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
            loss.backward()
            opt.step()
            opt.zero_grad()
            seconds += time.perf_counter() - began
            tokens += int(mask.sum())
    print(json.dumps({"tokens": tokens, "seconds": seconds, "peak_rss_mib": _peak_rss_mib()}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--rank", type=int, default=8)
    parser.add_argument("--child", choices=["llmpick", "bare"])
    args = parser.parse_args()
    if args.child:
        _child(args.child, args.steps, args.batch_size, args.rank)
        return
    results = {}
    for mode in ("bare", "llmpick"):
        cmd = [sys.executable, __file__, "--child", mode, "--steps", str(args.steps)]
        cmd += ["--batch-size", str(args.batch_size), "--rank", str(args.rank)]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        results[mode] = json.loads(out.strip().splitlines()[-1])
    for mode, r in results.items():
        rate = r["tokens"] / r["seconds"]
        print(f"{mode:8} {r['tokens']:6d} tokens in {r['seconds']:7.2f} s: {rate:7.1f} tokens/s, "
              f"peak RSS {r['peak_rss_mib']:.0f} MiB")  # fmt: skip
    ratio = (results["llmpick"]["tokens"] / results["llmpick"]["seconds"]) / (
        results["bare"]["tokens"] / results["bare"]["seconds"]
    )
    print(f"llmpick / bare tokens/s: {ratio:.2f} (target >= 0.9)")


if __name__ == "__main__":
    main()
