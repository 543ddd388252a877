"""Prefix reuse in the in-process adapter: the same answers as clearing the cache every time.

Prompts are the quickstart's (system prompt, three few-shot examples, one ticket), built by the
evaluation's own PromptBuilder for each model's prompt mode.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from llmpick.evaluation import FieldMapping, PromptBuilder, load_dataset
from llmpick.evaluation._prompts import COMPLETION_STOP
from llmpick.providers import GenerateParams, Message, Prompt, Response
from llmpick.providers._llamacpp import LlamaCppConfig, LlamaCppProvider
from llmpick.spec import load_spec

from .conftest import HAVE_LLAMA

pytestmark = [
    pytest.mark.local_model,
    pytest.mark.skipif(not HAVE_LLAMA, reason="needs the `local` extra"),
]

QUICKSTART = Path(__file__).parents[2] / "examples" / "quickstart" / "llmpick.yaml"
SAMPLE = 6  # items; the full set runs in benchmarks/bench_local.py


def _quickstart(mode: str) -> tuple[list[Prompt], GenerateParams]:
    spec = load_spec(QUICKSTART)
    ds = spec.spec.dataset
    assert ds is not None
    mapping = FieldMapping(
        input_field=ds.input_field, expected_field=ds.expected_field, id_field=ds.id_field
    )
    items = load_dataset(spec.base_dir / ds.path, mapping).items
    # Spread over the file, so tickets of every queue are in the sample.
    sample = items[:: max(1, len(items) // SAMPLE)][:SAMPLE]
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
    return [builder.build(item) for item in sample], params


def _answers(provider: LlamaCppProvider, prompts: list[Prompt], params: GenerateParams) -> list:
    async def run() -> list[Response]:
        return [await provider.generate(p, params) for p in prompts]

    return asyncio.run(run())


@pytest.fixture(scope="module")
def smollm2_no_reuse(llmpick_home: Path) -> Iterator[LlamaCppProvider]:
    yield from _loaded("local/smollm2-135m-instruct", prefix_reuse=False)


@pytest.fixture(scope="module")
def gemma_no_reuse(llmpick_home: Path) -> Iterator[LlamaCppProvider]:
    yield from _loaded("local/gemma-3-270m", prefix_reuse=False)


def _loaded(model: str, **options: object) -> Iterator[LlamaCppProvider]:
    config = LlamaCppConfig(model=model, n_threads=2, n_ctx=1024, **options)  # type: ignore[arg-type]
    provider = LlamaCppProvider(config)
    asyncio.run(provider.load())
    yield provider
    asyncio.run(provider.aclose())


# Unhappy paths first: where reuse is off, nothing is taken from the cache, and it says why.


def test_switched_off_reuses_nothing_and_says_so(smollm2_no_reuse: LlamaCppProvider) -> None:
    prompts, params = _quickstart("chat")
    responses = _answers(smollm2_no_reuse, prompts[:2], params)
    assert [r.usage.cached_input_tokens for r in responses] == [0, 0]
    assert smollm2_no_reuse.prefix_reuse_note == "off (prefix_reuse: false)"


def test_gpu_offload_turns_reuse_off_with_the_reason(llmpick_home: Path) -> None:
    # On this CPU build the layers stay on the CPU, but the setting alone must switch reuse off:
    # a GPU backend's kernels change with batch size.
    provider = next(_loaded("local/smollm2-135m-instruct", n_gpu_layers=-1))
    try:
        assert provider.prefix_reuse_note is not None
        assert "GPU" in provider.prefix_reuse_note
        prompts, params = _quickstart("chat")
        assert _answers(provider, prompts[:2], params)[1].usage.cached_input_tokens == 0
    finally:
        asyncio.run(provider.aclose())


def test_a_short_shared_start_is_not_reused(smollm2: LlamaCppProvider) -> None:
    params = GenerateParams(max_tokens=4)
    first, second = _answers(
        smollm2, [[Message("user", "Name a colour.")], [Message("user", "Name a fruit.")]], params
    )
    assert first.usage.cached_input_tokens == second.usage.cached_input_tokens == 0


# Equality with the clear-every-time path.


def test_smollm2_chat_answers_equal_with_and_without_reuse(
    smollm2: LlamaCppProvider, smollm2_no_reuse: LlamaCppProvider
) -> None:
    prompts, params = _quickstart("chat")
    assert smollm2.prefix_reuse_note is None
    reused = _answers(smollm2, prompts, params)
    fresh = _answers(smollm2_no_reuse, prompts, params)
    assert [r.text for r in reused] == [r.text for r in fresh]
    assert [r.usage.input_tokens for r in reused] == [r.usage.input_tokens for r in fresh]
    # Every prompt after the first took the same head (system prompt + examples) from the cache.
    heads = {r.usage.cached_input_tokens for r in reused[1:]}
    assert len(heads) == 1 and heads.pop() > 100  # type: ignore[operator]


def test_gemma_completion_answers_equal_with_and_without_reuse(
    gemma: LlamaCppProvider, gemma_no_reuse: LlamaCppProvider
) -> None:
    prompts, params = _quickstart("completion")
    reused = _answers(gemma, prompts, params)
    fresh = _answers(gemma_no_reuse, prompts, params)
    assert [r.text for r in reused] == [r.text for r in fresh]
    assert all((r.usage.cached_input_tokens or 0) > 50 for r in reused[1:])


def test_answers_do_not_depend_on_order_or_on_unrelated_prompts_between(
    smollm2: LlamaCppProvider,
) -> None:
    prompts, params = _quickstart("chat")
    forward = _answers(smollm2, prompts, params)
    unrelated: list[Prompt] = [[Message("user", "Write a word about the sea.")]]
    mixed = _answers(smollm2, [*unrelated, *prompts[::-1], *unrelated, prompts[0]], params)
    assert [r.text for r in mixed[1 : 1 + len(prompts)]] == [r.text for r in forward][::-1]
    assert mixed[-1].text == forward[0].text
    # After the unrelated prompt the head had to be evaluated again, then it was reused.
    assert mixed[1].usage.cached_input_tokens == 0
    assert mixed[-1].usage.cached_input_tokens == 0
    assert (mixed[2].usage.cached_input_tokens or 0) > 100
