"""Folding an answer's first token into the prompt tail's batch: faster, but not the same logits.

The question of issue #15 once prefix reuse is in: a reused head leaves each item its tail (~28
tokens for Gemma 3 270M) and ~1 decode step, and both end in one row of the output layer (Gemma's
has 262k rows, about a third of the model's weights), so Gemma's items/s ratio tops out near 2.6x
(`benchmarks/bench_local.py`). Evaluating the first answer token in the same batch as the tail
(a guess, checked against the tail's argmax, as speculative decoding does) would pay for both
rows in one pass over the weights. That is only worth it if the logits stay bit-identical to the
provider's path (tail batch, then the token alone), since answers must not depend on reuse.

For each of the quickstart's first prompts, with the head in the KV cache as the provider leaves
it: the tail alone then the answer's first token alone (the provider's path), and the tail plus
that token in one batch (the guess always right: the best case). Reported: ms per item of each,
and, by tail length mod 4, how many prompts kept bit-identical logits for the tail's last row and
for the folded token's row.

    .venv/bin/python benchmarks/bench_fold_guess.py   # --prompts 40 --threads 2

Measured 2026-12-03 (quiet machine, 40 prompts, 2 threads), two runs for Gemma:
- Gemma 3 270M Q4_K_M: the folded batch took 99 / 138 ms per item vs 117 / 164 ms alone (15% less,
  with a guess that is always right). The tail's last row stayed bit-identical in every prompt
  whose tail length is not 3 mod 4 (30/30; 3 of 10 when it is: the kernels then regroup that row
  into a group of 4), but the folded token's row matched the token decoded alone in only 15 of 40
  prompts, in both runs.
- SmolLM2-135M Q4_1: 302 vs 311 ms (3%: its output layer has 49k rows); tail rows 40/40, folded
  rows 26/40.
A one-row batch and a row inside a larger batch go through different CPU kernel paths and round
differently, so an answer's later tokens could change with the guess. Not used.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import time
from typing import Any

import numpy as np

from bench_local import MODELS, quickstart_prompts
from llmpick.providers._llamacpp import LlamaCppConfig, LlamaCppProvider, import_llama_cpp


def _decode(lib: Any, llm: Any, tokens: list[int], start: int, want: set[int]) -> None:
    """Evaluate `tokens` at positions start.. in sequence 0, logits for the rows in `want`."""
    batch = llm._batch.batch
    batch.n_tokens = len(tokens)
    for i, token in enumerate(tokens):
        batch.token[i], batch.pos[i], batch.logits[i] = token, start + i, i in want
        batch.n_seq_id[i] = 1
        batch.seq_id[i][0] = 0
    if lib.llama_decode(llm._ctx.ctx, batch) != 0:
        raise RuntimeError("llama_decode failed")


def bench_model(lib: Any, name: str, n_prompts: int, threads: int) -> None:
    model, mode = MODELS[name]
    prompts, params = quickstart_prompts(mode, n_prompts)
    provider = LlamaCppProvider(LlamaCppConfig(model=model, n_threads=threads, n_ctx=2048))
    asyncio.run(provider.load())
    llm = provider._llm
    n_vocab = llm.n_vocab()

    def logits(row: int) -> Any:
        return np.ctypeslib.as_array(
            lib.llama_get_logits_ith(llm._ctx.ctx, row), shape=(n_vocab,)
        ).copy()

    same: collections.Counter[tuple[int, str]] = collections.Counter()
    seconds = {"alone": 0.0, "folded": 0.0}
    done = 0
    for prompt in prompts:
        tokens, _ = provider._prompt_tokens(prompt, params)
        provider._prepare_cache(prompt, tokens)
        head = len(provider._head or ())
        if head == 0:
            continue
        tail = tokens[head:]
        n = len(tail)
        llm._ctx.kv_cache_seq_rm(-1, head, -1)
        started = time.perf_counter()
        _decode(lib, llm, tail, head, {n - 1})
        tail_row = logits(n - 1)
        first = int(np.argmax(tail_row))
        _decode(lib, llm, [first], head + n, {0})
        next_row = logits(0)
        seconds["alone"] += time.perf_counter() - started
        llm._ctx.kv_cache_seq_rm(-1, head, -1)
        started = time.perf_counter()
        _decode(lib, llm, [*tail, first], head, {n - 1, n})
        folded_tail, folded_next = logits(n - 1), logits(n)
        seconds["folded"] += time.perf_counter() - started
        llm._ctx.kv_cache_seq_rm(-1, head, -1)
        llm.n_tokens = head
        group = n % 4
        same[(group, "prompts")] += 1
        same[(group, "tail")] += bool(np.array_equal(tail_row, folded_tail))
        same[(group, "next")] += bool(np.array_equal(next_row, folded_next))
        done += 1
    llm.close()
    by_group = ", ".join(
        f"tail%4={g}: tail row {same[(g, 'tail')]}/{same[(g, 'prompts')]}, "
        f"folded row {same[(g, 'next')]}/{same[(g, 'prompts')]}"
        for g in range(4)
        if same[(g, "prompts")]
    )
    print(
        f"{name}: {done} prompts; ms per item alone {1000 * seconds['alone'] / done:.1f}, "
        f"folded {1000 * seconds['folded'] / done:.1f}; bit-identical: {by_group}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prompts", type=int, default=40)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--models", default=",".join(MODELS), help="Comma-separated: smollm2,gemma")
    args = parser.parse_args()
    lib = import_llama_cpp()
    for name in args.models.split(","):
        bench_model(lib, name, args.prompts, args.threads)


if __name__ == "__main__":
    main()
