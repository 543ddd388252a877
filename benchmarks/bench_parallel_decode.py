"""Several sequences at once in llama.cpp (parallel sequences in one batch) vs one at a time.

The question of issue #15: does decoding several prompts together in one llama.cpp batch help on
this CPU, and are its answers the ones a prompt decoded alone gets? For each bundled model the
quickstart's first prompts are evaluated, each in its own sequence, then decoded greedily for
`--tokens` steps: once one sequence at a time (the in-process provider's path) and once in groups
of `--parallel` sequences whose next tokens go through `llama_decode` together, with the KV cache
unified across sequences or split per sequence (`kv_unified`). Reported: decode tokens/s of each
and how many of the prompts got the same tokens.

    .venv/bin/python benchmarks/bench_parallel_decode.py   # --prompts 24 --parallel 4 --tokens 16

Measured here (2026-12-02, 2 threads, two runs while other work shared the cores, so the speeds
vary between runs and only their direction holds; 24 prompts, 16 tokens):

| model | KV cache | decode speed-up, 4 sequences vs 1 | same tokens (both runs) |
|---|---|---|---|
| SmolLM2-135M Q4_1 | unified | 1.78x, 1.20x | 14/24 |
| SmolLM2-135M Q4_1 | per sequence | 1.26x, 1.62x | 24/24 |
| Gemma 3 270M Q4_K_M | unified | 1.59x, 1.95x | 15/24 |
| Gemma 3 270M Q4_K_M | per sequence | 1.66x, 1.17x | 14/24 |

So it is not used. Four rows in one batch go through the CPU kernels' grouped-row paths, which
round differently from one row alone, and greedy answers change (the unified cache also changes
the order in which attention sums each sequence's cells); only one layout of one model kept them.
And it would buy little on the evaluation's work: a quickstart answer is 1-3 decoded tokens
(Gemma ~1, SmolLM2 ~3) after a prompt tail of ~30-50 tokens that is already one batch, so decode
is a small share of an item's time (`benchmarks/bench_local.py` measures the whole item).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from typing import Any

import numpy as np

from bench_local import MODELS, quickstart_prompts
from llmpick.providers._llamacpp import LlamaCppConfig, LlamaCppProvider, import_llama_cpp


def _context(lib: Any, model: Any, n_seq: int, threads: int, unified: bool) -> Any:
    params = lib.llama_context_default_params()
    params.n_ctx = 1024 * n_seq
    params.n_batch = params.n_ubatch = 512
    params.n_seq_max = n_seq
    params.n_threads = params.n_threads_batch = threads
    params.kv_unified = unified
    return lib.llama_init_from_model(model, params)


def _fill(batch: Any, rows: list[tuple[int, int, int, bool]]) -> None:
    """(token, position, sequence, wants logits) per row."""
    for i, (token, pos, seq, logits) in enumerate(rows):
        batch.token[i], batch.pos[i], batch.logits[i] = token, pos, logits
        batch.n_seq_id[i] = 1
        batch.seq_id[i][0] = seq
    batch.n_tokens = len(rows)


def decode(
    lib: Any,
    llm: Any,
    prompts: list[list[int]],
    n_seq: int,
    steps: int,
    threads: int,
    unified: bool,
) -> tuple[list[list[int]], float]:
    """Greedy tokens per prompt, `n_seq` prompts decoded together; and the decode seconds."""
    n_vocab = llm.n_vocab()
    ctx = _context(lib, llm._model.model, n_seq, threads, unified)
    memory = lib.llama_get_memory(ctx)
    batch = lib.llama_batch_init(1024, 0, n_seq)

    def argmax(row: int) -> int:
        logits = np.ctypeslib.as_array(lib.llama_get_logits_ith(ctx, row), shape=(n_vocab,))
        return int(np.argmax(logits))

    outputs: list[list[int]] = []
    seconds = 0.0
    try:
        for start in range(0, len(prompts), n_seq):
            group = prompts[start : start + n_seq]
            lib.llama_memory_clear(memory, True)
            tokens: list[list[int]] = []
            for seq, prompt in enumerate(group):  # each prompt alone, as the provider does
                _fill(batch, [(t, i, seq, i == len(prompt) - 1) for i, t in enumerate(prompt)])
                if lib.llama_decode(ctx, batch) != 0:
                    raise RuntimeError("llama_decode failed on a prompt")
                tokens.append([argmax(len(prompt) - 1)])
            started = time.perf_counter()
            for step in range(steps - 1):
                _fill(batch, [(tokens[s][-1], len(p) + step, s, True) for s, p in enumerate(group)])
                if lib.llama_decode(ctx, batch) != 0:
                    raise RuntimeError("llama_decode failed on a decode step")
                for seq in range(len(group)):
                    tokens[seq].append(argmax(seq))
            seconds += time.perf_counter() - started
            outputs += tokens
    finally:
        lib.llama_batch_free(batch)
        lib.llama_free(ctx)
    return outputs, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prompts", type=int, default=24)
    parser.add_argument("--parallel", type=int, default=4)
    parser.add_argument("--tokens", type=int, default=16)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    lib = import_llama_cpp()
    for name, (model, mode) in MODELS.items():
        prompts, params = quickstart_prompts(mode, args.prompts)
        provider = LlamaCppProvider(LlamaCppConfig(model=model, n_threads=args.threads))
        asyncio.run(provider.load())
        llm = provider._llm
        tokens = [provider._prompt_tokens(p, params)[0] for p in prompts]
        for unified in (True, False):
            alone, t_alone = decode(lib, llm, tokens, 1, args.tokens, args.threads, unified)
            together, t_together = decode(
                lib, llm, tokens, args.parallel, args.tokens, args.threads, unified
            )
            n = len(tokens) * (args.tokens - 1)
            same = sum(a == b for a, b in zip(alone, together, strict=True))
            print(
                f"{name} ({'unified' if unified else 'per-sequence'} KV): decode tokens/s "
                f"1 seq {n / t_alone:.0f} -> {args.parallel} seqs {n / t_together:.0f} "
                f"({t_alone / t_together:.2f}x); same tokens {same}/{len(tokens)}",
                flush=True,
            )
        llm.close()


if __name__ == "__main__":
    main()
