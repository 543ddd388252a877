"""Hugging Face transformers in-process: a GGUF file or a model folder, optionally with a PEFT
LoRA adapter (a model tuned by `llmpick tune`), decoding greedily at temperature 0.

This is the runtime a tuned adapter runs in until it is merged into a GGUF for llama.cpp, so
latency measured here is transformers' on the CPU, not llama.cpp's: every response names
`transformers` as its provider and `sampling_settings()` records the runtime and the adapter.
torch, transformers and peft (the `tune` extra) are imported on first load only.
"""

from __future__ import annotations

import asyncio
import functools
import os
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from llmpick.providers._base import Provider, ProviderConfig, TextCallback
from llmpick.providers._errors import ContextOverflowError, ProviderSetupError
from llmpick.providers._local_models import BUNDLED_MODELS, resolve_gguf
from llmpick.providers._types import GenerateParams, Prompt, Response, Timings, Usage

__all__ = ["TransformersConfig", "TransformersProvider", "load_causal_lm"]

_INSTALL = "pip install 'llmpick[tune]'"


class TransformersConfig(ProviderConfig):
    """A causal language model run in this process by transformers."""

    kind: Literal["transformers"] = "transformers"
    model: str = Field(description="A label (tuned/<name>) or a bundled model id (local/...).")
    base_model: str | None = Field(
        None, description="The bundled model (local/...) whose weights `model` runs on."
    )
    model_path: str | None = Field(
        None,
        description="GGUF file or model folder; default: the GGUF of `base_model`, else of "
        "`model` (a bundled id).",
    )
    adapter_path: str | None = Field(None, description="A PEFT adapter folder to apply.")
    adapter_key: str | None = Field(
        None,
        description="The adapter's identity (llmpick tune's key: base, data, settings): part "
        "of cache keys, so answers cached for one adapter never answer for another.",
    )
    prompt_mode: Literal["auto", "chat", "completion"] = Field(
        "auto", description="auto: chat if the tokenizer has a chat template."
    )
    n_threads: int | None = Field(None, ge=1, description="torch CPU threads; default: torch's.")
    n_ctx: int = Field(2048, ge=64, description="Longest prompt plus answer, tokens.")
    seed: int = Field(0, description="Sampling seed when the call gives none (temperature > 0).")
    max_retries: int = 0


