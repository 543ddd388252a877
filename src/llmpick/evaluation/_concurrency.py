"""How many requests an evaluation may keep in flight against a served endpoint before its
latency becomes the latency of a queue.

`llmpick eval` sends many requests at once so it finishes quickly. Against a server with few
slots (llama.cpp with one sequence, a small vLLM) the extra requests wait, and a 0.4 s server
shows a p50 TTFT of many seconds: the queue's, not the model's. So before a served endpoint is
evaluated at the default concurrency, this module finds a safe level:

1. the server's advertised slots, when it says (llama.cpp's `GET /props` `total_slots`, or
   `GET /slots`), or else
2. a short probe: 1 request alone (twice), then 2, 4, 8, ... at once, while the level's TTFT p50
   stays within `QUEUE_GROWTH` x the single-request value (and `QUEUE_FLOOR_MS` above it, so a
   server answering in a millisecond is not held back by timer noise). The safe level is the last
   that held.

The evaluation then runs at that level and records the evidence (`ConcurrencyEvidence`): which
concurrency latency was measured at, where it came from, the single-request TTFT and whether the
measured latency is "under a queue" (`measured_under_queue`), so a decision can keep queue
latency out of its latency criterion. A concurrency the user set (`max_concurrency`,
`--concurrency`) or a load test chose is used as is and recorded as "configured"; a vendor API
keeps the default and is recorded so (its queue, if any, is not ours to size).
"""

from __future__ import annotations

import asyncio
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from llmpick.evaluation._candidates import DEFAULT_HTTP_CONCURRENCY, PlannedCandidate
from llmpick.providers import GenerateParams, Prompt, Provider, ProviderError, provider_class
from llmpick.providers._base import TextCallback
from llmpick.providers._types import Response

__all__ = [
    "QUEUE_FLOOR_MS",
    "QUEUE_GROWTH",
    "ConcurrencyEvidence",
    "ConcurrencySource",
    "PrefetchedAnswers",
    "advertised_slots",
    "measured_under_queue",
    "probe_concurrency",
    "settle_concurrency",
]

# Latency "holds" while a level's TTFT p50 is at most this many times the single-request value...
QUEUE_GROWTH = 1.5
# ... or at most this much above it (timer noise on a server that answers in milliseconds).
QUEUE_FLOOR_MS = 25.0

ConcurrencySource = Literal["probe", "advertised slots", "configured", "default", "in-process"]


@dataclass(frozen=True)
class ConcurrencyEvidence:
    """At which concurrency an evaluation measured latency, and why that one.

    `levels` are the probe's (concurrency, TTFT p50 ms) pairs; `single_request_ttft_ms` is the
    reference a queue is judged against (None when nothing was probed). `under_queue` is True
    when latency was measured where requests wait for a slot, False when the level was chosen so
    they do not, None when unknown (a concurrency chosen without a probe).
    """

    concurrency: int
    source: ConcurrencySource
    single_request_ttft_ms: float | None = None
    levels: tuple[tuple[int, float | None], ...] = ()
    advertised_slots: int | None = None
    under_queue: bool | None = None
    note: str = ""
    growth_limit: float = QUEUE_GROWTH
    extra_requests: int = 0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["levels"] = [list(level) for level in self.levels]
        return data


def measured_under_queue(evidence: Mapping[str, Any] | None, ttft_p50_ms: float | None) -> bool:
    """Whether an evaluation's measured TTFT p50 is a queue's: above `QUEUE_GROWTH` x (and
    `QUEUE_FLOOR_MS` over) the single-request TTFT its probe found. Without a single-request
    reference, the evidence's own `under_queue` flag decides (unknown counts as not queued).

    `evidence` is `ConcurrencyEvidence.to_dict()` as a run records it."""
    if not evidence:
        return False
    single = evidence.get("single_request_ttft_ms")
    if single is not None and ttft_p50_ms is not None:
        return bool(_grew(float(single), float(ttft_p50_ms), evidence.get("growth_limit")))
    return bool(evidence.get("under_queue"))


def _grew(single_ms: float, level_ms: float, growth: float | None = None) -> bool:
    limit = max(single_ms * (growth or QUEUE_GROWTH), single_ms + QUEUE_FLOOR_MS)
    return level_ms > limit


