"""Local token counting, for servers that report no usage.

A counter is named by a string: a `.gguf` file or a bundled model id (llama.cpp loads only the
vocabulary, in milliseconds), a `tokenizer.json` (needs the `tokenizers` package) or
`tiktoken:<encoding>` (needs `tiktoken` and its encoding files, which it downloads on first use).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from pathlib import Path

from llmpick.providers._errors import ProviderSetupError
from llmpick.providers._local_models import BUNDLED_MODELS, resolve_gguf

__all__ = ["count_tokens_async", "load_token_counter"]

TokenCounter = Callable[[str], int]
_LOADED: dict[str, TokenCounter] = {}


def load_token_counter(spec: str) -> TokenCounter:
    """A function counting the tokens of a text (no special tokens added), cached per `spec`."""
    counter = _LOADED.get(spec)
    if counter is None:
        counter = _LOADED[spec] = _load(spec)
    return counter


def _load(spec: str) -> TokenCounter:
    if spec.startswith("tiktoken:"):
        try:
            import tiktoken
        except ImportError:
            raise ProviderSetupError(f"tokenizer {spec!r} needs: pip install tiktoken") from None
        encoding = tiktoken.get_encoding(spec.partition(":")[2])
        return lambda text: len(encoding.encode(text, disallowed_special=()))
    if spec in BUNDLED_MODELS or spec.endswith(".gguf"):
        from llmpick.providers._llamacpp import import_llama_cpp

        path = resolve_gguf(BUNDLED_MODELS[spec]) if spec in BUNDLED_MODELS else Path(spec)
        if not path.is_file():
            raise ProviderSetupError(f"tokenizer file not found: {path}")
        llm = import_llama_cpp().Llama(model_path=str(path), vocab_only=True, verbose=False)
        return lambda text: len(llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))
    if spec.endswith(".json"):
        try:
            from tokenizers import Tokenizer
        except ImportError:
            raise ProviderSetupError(f"tokenizer {spec!r} needs: pip install tokenizers") from None
        tokenizer = Tokenizer.from_file(spec)
        return lambda text: len(tokenizer.encode(text, add_special_tokens=False).ids)
    raise ProviderSetupError(
        f"unknown tokenizer {spec!r}: give a .gguf path, a tokenizer.json path, "
        f"a bundled model id ({', '.join(BUNDLED_MODELS)}) or tiktoken:<encoding>"
    )


async def count_tokens_async(spec: str, texts: Sequence[str]) -> list[int]:
    """Token counts of `texts`; the first use of a `spec` loads it off the event loop."""
    counter = _LOADED.get(spec)
    if counter is None:
        counter = await asyncio.to_thread(load_token_counter, spec)
    return [counter(text) for text in texts]
