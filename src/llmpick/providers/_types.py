"""What goes into a model call and what comes back, with timings comparable to vLLM's benchmark.

Every timestamp is a `time.perf_counter()` reading (a monotonic clock, seconds). The derived
metrics follow vLLM's ``benchmark_serving`` definitions so numbers from llmpick and from vLLM can be
put side by side:

- TTFT: request sent -> first chunk with non-empty content.
- E2E latency: request sent -> last content chunk (the whole answer when nothing streamed).
- TPOT: (E2E - TTFT) / (output tokens - 1); undefined for answers of fewer than two tokens.
- ITL: the gaps between consecutive content chunks.
- Output tokens/s: output tokens / E2E latency.
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "FinishReason",
    "GenerateParams",
    "Message",
    "Prompt",
    "Response",
    "Role",
    "Timings",
    "Usage",
    "UsageSource",
]

Role = Literal["system", "user", "assistant"]
# Normalised across vendors; the vendor's own word is kept in `Response.raw_finish_reason`.
FinishReason = Literal["stop", "length", "content_filter", "tool_calls", "other"]
# Where token counts came from: the server's usage report, a real tokenizer run locally, or an
# estimate (chunk count / characters) when neither was available.
UsageSource = Literal["server", "tokenizer", "estimate"]


@dataclass(frozen=True, slots=True)
class Message:
    """One chat turn."""

    role: Role
    content: str


# A chat conversation, or a raw completion prompt (base models, few-shot prompts).
Prompt = Sequence[Message] | str


@dataclass(frozen=True, slots=True)
class GenerateParams:
    """Generation settings. Defaults give deterministic, short answers (temperature 0).

    `extra` is merged into the request body as-is, for vendor options llmpick does not model.
    """

    max_tokens: int | None = 256
    temperature: float = 0.0
    top_p: float | None = None
    stop: tuple[str, ...] = ()
    seed: int | None = None
    stream: bool = True
    extra: Mapping[str, Any] = field(default_factory=dict)

    def output_affecting(self) -> dict[str, Any]:
        """The fields that can change the answer (for cache keys); `stream` is not one of them."""
        return {
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "stop": list(self.stop),
            "seed": self.seed,
            "extra": dict(self.extra),
        }


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts of one call and where they came from."""

    input_tokens: int
    output_tokens: int
    source: UsageSource
    cached_input_tokens: int | None = None

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


@dataclass(slots=True)
class Timings:
    """Monotonic timestamps (`time.perf_counter()`, seconds) of one call.

    `chunk_times` holds the arrival of every chunk that carried non-empty content, so
    ``chunk_times[0] == first_token`` and ``chunk_times[-1] == last_token``. Fields stay `None`
    when the event never happened (no content, or the call failed before it).
    """

    request_sent: float
    first_byte: float | None = None
    first_token: float | None = None
    last_token: float | None = None
    completed: float | None = None
    chunk_times: list[float] = field(default_factory=list)

    def mark_content(self, now: float) -> None:
        """Record the arrival of a chunk with non-empty content."""
        if self.first_token is None:
            self.first_token = now
        self.last_token = now
        self.chunk_times.append(now)


@dataclass(slots=True)
class Response:
    """The outcome of one successful call, with vLLM-compatible derived metrics (seconds)."""

    text: str
    finish_reason: FinishReason
    usage: Usage
    timings: Timings
    model: str
    provider: str
    raw_finish_reason: str | None = None
    # Attempts the call took (1 + retries): requests sent, for HTTP providers.
    attempts: int = 1

    @property
    def ttft_s(self) -> float | None:
        """Time to first non-empty content."""
        t = self.timings
        return None if t.first_token is None else t.first_token - t.request_sent

    @property
    def e2e_s(self) -> float | None:
        """Request sent to the last content chunk (or to completion when nothing streamed)."""
        t = self.timings
        end = t.last_token if t.last_token is not None else t.completed
        return None if end is None else end - t.request_sent

    @property
    def tpot_s(self) -> float | None:
        """Time per output token after the first: (E2E - TTFT) / (output tokens - 1)."""
        ttft, e2e, n = self.ttft_s, self.e2e_s, self.usage.output_tokens
        if ttft is None or e2e is None or n < 2:
            return None
        return (e2e - ttft) / (n - 1)

    @property
    def itl_s(self) -> list[float]:
        """Gaps between consecutive content chunks."""
        c = self.timings.chunk_times
        return [b - a for a, b in itertools.pairwise(c)]

    @property
    def median_itl_s(self) -> float | None:
        itl = self.itl_s
        return statistics.median(itl) if itl else None

    @property
    def output_tokens_per_s(self) -> float | None:
        """Output tokens divided by E2E latency (vLLM's per-request output throughput)."""
        e2e = self.e2e_s
        if not e2e or e2e <= 0:
            return None
        return self.usage.output_tokens / e2e

    @property
    def decode_tokens_per_s(self) -> float | None:
        """Generation speed after the first token: 1 / TPOT."""
        tpot = self.tpot_s
        return None if not tpot else 1.0 / tpot

    def metrics(self) -> dict[str, Any]:
        """The derived metrics as a plain dict (for JSON output and storage)."""
        return {
            "ttft_s": self.ttft_s,
            "e2e_s": self.e2e_s,
            "tpot_s": self.tpot_s,
            "median_itl_s": self.median_itl_s,
            "output_tokens_per_s": self.output_tokens_per_s,
            "input_tokens": self.usage.input_tokens,
            "output_tokens": self.usage.output_tokens,
            "usage_source": self.usage.source,
        }