async def advertised_slots(base_url: str, *, timeout_s: float = 2.0) -> int | None:
    """The number of parallel slots the server says it has, or None when it does not say.

    llama.cpp's server answers `GET /props` with `total_slots` and `GET /slots` with one entry
    per slot; both live at the server root, beside `/v1`."""
    import aiohttp

    root = base_url.rstrip("/")
    if root.endswith("/v1"):
        root = root[: -len("/v1")]
    timeout = aiohttp.ClientTimeout(total=timeout_s)
    try:
        async with aiohttp.ClientSession(timeout=timeout) as session:
            for path in ("/props", "/slots"):
                async with session.get(root + path) as response:
                    if response.status != 200:
                        continue
                    body = await response.json(content_type=None)
                if isinstance(body, dict) and isinstance(body.get("total_slots"), int):
                    return body["total_slots"] if body["total_slots"] > 0 else None
                if isinstance(body, list) and body and all(isinstance(s, dict) for s in body):
                    return len(body)
    except (aiohttp.ClientError, TimeoutError, ValueError):
        return None
    return None


class PrefetchedAnswers(Provider):
    """A provider whose first answers were already fetched by the probe.

    The probe sends the evaluation's own first prompts; their answers (or errors) are kept and
    handed out when the evaluation asks for the same prompt, so probing costs no extra calls and
    a server sees each prompt once."""

    kind = "prefetched"
    in_process = False

    def __init__(self, inner: Provider) -> None:
        super().__init__(inner.config)
        self.inner = inner
        self._ready: dict[int, list[tuple[Prompt, Response | ProviderError]]] = {}

    async def fetch(self, prompt: Prompt, params: GenerateParams) -> Response:
        """Call the model now and keep the outcome for the evaluation's own call."""
        outcome: Response | ProviderError
        try:
            outcome = await self.inner.generate(prompt, params)
        except ProviderError as exc:
            outcome = exc
        self._ready.setdefault(id(prompt), []).append((prompt, outcome))
        if isinstance(outcome, ProviderError):
            raise outcome
        return outcome

    async def generate(
        self,
        prompt: Prompt,
        params: GenerateParams | None = None,
        *,
        on_text: TextCallback | None = None,
    ) -> Response:
        kept = self._ready.get(id(prompt))
        if kept:
            _, outcome = kept.pop(0)
            if not kept:
                del self._ready[id(prompt)]
            if isinstance(outcome, ProviderError):
                raise outcome
            return outcome
        return await self.inner.generate(prompt, params, on_text=on_text)

    async def _generate_once(
        self, prompt: Prompt, params: GenerateParams, emit: TextCallback | None
    ) -> Response:
        return await self.inner._generate_once(prompt, params, emit)

    async def aclose(self) -> None:
        await self.inner.aclose()


@dataclass
class _Level:
    concurrency: int
    ttft_ms: list[float] = field(default_factory=list)

    @property
    def p50(self) -> float | None:
        # The upper median: with two requests on one slot ([0.4 s, 0.8 s]) the queue shows.
        return statistics.median_high(self.ttft_ms) if self.ttft_ms else None


