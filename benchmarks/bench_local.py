"""Local evaluation with prefix reuse vs without: the quickstart's prompts on both bundled models.

For each model (SmolLM2-135M in chat mode, Gemma 3 270M in completion mode) two in-process
providers are loaded: one with `prefix_reuse` (the default: the system prompt and few-shot
examples every prompt shares stay in the KV cache, only each ticket is evaluated) and one with
`prefix_reuse: false` (the KV cache cleared before every prompt, the path before reuse). Both answer
the quickstart's items with the evaluation's own prompts and generation settings. A trial goes
through the items once, and each item is answered by both providers back to back, alternating
which goes first: this machine's speed drifts within seconds (other processes share its two
cores), and a drift then slows both paths alike instead of whichever pass it fell in. Each
provider keeps its own KV cache, so the reusing one still holds its head between items.
Reported per model: items/s (median over trials; a trial's items/s is its items over the summed
seconds of that path's calls), prompt tokens computed per item (input tokens minus those taken
from the cache), the median of the per-trial speed-up ratios, and whether every answer of every
trial is identical across the two paths (and across trials).

    .venv/bin/python benchmarks/bench_local.py   # --items 80 --trials 3 --threads 2

Pass criteria printed at the end: at least 2.5x the items/s without reuse for each model, and
100% identical answers. On a busy machine, compare the ratio, not the absolute items/s.

Measured 2026-12-02 with the command above (80 items, 3 trials, 2 threads):
- SmolLM2-135M: 3.40x (0.91 -> 3.01 items/s; trials 3.31x, 3.40x, 3.53x), prompt tokens computed
  per item 157 -> 37, identical answers 80/80 (load average 1.3-4.5 from other work).
- Gemma 3 270M: identical answers 80/80 every time, prompt tokens computed 108 -> 28, but 2.06x
  on a quiet machine (trials 2.04x, 2.21x, 2.06x; nothing else running, load average 1.3-1.6 =
  this benchmark's own two threads) and 2.26x / 2.51x in two runs while other work shared the
  cores: below the 2.5x target. An earlier 3.16x (40 items, whole passes alternating) fell in a
  busy phase of the path without reuse and does not stand. Where Gemma's time goes (medians over
  40 prompts, quiet): the whole 109-token prompt 232 ms, the 28-token tail after the head 76 ms,
  one decode step 18 ms; each answer needs the tail plus ~1 decode step, and both end in a row of
  its 262k-token output layer that reuse cannot skip, so the ratio tops out near
  (232 + 20) / (76 + 20) = 2.6x before per-call costs. Decoding several items at once would
  amortize those rows but changes answers (`benchmarks/bench_parallel_decode.py`).

Measured 2026-12-03 (nothing else running; load average = this benchmark's two threads; the
quickstart's current 200 held-out tickets, first 80), and the machine's speed drifting over the
runs (Gemma without reuse fell from 2.40 to 0.93 items/s between the first run and the last trial):
- `--models gemma --items 80`: 2.53x (2.40 -> 6.23 items/s; trials 2.52x, 2.53x, 2.59x), 80/80.
- `--items 80`, minutes later: SmolLM2 3.28x (0.83 -> 2.69; trials 3.28x, 3.23x, 3.45x), Gemma
  2.25x (1.28 -> 2.92; trials 2.25x, 2.28x, 2.11x), 80/80 identical for both.
  Gemma's ratio falls as the machine slows: the one decode step per answer (31 ms here, 18 ms on
  12-02), mostly the 262k-row output layer, is the same on both paths and weighs more.
- `--models gemma --items 80` at 13:18, quiet: 2.49x (2.36 -> 5.87 items/s; trials 2.45x,
  2.51x, 2.49x), 80/80. Timed inside the same benchmark (40 items, 2 trials: 2.47x, 2.59x), an
  item with reuse spent 131 ms in the tail's batch, 34 ms in its 1-token decode steps and 4 ms
  sampling; without reuse, 392 ms, 34 ms and 4 ms. The ~38 ms both paths share is what holds
  the ratio near 2.5x; folding the first answer token into the tail's batch would save most of
  the decode step but changes logits (`benchmarks/bench_fold_guess.py`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

from llmpick.evaluation import FieldMapping, PromptBuilder, load_dataset
from llmpick.evaluation._prompts import COMPLETION_STOP
from llmpick.providers import GenerateParams, Prompt, Response
from llmpick.providers._llamacpp import LlamaCppConfig, LlamaCppProvider
from llmpick.spec import load_spec

QUICKSTART = Path(__file__).parents[1] / "examples" / "quickstart" / "llmpick.yaml"
MODELS = {
    "smollm2": ("local/smollm2-135m-instruct", "chat"),
    "gemma": ("local/gemma-3-270m", "completion"),
}


def quickstart_prompts(mode: str, limit: int | None) -> tuple[list[Prompt], GenerateParams]:
    """The quickstart's prompts and generation settings, built as `llmpick eval` builds them."""
    loaded = load_spec(QUICKSTART)
    ds = loaded.spec.dataset
    assert ds is not None
    mapping = FieldMapping(
        input_field=ds.input_field, expected_field=ds.expected_field, id_field=ds.id_field
    )
    items = load_dataset(loaded.base_dir / ds.path, mapping).items[:limit]
    builder = PromptBuilder(
        template=ds.template,
        mode=mode,  # type: ignore[arg-type]
        system_prompt=ds.system_prompt,
        few_shot=[(s.input, s.output) for s in ds.few_shot],
        input_field=ds.input_field,
    )
    params = GenerateParams(
        max_tokens=ds.max_output_tokens,
        temperature=ds.temperature,
        stop=COMPLETION_STOP if mode == "completion" else (),
    )
    return [builder.build(item) for item in items], params


