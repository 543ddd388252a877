"""The response cache: a call's answer, keyed only by what can change that answer.

The key covers the provider kind, base URL, model, the exact prompt (messages or raw text), the
output-affecting generation parameters and the sample number (so `--repeat 3` asks three times).
Timeouts, retries, concurrency, API keys and streaming do not change an answer and stay out, so a
re-run with other settings still hits. The stored timings are those of the original call, which
keeps latency statistics of a cached re-run honest (they are flagged `from_cache`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, fields
from json.encoder import encode_basestring_ascii as _quote  # json.dumps's own C escaper
from typing import Any

__all__ = ["CacheKeyer", "CachedAnswer", "cache_key"]


def cache_key(
    identity: dict[str, Any],
    prompt: Any,
    generation: dict[str, Any],
    sample: int = 0,
) -> str:
    """SHA-256 of the canonical JSON of everything that determines the answer.

    `identity` names the model behind the call (provider kind, base URL or file, model name);
    `prompt` is a raw string or a list of `{"role", "content"}` mappings; `generation` is
    `GenerateParams.output_affecting()`.
    """
    return hashlib.sha256(
        _material(_canonical(generation), _canonical(identity), _canonical_prompt(prompt), sample)
    ).hexdigest()


# One encoder, built once: `json.dumps` with any non-default option builds a new one per call,
# which was a third of the cost of computing a key.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), default=str)
_COMPACT = json.JSONEncoder(separators=(",", ":"))


def _canonical(value: Any) -> str:
    return _CANONICAL.encode(value)


def _canonical_prompt(prompt: Any) -> str:
    """`_canonical(prompt)`, byte for byte, without the encoder's per-call set-up for the two
    shapes prompts have (a string, or role/content messages): a key is computed per item."""
    if type(prompt) is str:
        return _quote(prompt)
    if type(prompt) is list and all(_is_message(m) for m in prompt):
        return (
            "["
            + ",".join(
                f'{{"content":{_quote(m["content"])},"role":{_quote(m["role"])}}}' for m in prompt
            )
            + "]"
        )
    return _canonical(prompt)


def _is_message(value: Any) -> bool:
    return (
        type(value) is dict
        and len(value) == 2
        and type(value.get("role")) is str
        and type(value.get("content")) is str
    )


def _material(generation: str, identity: str, prompt_json: str, sample: int) -> bytes:
    # Exactly the canonical JSON of {"generation", "identity", "prompt", "sample", "v": 1}
    # (keys in sorted order), assembled from parts so the constant ones are encoded once.
    return (
        f'{{"generation":{generation},"identity":{identity},"prompt":{prompt_json},'
        f'"sample":{int(sample)},"v":1}}'
    ).encode()


class CacheKeyer:
    """`cache_key` for many prompts to one model with the same parameters; the constant parts
    are encoded once (the runner computes a key per item)."""

    def __init__(self, identity: dict[str, Any], generation: dict[str, Any]) -> None:
        self._identity = _canonical(identity)
        self._generation = _canonical(generation)
        self._turns: dict[tuple[str, str], str] = {}

    def key(self, prompt: Any, sample: int = 0) -> str:
        return hashlib.sha256(
            _material(self._generation, self._identity, _canonical_prompt(prompt), sample)
        ).hexdigest()

    def message_key(self, messages: Sequence[Any], sample: int = 0) -> str:
        """`key` of chat messages given as objects with `role` and `content` (the providers'
        `Message`), the same key their dict form gives, without building it. Turns that repeat
        in every prompt (system prompt, few-shot examples) are encoded once."""
        turns = self._turns
        parts = []
        for message in messages:
            role, content = message.role, message.content
            if type(role) is not str or type(content) is not str:
                return self.key([{"role": m.role, "content": m.content} for m in messages], sample)
            encoded = turns.get((role, content))
            if encoded is None:
                encoded = f'{{"content":{_quote(content)},"role":{_quote(role)}}}'
                if len(turns) < 64:  # the repeated turns come first; items' own turns do not
                    turns[(role, content)] = encoded
            parts.append(encoded)
        prompt_json = "[" + ",".join(parts) + "]"
        return hashlib.sha256(
            _material(self._generation, self._identity, prompt_json, sample)
        ).hexdigest()


@dataclass
class CachedAnswer:
    """What the cache keeps of a successful call."""

    text: str
    finish_reason: str | None
    input_tokens: int | None
    output_tokens: int | None
    cached_input_tokens: int | None
    usage_source: str | None
    ttft_s: float | None
    e2e_s: float | None
    tpot_s: float | None
    output_tokens_per_s: float | None

    def to_json(self) -> str:
        # Not dataclasses.asdict: it deep-copies, and this runs once per call.
        return _COMPACT.encode({name: getattr(self, name) for name in _FIELDS})

    @classmethod
    def from_json(cls, payload: str) -> CachedAnswer:
        data = json.loads(payload)
        return cls(**{k: data.get(k) for k in _FIELDS})

    @classmethod
    def many_from_json(cls, payloads: Sequence[str]) -> list[CachedAnswer]:
        """`from_json` for many payloads, decoded in one pass (a cached re-run reads thousands)."""
        decoded = json.loads(f"[{','.join(payloads)}]") if payloads else []
        return [cls(*map(data.get, _FIELDS)) for data in decoded]


_FIELDS = tuple(f.name for f in fields(CachedAnswer))