class TransformersProvider(Provider):
    """Base weights (+ adapter) in transformers; loads on first use, one call at a time."""

    kind = "transformers"
    config_class = TransformersConfig
    config: TransformersConfig

    def __init__(self, config: ProviderConfig) -> None:
        super().__init__(config)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="llmpick-hf")
        self._model: Any = None
        self._tokenizer: Any = None
        self._torch: Any = None
        self._mode: Literal["chat", "completion"] = "chat"
        self._load_lock = asyncio.Lock()

    @property
    def model_path(self) -> Path:
        if self.config.model_path:
            return Path(self.config.model_path).expanduser()
        name = self.config.base_model or self.config.model
        bundled = BUNDLED_MODELS.get(name)
        if bundled is None:
            raise ProviderSetupError(
                f"{name!r} is not a bundled model; give `model_path` (a .gguf file or a model "
                "folder) or `base_model`"
            )
        return resolve_gguf(bundled)

    def sampling_settings(self, params: GenerateParams) -> dict[str, Any]:
        """The runtime, adapter and decoding a call with `params` runs with."""
        greedy = not params.temperature
        return {
            "runtime": "transformers",
            "adapter": self.config.adapter_key
            or (Path(self.config.adapter_path).name if self.config.adapter_path else None),
            "decoding": "greedy" if greedy else "sampling",
            "temperature": params.temperature,
            **({} if greedy else {"top_p": params.top_p or 1.0, "seed": self._seed(params)}),
            "repetition_penalty": 1.0,
            **dict(params.extra),
        }

    def _seed(self, params: GenerateParams) -> int:
        return params.seed if params.seed is not None else self.config.seed

    async def load(self) -> None:
        """Load the weights now (they otherwise load on the first call)."""
        async with self._load_lock:
            if self._model is None:
                loop = asyncio.get_running_loop()
                await loop.run_in_executor(self._executor, self._load_sync)

    def _load_sync(self) -> None:
        try:
            import torch
        except ImportError as exc:
            raise ProviderSetupError(f"{exc.name} is not installed: {_INSTALL}") from None
        if self.config.n_threads:
            torch.set_num_threads(self.config.n_threads)
        path = self.model_path
        model, tokenizer = load_causal_lm(path)
        if self.config.adapter_path:
            try:
                import peft
            except ImportError:
                raise ProviderSetupError(f"peft is not installed: {_INSTALL}") from None
            adapter = Path(self.config.adapter_path).expanduser()
            if not (adapter / "adapter_config.json").is_file():
                raise ProviderSetupError(f"no PEFT adapter in {adapter} (adapter_config.json)")
            with (
                warnings.catch_warnings()
            ):  # peft calls a transformers API that warns of its rename
                warnings.simplefilter("ignore", FutureWarning)
                model = peft.PeftModel.from_pretrained(model, str(adapter))
        model.eval()
        mode = self.config.prompt_mode
        if mode == "auto":
            mode = "chat" if tokenizer.chat_template else "completion"
        if mode == "chat" and not tokenizer.chat_template:
            raise ProviderSetupError(
                f"{path.name} has no chat template: set prompt_mode: completion"
            )
        self._torch, self._tokenizer, self._mode, self._model = torch, tokenizer, mode, model

    def _prompt_text(self, prompt: Prompt) -> str:
        if self._mode == "chat":
            messages = [{"role": "user", "content": prompt}] if isinstance(prompt, str) else [
                {"role": m.role, "content": m.content} for m in prompt
            ]  # fmt: skip
            return str(
                self._tokenizer.apply_chat_template(
                    messages, tokenize=False, add_generation_prompt=True
                )
            )
        return prompt if isinstance(prompt, str) else "\n\n".join(m.content for m in prompt)

    async def _generate_once(
        self, prompt: Prompt, params: GenerateParams, emit: TextCallback | None
    ) -> Response:
        if self._model is None:
            await self.load()
        loop = asyncio.get_running_loop()
        timings = Timings(request_sent=time.perf_counter())
        n_prompt, n_output, text, finish, times = await loop.run_in_executor(
            self._executor, self._run_sync, prompt, params
        )
        timings.completed = time.perf_counter()
        for at in times:
            timings.mark_content(at)
        if emit is not None and text:
            emit(text)
        return Response(
            text=text,
            finish_reason=finish,
            usage=Usage(n_prompt, n_output, "tokenizer"),
            timings=timings,
            model=self.model,
            provider=self.kind,
            raw_finish_reason=finish,
        )

    def _run_sync(
        self, prompt: Prompt, params: GenerateParams
    ) -> tuple[int, int, str, Literal["stop", "length"], list[float]]:
        torch, tokenizer = self._torch, self._tokenizer
        text = self._prompt_text(prompt)
        special = self._mode != "chat"  # the chat template already wrote its special tokens
        ids = tokenizer(text, add_special_tokens=special, return_tensors="pt")["input_ids"]
        n_prompt = int(ids.shape[1])
        budget = self.config.n_ctx - n_prompt
        max_new = params.max_tokens if params.max_tokens is not None else budget
        if budget <= 0 or max_new > budget:
            raise ContextOverflowError(
                f"prompt of {n_prompt} tokens plus max_tokens {max_new} exceeds n_ctx "
                f"{self.config.n_ctx}",
                provider=self.kind,
                model=self.model,
            )
        times: list[float] = []
        streamer = _TokenClock(times)
        options: dict[str, Any] = {"max_new_tokens": max_new, "streamer": streamer}
        if params.temperature:
            torch.manual_seed(self._seed(params))
            options.update(
                do_sample=True, temperature=params.temperature, top_p=params.top_p or 1.0
            )
        else:
            options.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        stops = list(params.stop)
        if stops:
            options.update(stop_strings=stops, tokenizer=tokenizer)
        with torch.no_grad():
            out = self._model.generate(
                input_ids=ids,
                attention_mask=torch.ones_like(ids),
                pad_token_id=tokenizer.pad_token_id or tokenizer.eos_token_id,
                **options,
            )
        new = out[0, n_prompt:].tolist()
        answer = tokenizer.decode(new, skip_special_tokens=True)
        finish: Literal["stop", "length"] = "length" if len(new) >= max_new else "stop"
        for stop in stops:
            cut = answer.find(stop)
            if cut >= 0:
                answer, finish = answer[:cut], "stop"
        if new and new[-1] == tokenizer.eos_token_id:
            finish = "stop"
        return n_prompt, len(new), answer, finish, times[: len(new)]

    async def list_models(self) -> list[str]:
        return [self.model]

    async def aclose(self) -> None:
        self._model = None
        self._executor.shutdown(wait=False)


def load_causal_lm(path: Path) -> tuple[Any, Any]:
    """(model, tokenizer) from a GGUF file (dequantized to float32) or a model folder, offline
    and without transformers' progress bars (the GGUF conversion draws its own with tqdm).
    Raises `ProviderSetupError` naming the pip command when the `tune` extra is missing."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        import transformers
        from transformers import modeling_gguf_pytorch_utils as gguf_loading
    except ImportError as exc:
        raise ProviderSetupError(f"{exc.name} is not installed: {_INSTALL}") from None
    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    if not path.exists():
        raise ProviderSetupError(f"model not found: {path}")
    folder, extra = (path.parent, {"gguf_file": path.name}) if path.is_file() else (path, {})
    bar = gguf_loading.tqdm
    gguf_loading.tqdm = functools.partial(bar, disable=True)  # restored below
    try:
        tokenizer = transformers.AutoTokenizer.from_pretrained(str(folder), **extra)
        model = transformers.AutoModelForCausalLM.from_pretrained(str(folder), **extra)
    except (OSError, ValueError) as exc:
        raise ProviderSetupError(f"transformers cannot load {path}: {exc}") from None
    finally:
        gguf_loading.tqdm = bar
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model, tokenizer


class _TokenClock:
    """A generate() streamer that only stamps when each new token was produced."""

    def __init__(self, times: list[float]) -> None:
        self._times = times
        self._prompt_seen = False

    def put(self, value: Any) -> None:
        if not self._prompt_seen:  # generate() first passes the prompt itself
            self._prompt_seen = True
            return
        self._times.append(time.perf_counter())

    def end(self) -> None:
        pass