async def one_trial(
    providers: dict[bool, LlamaCppProvider], prompts: list[Prompt], params: GenerateParams
) -> dict[bool, tuple[float, list[Response]]]:
    """Every item through both providers back to back, alternating which goes first; per
    provider, the summed seconds of its calls and its responses in item order."""
    seconds = dict.fromkeys(providers, 0.0)
    responses: dict[bool, list[Response]] = {reuse: [] for reuse in providers}
    for i, prompt in enumerate(prompts):
        for reuse in (False, True) if i % 2 == 0 else (True, False):
            started = time.perf_counter()
            responses[reuse].append(await providers[reuse].generate(prompt, params))
            seconds[reuse] += time.perf_counter() - started
    return {reuse: (seconds[reuse], responses[reuse]) for reuse in providers}


async def bench_model(name: str, items: int | None, trials: int, threads: int) -> dict[str, Any]:
    model, mode = MODELS[name]
    prompts, params = quickstart_prompts(mode, items)
    providers = {
        reuse: LlamaCppProvider(
            LlamaCppConfig(model=model, n_threads=threads, n_ctx=2048, prefix_reuse=reuse)
        )
        for reuse in (True, False)
    }
    for provider in providers.values():
        await provider.load()
    seconds: dict[bool, list[float]] = {True: [], False: []}
    computed: dict[bool, list[float]] = {True: [], False: []}
    texts: dict[bool, list[list[str]]] = {True: [], False: []}
    ratios: list[float] = []
    try:
        for trial in range(trials):
            for reuse, (elapsed, responses) in (
                await one_trial(providers, prompts, params)
            ).items():
                seconds[reuse].append(elapsed)
                texts[reuse].append([r.text for r in responses])
                tokens = [
                    r.usage.input_tokens - (r.usage.cached_input_tokens or 0) for r in responses
                ]
                computed[reuse].append(sum(tokens) / len(tokens))
            ratios.append(seconds[False][-1] / seconds[True][-1])
            print(
                f"  {name} trial {trial + 1}: without {len(prompts) / seconds[False][-1]:.2f} "
                f"items/s, with {len(prompts) / seconds[True][-1]:.2f} items/s "
                f"({ratios[-1]:.2f}x)",
                flush=True,
            )
    finally:
        for provider in providers.values():
            await provider.aclose()
    reference = texts[False][0]
    runs = texts[True] + texts[False]
    identical = sum(all(run[i] == reference[i] for run in runs) for i in range(len(reference)))
    differing = [
        {
            "item": i,
            "without": [run[i] for run in texts[False]],
            "with": [run[i] for run in texts[True]],
        }
        for i in range(len(reference))
        if any(run[i] != reference[i] for run in runs)
    ]
    return {
        "model": model,
        "prompt_mode": mode,
        "items": len(prompts),
        "trials": trials,
        "threads": threads,
        "items_per_s_without_reuse": len(prompts) / statistics.median(seconds[False]),
        "items_per_s_with_reuse": len(prompts) / statistics.median(seconds[True]),
        "speedup_median_of_trials": statistics.median(ratios),
        "speedup_per_trial": [round(r, 3) for r in ratios],
        "prompt_tokens_computed_per_item_without_reuse": statistics.median(computed[False]),
        "prompt_tokens_computed_per_item_with_reuse": statistics.median(computed[True]),
        "identical_answers": identical,
        "differing_answers": differing,
        "reuse_note": providers[True].prefix_reuse_note,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=None, help="First N items (default: all).")
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--models", default=",".join(MODELS), help="Comma-separated: smollm2,gemma")
    args = parser.parse_args()
    results = []
    for name in args.models.split(","):
        results.append(asyncio.run(bench_model(name, args.items, args.trials, args.threads)))
    print(json.dumps(results, indent=2))
    for r in results:
        ok = r["speedup_median_of_trials"] >= 2.5 and r["identical_answers"] == r["items"]
        print(
            f"{r['model']}: {r['speedup_median_of_trials']:.2f}x items/s with reuse "
            f"({r['items_per_s_without_reuse']:.2f} -> {r['items_per_s_with_reuse']:.2f}), "
            f"prompt tokens computed per item "
            f"{r['prompt_tokens_computed_per_item_without_reuse']:.0f} -> "
            f"{r['prompt_tokens_computed_per_item_with_reuse']:.0f}, identical answers "
            f"{r['identical_answers']}/{r['items']}: {'PASS' if ok else 'FAIL'}"
        )


if __name__ == "__main__":
    main()
