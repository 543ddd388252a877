"""The in-process adapter against both bundled GGUF models (real llama.cpp)."""

from __future__ import annotations

import asyncio

import pytest

from llmpick.providers import ContextOverflowError, GenerateParams, Message
from llmpick.providers._llamacpp import LlamaCppProvider

pytestmark = pytest.mark.local_model

QUESTION = [Message("user", "What is the capital of France?")]
FEW_SHOT = "Q: What is the capital of Italy?\nA: Rome\nQ: What is the capital of France?\nA:"


async def test_smollm2_chat_streams_and_reports_usage(smollm2: LlamaCppProvider) -> None:
    pieces: list[str] = []
    r = await smollm2.generate(QUESTION, GenerateParams(max_tokens=12), on_text=pieces.append)
    assert r.text and "".join(pieces) == r.text
    assert r.finish_reason in ("stop", "length")
    assert r.usage.source == "tokenizer" and r.usage.input_tokens > 10
    assert 1 <= r.usage.output_tokens <= 12
    t = r.timings
    assert t.request_sent <= t.first_token <= t.last_token <= t.completed  # type: ignore[operator]
    assert len(t.chunk_times) == len(pieces)
    assert r.ttft_s is not None and r.ttft_s > 0


async def test_temperature_zero_is_deterministic_across_unrelated_prompts(
    smollm2: LlamaCppProvider,
) -> None:
    params = GenerateParams(max_tokens=16)
    first = await smollm2.generate(QUESTION, params)
    await smollm2.generate([Message("user", "Write a word about the sea.")], params)
    again = await smollm2.generate(QUESTION, params)
    assert again.text == first.text


async def test_length_finish_when_max_tokens_reached(smollm2: LlamaCppProvider) -> None:
    r = await smollm2.generate(
        [Message("user", "Count from one to fifty.")], GenerateParams(max_tokens=4)
    )
    assert r.finish_reason == "length" and r.usage.output_tokens == 4


async def test_gemma_base_model_answers_few_shot_completion(gemma: LlamaCppProvider) -> None:
    assert gemma.prompt_mode == "completion"
    r = await gemma.generate(FEW_SHOT, GenerateParams(max_tokens=5, stop=("\n",)))
    assert r.text.strip() == "Paris"
    assert r.finish_reason == "stop" and r.usage.source == "tokenizer"


async def test_chat_messages_to_a_base_model_become_a_question(gemma: LlamaCppProvider) -> None:
    r = await gemma.generate(QUESTION, GenerateParams(max_tokens=6))
    assert "Paris" in r.text


async def test_context_overflow_is_a_typed_error(smollm2: LlamaCppProvider) -> None:
    with pytest.raises(ContextOverflowError, match="n_ctx"):
        await smollm2.generate("word " * 2000, GenerateParams(max_tokens=8))


async def test_generation_does_not_block_the_event_loop(smollm2: LlamaCppProvider) -> None:
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.001)
            ticks += 1

    task = asyncio.create_task(ticker())
    await smollm2.generate(QUESTION, GenerateParams(max_tokens=16))
    task.cancel()
    assert ticks >= 5


async def test_concurrent_calls_to_one_model_both_complete(smollm2: LlamaCppProvider) -> None:
    params = GenerateParams(max_tokens=6)
    a, b = await asyncio.gather(
        smollm2.generate(QUESTION, params), smollm2.generate(QUESTION, params)
    )
    assert a.text == b.text


async def test_thread_count_is_configurable(smollm2: LlamaCppProvider) -> None:
    assert smollm2._llm.n_threads == 2