async def probe_concurrency(
    provider: Provider | PrefetchedAnswers,
    prompts: Sequence[Prompt],
    params: GenerateParams,
    *,
    max_concurrency: int,
    base_url: str | None = None,
    ramp: bool = True,
) -> ConcurrencyEvidence:
    """The highest concurrency (up to `max_concurrency`) at which TTFT holds, as evidence.

    Sends 2, then 2, 4, 8, ... of `prompts` at once, each prompt once (through a
    `PrefetchedAnswers`, the evaluation reuses those answers), unless the server advertises its
    slots; it stops when the prompts run out. A probe that cannot measure (every request failed)
    keeps concurrency 1 and says so: the evaluation then fails or succeeds on its own. With
    `ramp` False only the single-request reference is measured and `max_concurrency` kept."""
    ceiling = max(1, max_concurrency)
    if base_url is not None and ramp:
        slots = await advertised_slots(base_url)
        if slots is not None:
            return ConcurrencyEvidence(
                concurrency=min(slots, ceiling),
                source="advertised slots",
                advertised_slots=slots,
                under_queue=False,
                note=f"the server advertises {slots} parallel slot(s)",
            )
    sent = 0
    call = provider.fetch if isinstance(provider, PrefetchedAnswers) else provider.generate

    async def one() -> float | None:
        nonlocal sent
        prompt = prompts[sent]
        sent += 1
        try:
            response = await call(prompt, params)
        except ProviderError:
            return None
        seconds = response.ttft_s if response.ttft_s is not None else response.e2e_s
        return None if seconds is None else seconds * 1000

    single = _Level(1)
    for _ in range(min(2, len(prompts))):  # one at a time: the first also opens the connection
        value = await one()
        if value is not None:
            single.ttft_ms.append(value)
    if single.p50 is None:
        return ConcurrencyEvidence(
            concurrency=1 if ramp else ceiling,
            source="probe" if ramp else "configured",
            note="the probe's requests failed"
            + ("; evaluating one request at a time" if ramp else ""),
            extra_requests=sent,
        )
    reference = min(single.ttft_ms)  # the second is free of connection set-up
    if not ramp:
        return ConcurrencyEvidence(
            concurrency=ceiling,
            source="configured",
            single_request_ttft_ms=reference,
            levels=((1, reference),),
            note="set by the spec, a flag or a load test; single-request TTFT measured as the "
            "reference a queue is judged against",
            extra_requests=sent,
        )
    levels: list[tuple[int, float | None]] = [(1, reference)]
    safe = 1
    concurrency = 2
    while concurrency <= ceiling and sent + concurrency <= len(prompts):
        level = _Level(concurrency)
        values = await asyncio.gather(*(one() for _ in range(concurrency)))
        level.ttft_ms = [v for v in values if v is not None]
        levels.append((concurrency, level.p50))
        if level.p50 is None or _grew(reference, level.p50):
            break
        safe = concurrency
        concurrency *= 2
    stopped = levels[-1]
    note = (
        f"TTFT p50 {stopped[1]:,.0f} ms at concurrency {stopped[0]} against {reference:,.0f} ms "
        f"alone: over {QUEUE_GROWTH:g}x, so requests were queueing"
        if stopped[0] != safe and stopped[1] is not None
        else f"TTFT held up to concurrency {safe} (as far as the probe went)"
    )
    return ConcurrencyEvidence(
        concurrency=safe,
        source="probe",
        single_request_ttft_ms=reference,
        levels=tuple(levels),
        under_queue=False,
        note=note,
        extra_requests=sent,
    )


async def settle_concurrency(
    planned: PlannedCandidate,
    provider: Provider | PrefetchedAnswers,
    prompts: Sequence[Prompt],
    params: GenerateParams,
    *,
    calls_needed: int,
) -> ConcurrencyEvidence:
    """Size the evaluation of one candidate before its first call, and say how.

    A served endpoint (a spec `endpoint`) left at the default concurrency is probed with the
    evaluation's first `prompts` through `provider` (pass a `PrefetchedAnswers` so those answers
    are reused) and `planned.concurrency` set to the safe level (never above `calls_needed`); one
    whose concurrency was configured keeps it, its first two prompts sent one at a time as the
    single-request reference; anything else keeps its concurrency and only records it."""
    config = planned.provider_config or {}
    calls = max(1, calls_needed)
    if config and provider_class(config["kind"]).in_process:
        return ConcurrencyEvidence(1, "in-process", under_queue=False, note="one call at a time")
    served = "endpoint" in planned.description
    configured = planned.concurrency != DEFAULT_HTTP_CONCURRENCY
    if configured and not (served and prompts):
        return ConcurrencyEvidence(
            planned.concurrency,
            "configured",
            note="set by the spec, a flag or a load test; not probed",
        )
    if not served or not prompts:
        return ConcurrencyEvidence(
            planned.concurrency,
            "default",
            note="a vendor API at the default concurrency; not probed",
        )
    evidence = await probe_concurrency(
        provider,
        prompts,
        params,
        max_concurrency=planned.concurrency if configured else min(planned.concurrency, calls),
        base_url=str(config.get("base_url")) if config.get("base_url") else None,
        ramp=not configured,
    )
    planned.concurrency = evidence.concurrency
    return evidence
