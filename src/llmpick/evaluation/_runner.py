"""Run every candidate over the dataset: async, bounded per endpoint, cached, resumable.

    from llmpick.evaluation import RunOptions, evaluate
    from llmpick.spec import load_spec
    from llmpick.store import open_store

    with open_store() as store:
        outcome = evaluate(load_spec("llmpick.yaml"), store, RunOptions(limit=50))

Each result (response, scores, cache entry) is committed to the store as soon as it completes.
A run is identified by a fingerprint of what it measures (items, prompts, candidates, scorers,
options); starting the same run again resumes the unfinished one: finished items are skipped and
the cache answers any call already made, so a run killed even with SIGKILL loses nothing and
repeats no request that had completed. SIGTERM and SIGHUP stop a run like Ctrl-C does: it is
marked `interrupted` and resumes when started again.

Several processes can share one store. A run being executed is leased by one process (renewed
while it runs, lost at once when that process dies); a second process starting the same run
waits for it to finish and then answers from the cache. A call being made is claimed by its
cache key, so a process never calls a model for a key another process is calling: it waits for
that answer and reads it from the cache. A result is either stored or the run is not finished:
while another process holds the database's lock, results wait in memory and are retried.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import secrets
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from llmpick._errors import LlmpickError
from llmpick.catalog import Catalog, load_catalog
from llmpick.evaluation._assertions import row_assertions
from llmpick.evaluation._calls import ModelCaller, answer_of, identity_of
from llmpick.evaluation._candidates import PlannedCandidate, call_cost_usd, plan_candidates
from llmpick.evaluation._concurrency import (
    ConcurrencyEvidence,
    PrefetchedAnswers,
    settle_concurrency,
)
from llmpick.evaluation._dataset import FieldMapping, Item, load_dataset, select_items
from llmpick.evaluation._prompts import COMPLETION_STOP, PromptBuilder
from llmpick.evaluation._scorers import Sample, Score, Scorer, build_scorer
from llmpick.providers import (
    AuthenticationError,
    ContextOverflowError,
    GenerateParams,
    ModelNotFoundError,
    Prompt,
    Provider,
    ProviderError,
    ProviderSetupError,
    create_provider,
    provider_class,
)
from llmpick.spec import LoadedSpec, Spec
from llmpick.store import (
    CachedAnswer,
    CacheKeyer,
    CandidateRecord,
    ItemRecord,
    ResponseRecord,
    ResultRecord,
    RunLease,
    RunRecord,
    ScoreRecord,
    Store,
    StoreBusyError,
    StoreError,
)

__all__ = [
    "EvaluationError",
    "ProgressSink",
    "RunInterrupted",
    "RunOptions",
    "RunOutcome",
    "evaluate",
    "run_async",
]

# Errors that will not go away by asking again: stop calling that candidate.
_FATAL = (AuthenticationError, ModelNotFoundError, ProviderSetupError)
_CACHE_CHUNK = 512
# A lease or claim lasts this long unless renewed (every _RENEW_EVERY_S): a holder on another
# host that stops renewing (killed, frozen) is taken over after at most this long.
LEASE_TTL_S = 30.0
_RENEW_EVERY_S = 5.0
_WAIT_POLL_S = 1.0


class EvaluationError(LlmpickError):
    """The evaluation cannot start (no dataset section, bad scorer, unusable rows)."""


class RunInterrupted(KeyboardInterrupt):
    """The run was stopped by SIGTERM or SIGHUP. Like Ctrl-C, it is marked `interrupted` with
    everything finished so far stored, and resumes when started again. `exit_code` is what a
    shell reports for that signal (128 + its number)."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"stopped by {signal.Signals(signum).name}")
        self.signum = signum
        self.exit_code = 128 + signum


@dataclass
class RunOptions:
    """How to run: the CLI's flags, for library callers."""

    use_cache: bool = True
    limit: int | None = None
    sample: int | None = None
    seed: int = 0
    repeat: int = 1
    skip_bad_rows: bool = False
    resume: bool = True
    only: Sequence[str] | None = None
    concurrency: int | None = None
    # Per-candidate defaults by label, e.g. the concurrency a load test found sustainable within
    # the SLO, so a served endpoint's latency is measured at its operating point; a candidate's
    # own `max_concurrency` and `concurrency` above come first.
    concurrency_for: Mapping[str, int] | None = None
    # Return the newest *finished* run of exactly this work instead of starting a new one (what
    # `decide` does after an `eval`): nothing is called, and the outcome says `reused`.
    reuse_finished: bool = False
    # In-process models keep the KV cache of the head every prompt shares (system prompt,
    # few-shot examples) and compute only each item's tail, with the same answers; False
    # recomputes the head for every item (not part of the run's identity: answers are equal).
    prefix_reuse: bool = True
    # Only these item ids (the held-out test split when the spec tunes a candidate), before
    # `limit` and `sample`; None: every item.
    item_ids: Sequence[str] | None = None
    # Tuned candidates by label: the provider config of the adapter trained for them, or the
    # reason none could be (reported as not measured). See `llmpick._pipeline.prepare_tuning`.
    tuned: Mapping[str, Mapping[str, Any] | str] | None = None


@dataclass
class RunOutcome:
    run_id: str
    resumed: bool
    items: int
    candidates: list[CandidateRecord]
    calls_made: int = 0
    cached: int = 0
    skipped_done: int = 0
    errors: int = 0
    skipped_rows: list[str] = field(default_factory=list)
    interrupted: bool = False
    # Calls were made and none succeeded (nothing answered from the cache either): the run
    # measured nothing. `first_error` says why.
    every_call_failed: bool = False
    first_error: str | None = None
    reused: bool = False


class ProgressSink(Protocol):
    """Told how far each candidate is (the CLI draws Rich progress bars from it). `unit` names
    what is counted (items; training steps), `note` says how it goes (a step's loss)."""

    def start(self, label: str, total: int, completed: int, unit: str = "items") -> None: ...
    def advance(self, label: str, amount: int = 1, note: str | None = None) -> None: ...
    def finish(self, label: str, note: str) -> None: ...


class _NoProgress:
    def start(self, label: str, total: int, completed: int, unit: str = "items") -> None:
        pass

    def advance(self, label: str, amount: int = 1, note: str | None = None) -> None:
        pass

    def finish(self, label: str, note: str) -> None:
        pass


def evaluate(
    spec: LoadedSpec | Spec,
    store: Store,
    options: RunOptions | None = None,
    *,
    base_dir: Path | None = None,
    progress: ProgressSink | None = None,
    catalog: Catalog | None = None,
    notice: Callable[[str], None] | None = None,
) -> RunOutcome:
    """Run (or resume) the evaluation the spec describes; blocks until done. See `run_async`."""
    return asyncio.run(
        run_async(
            spec,
            store,
            options,
            base_dir=base_dir,
            progress=progress,
            catalog=catalog,
            notice=notice,
        )
    )


async def run_async(
    spec: LoadedSpec | Spec,
    store: Store,
    options: RunOptions | None = None,
    *,
    base_dir: Path | None = None,
    progress: ProgressSink | None = None,
    catalog: Catalog | None = None,
    notice: Callable[[str], None] | None = None,
) -> RunOutcome:
    """Run the evaluation in the current event loop. On cancellation (Ctrl-C) the run is marked
    `interrupted` and everything finished so far stays stored; running it again resumes it.
    SIGTERM and SIGHUP do the same and raise `RunInterrupted`.

    `notice` is told, in a sentence, about waits the user should know of (another process
    running the same run); default: standard error. A template or scorer error marks the run
    `failed` with the reason; a store that stays locked past its `lock_wait_s` raises
    `StoreError` and leaves the run resumable."""
    options = options or RunOptions()
    if isinstance(spec, LoadedSpec):
        base_dir = base_dir or spec.base_dir
        spec_path: str | None = str(spec.path)
        spec = spec.spec
    else:
        spec_path = None
    base_dir = base_dir or Path.cwd()
    if spec.dataset is None:
        raise EvaluationError("the spec has no `dataset` section; add one to evaluate models")
    if options.repeat < 1:
        raise EvaluationError("--repeat must be at least 1")
    dataset = spec.dataset
    mapping = FieldMapping(
        input_field=dataset.input_field,
        expected_field=dataset.expected_field,
        id_field=dataset.id_field,
        category_field=dataset.category_field,
    )
    source = dataset.path if dataset.path.is_absolute() else base_dir / dataset.path
    loaded = load_dataset(
        source, mapping, format=dataset.format, skip_bad_rows=options.skip_bad_rows
    )
    pool = loaded.items
    if options.item_ids is not None:
        wanted = set(options.item_ids)
        pool = [i for i in pool if i.id in wanted]
        if not pool:
            raise EvaluationError(f"{source}: none of the {len(wanted)} held-out items is there")
    items = select_items(pool, limit=options.limit, sample=options.sample, seed=options.seed)
    scorers = [
        build_scorer(s.type, s.metric, s.options, base_dir=base_dir) for s in spec.scoring.scorers
    ]
    # Rows' own `assert` checks score as one more metric (checked here, before any call).
    row_checks = row_assertions(items, source, base_dir=base_dir)
    if row_checks is not None:
        if any(s.metric == row_checks.metric for s in scorers):
            raise EvaluationError(
                f"a scorer is named {row_checks.metric!r}, the metric of the rows' own `assert` "
                "checks; rename that scorer"
            )
        scorers.append(row_checks)
    catalog = catalog or load_catalog()
    planned = plan_candidates(
        spec.candidates,
        dataset,
        catalog,
        base_dir,
        only=options.only,
        concurrency=options.concurrency,
        concurrency_for=options.concurrency_for,
        prompts=spec.prompts,
        tuned=options.tuned,
    )
    if options.only:
        unknown = sorted(set(options.only) - {p.base_label or p.label for p in planned})
        if unknown:
            labels = ", ".join(c.label for c in spec.candidates)
            raise EvaluationError(
                f"no candidate named {', '.join(unknown)}; the spec has: {labels}"
            )
    if not planned:
        raise EvaluationError("the spec lists no candidates; add some under `candidates`")

    fingerprint = _fingerprint(spec, items, planned, options)
    lease = _new_lease()
    say = notice or _to_stderr
    waited_for: str | None = None
    while True:
        # Checked again after waiting for another process's run: it may have just finished.
        if options.reuse_finished and options.use_cache:
            finished = next(
                (
                    r
                    for r in store.list_runs(200)
                    if r.fingerprint == fingerprint and r.status == "finished"
                ),
                None,
            )
            if finished is not None:
                return RunOutcome(
                    finished.id, False, len(items), store.candidates(finished.id), reused=True
                )
        run = store.find_resumable_run(fingerprint) if options.resume else None
        if run is None:
            run = RunRecord(
                id=datetime.now(UTC).strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(3),
                created_at=datetime.now(UTC).isoformat(timespec="seconds"),
                status="running",
                spec_name=spec.name,
                spec_path=spec_path,
                fingerprint=fingerprint,
                primary_metric=spec.scoring.primary,
                config={
                    "metrics": [s.metric for s in scorers],
                    "scorers": [s.model_dump() for s in spec.scoring.scorers],
                    "repeat": options.repeat,
                    "limit": options.limit,
                    "sample": options.sample,
                    "seed": options.seed,
                    "dataset": str(dataset.path),
                    "dataset_rows": len(loaded.items),
                    "quality_min": spec.needs.quality.min_value,
                },
            )
            # The run, its items and our lease on it in one transaction: no crash can leave a
            # run without its items, nor one that another process could start meanwhile.
            store.create_run(run, (_item_record(i, n) for n, i in enumerate(items)), lease)
            resumed = False
            break
        holder = store.acquire_run_lease(run.id, lease)
        if holder is None:
            store.set_run_status(run.id, "running")
            resumed = True
            break
        if waited_for != run.id:
            waited_for = run.id
            say(
                f"run {run.id} of this spec is in progress in process {holder.pid} on "
                f"{holder.host}; waiting for it to finish, then its answers are reused"
            )
        await asyncio.sleep(_WAIT_POLL_S)

    outcome = RunOutcome(run.id, resumed, len(items), [], skipped_rows=loaded.skipped)
    # No cache, no claims: --no-cache asks for fresh answers, which others cannot share.
    claims = lease if options.use_cache else None
    env = ModelCaller(store, catalog, options.use_cache, lease=claims)
    sink = progress or _NoProgress()
    evaluators: list[_CandidateRun] = []
    signals = _TerminationSignals()
    keep_alive = asyncio.create_task(_keep_alive(store, lease.holder))
    try:
        store.save_candidates(run.id, [_candidate_record(p, None) for p in planned])
        evaluators = [
            _CandidateRun(
                p, dataset, items, scorers, store, run.id, options, env, sink, outcome, claims
            )
            for p in planned
        ]
        try:
            # In-process models share this machine's cores: run them one after another, or
            # each would slow the other down and their latencies would mean nothing.
            measurable = [e for e in evaluators if e.planned.measurable]
            local = [e for e in measurable if e.in_process]
            remote = [e for e in measurable if not e.in_process]
            await asyncio.gather(
                *(_one_after_another(group) for group in _by_server(remote)),
                _one_after_another(local),
            )
        finally:
            await env.aclose()
        records = [e.record() for e in evaluators]
        store.save_candidates(run.id, records)
        store.set_run_status(run.id, "finished")
    except (asyncio.CancelledError, KeyboardInterrupt):
        signals.restore()
        outcome.interrupted = True
        reason = signals.reason() or "interrupted"
        _end_run(store, run.id, "interrupted", reason, [e.record() for e in evaluators])
        if signals.received is not None:
            raise RunInterrupted(signals.received) from None
        raise
    except BaseException as exc:
        signals.restore()
        # A deterministic problem (a template that fails on a row) fails the run; anything
        # else (the store stayed locked, the disk filled) leaves it resumable.
        deterministic = isinstance(exc, LlmpickError) and not isinstance(exc, StoreError)
        _end_run(
            store,
            run.id,
            "failed" if deterministic else "interrupted",
            f"{type(exc).__name__}: {exc}",
            [e.record() for e in evaluators],
        )
        raise
    finally:
        signals.restore()
        keep_alive.cancel()
        with contextlib.suppress(StoreError):  # else they expire on their own
            store.release_leases(lease.holder)
    outcome.candidates = records
    _judge_outcome(outcome, [e for e in evaluators if e.planned.measurable])
    return outcome


def _judge_outcome(outcome: RunOutcome, measured: Sequence[_CandidateRun]) -> None:
    successes = sum(e.successes for e in measured)
    attempted = sum(e.failures + e.fatal_calls for e in measured)
    if successes == 0 and attempted:
        outcome.every_call_failed = True
        outcome.first_error = next(
            (e.first_error or e.fatal for e in measured if e.first_error or e.fatal), None
        )


def _end_run(
    store: Store, run_id: str, status: Any, reason: str, records: Sequence[CandidateRecord]
) -> None:
    """Record how the run ended, waiting for a lock one busy timeout at most (Ctrl-C must not
    hang behind a backup); when the store cannot be written, the run stays `running` with its
    lease expiring, which is resumable too."""
    try:
        if records:
            store.save_candidates(run_id, records, wait=False)
        store.set_run_status(run_id, status, reason, wait=False)
    except StoreError:
        pass


def _new_lease() -> RunLease:
    host = socket.gethostname()  # as the store compares it, to see whether a holder is alive
    return RunLease(
        holder=f"{host}:{os.getpid()}:{secrets.token_hex(4)}",
        pid=os.getpid(),
        host=host,
        expires_at=time.time() + LEASE_TTL_S,
    )


async def _keep_alive(store: Store, holder: str) -> None:
    """Renew this process's lease and claims while the run goes on."""
    while True:
        await asyncio.sleep(_RENEW_EVERY_S)
        with contextlib.suppress(StoreError):  # locked now: the next renewal is long before expiry
            store.renew_leases(holder, time.time() + LEASE_TTL_S)


def _to_stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class _TerminationSignals:
    """SIGTERM and SIGHUP cancel the running task, as asyncio does for SIGINT, so the run is
    marked interrupted and resumable instead of dying mid-write. Installed only in the main
    thread, and only where the default action is set (an application's own handler wins)."""

    def __init__(self) -> None:
        self.received: int | None = None
        self._installed: list[int] = []
        task = asyncio.current_task()
        if task is None or threading.current_thread() is not threading.main_thread():
            return
        loop = asyncio.get_running_loop()
        for name in ("SIGTERM", "SIGHUP"):
            signum = getattr(signal, name, None)
            if signum is None or signal.getsignal(signum) is not signal.SIG_DFL:
                continue
            try:
                loop.add_signal_handler(signum, self._stop, task, int(signum))
            except (NotImplementedError, RuntimeError, ValueError):
                continue
            self._installed.append(int(signum))

    def _stop(self, task: asyncio.Task[Any], signum: int) -> None:
        if self.received is None:
            self.received = signum
            task.cancel()

    def reason(self) -> str | None:
        return None if self.received is None else f"stopped by {signal.Signals(self.received).name}"

    def restore(self) -> None:
        if not self._installed:
            return
        loop = asyncio.get_running_loop()
        for signum in self._installed:
            loop.remove_signal_handler(signum)
        self._installed = []


async def _one_after_another(runs: Sequence[_CandidateRun]) -> None:
    for candidate_run in runs:
        await candidate_run.run()


def _by_server(runs: Sequence[_CandidateRun]) -> list[list[_CandidateRun]]:
    """Remote runs in groups that run one after another: the prompt variants of one served
    endpoint (same base URL and model) form a group, everything else runs on its own.

    A self-hosted server reuses the KV cache of the prompt head it saw last (llama.cpp's
    `cache_prompt` is on by default, llama-cpp-python's server keeps the longest common prefix,
    vLLM's automatic prefix caching keeps recent heads), so the variants of one server, each with
    its own system prompt and examples, would evict each other's head if their prompts were
    interleaved. A vendor API is not ours to size, and its prompt cache is not a single slot:
    its variants still run side by side.
    """
    groups: dict[object, list[_CandidateRun]] = {}
    for candidate_run in runs:
        config = candidate_run.planned.provider_config or {}
        served = "endpoint" in candidate_run.planned.description
        key = (config.get("base_url"), config.get("model")) if served else id(candidate_run)
        groups.setdefault(key, []).append(candidate_run)
    return list(groups.values())


# One candidate ---------------------------------------------------------------------------------


@dataclass
class _Job:
    item: Item
    repeat: int
    prompt: Prompt
    key: str


class _CandidateRun:
    def __init__(
        self,
        planned: PlannedCandidate,
        dataset: Any,
        items: list[Item],
        scorers: list[Scorer],
        store: Store,
        run_id: str,
        options: RunOptions,
        env: ModelCaller,
        sink: ProgressSink,
        outcome: RunOutcome,
        lease: RunLease | None = None,
    ) -> None:
        self.planned = planned
        self.items = items
        self.scorers = scorers
        self.store = store
        self.run_id = run_id
        self.options = options
        self.env = env
        self.sink = sink
        self.outcome = outcome
        self.builder = PromptBuilder(
            template=planned.template,
            mode=planned.prompt_mode,
            system_prompt=planned.system_prompt,
            few_shot=planned.few_shot,
            input_field=dataset.input_field,
            context_window_tokens=_context_window(planned),
        )
        self.params = GenerateParams(
            max_tokens=dataset.max_output_tokens,
            temperature=dataset.temperature,
            stop=COMPLETION_STOP if planned.prompt_mode == "completion" else (),
        )
        self.sync_scoring = not any(s.is_async for s in scorers)
        self.fatal: str | None = None
        self.fatal_calls = 0
        self.successes = 0
        self.failures = 0
        self.first_error: str | None = None
        self.lease = lease
        self.evidence: ConcurrencyEvidence | None = None
        self._poll_s = 0.05
        config = planned.provider_config or {}
        self.identity = identity_of(config)
        self.keyer = CacheKeyer(self.identity, self.params.output_affecting())
        self.writer = _ResultWriter(store, run_id, lease.holder if lease else None)
        self.in_process = bool(config) and provider_class(config["kind"]).in_process
        self.sampling: dict[str, Any] | None = None

    def record(self) -> CandidateRecord:
        record = self._record()
        if self.evidence is not None:  # at which concurrency latency was measured, and why
            record.config["latency_concurrency"] = self.evidence.to_dict()
        if self.sampling is not None:  # every setting the model decoded with
            record.config["sampling"] = self.sampling
        return record

    def _record(self) -> CandidateRecord:
        p = self.planned
        if not p.measurable:
            return _candidate_record(p, None)
        if self.fatal is not None:
            return _candidate_record(p, self.fatal, status="not_measured")
        if self.successes == 0 and self.failures:
            return _candidate_record(p, f"every call failed: {self.first_error}", status="failed")
        return _candidate_record(p, None, status="measured")

    async def run(self) -> None:
        label = self.planned.label
        done = self.store.completed_keys(self.run_id, label)
        total = len(self.items) * self.options.repeat
        self.outcome.skipped_done += len(done)
        self.successes += len(done)
        self.sink.start(label, total, len(done))
        assert self.planned.provider_config is not None
        try:
            config = self.planned.provider_config
            if config.get("kind") == "llamacpp" and not self.options.prefix_reuse:
                config = {**config, "prefix_reuse": False}
            provider = create_provider(config)
            self.sampling = provider.sampling_settings(self.params)
        except (ProviderError, ValueError) as exc:
            self.fatal = str(exc)
            self.sink.finish(label, "not measured")
            return
        queue: asyncio.Queue[_Job | None] = asyncio.Queue(maxsize=self.planned.concurrency * 2)
        workers: list[asyncio.Task[None]] = []  # started, sized, before the first call
        try:
            waiting: list[_Job] = []  # keys another process is calling: their answers come
            for chunk in self._pending_chunks(done):
                if self._stopped():
                    break
                mine, others = self._claim(await self._answer_from_cache(chunk))
                waiting += others
                if (mine or waiting) and not workers:
                    await self._start_workers(provider, queue, workers, mine, total - len(done))
                for job in mine:
                    if self._stopped():
                        break
                    await queue.put(job)
            while waiting and not self._stopped():
                waiting = await self._wait_for_others(waiting, queue)
            for _ in workers:
                await queue.put(None)
            await asyncio.gather(*workers)
            await self.writer.drain()  # raises StoreError if the store stayed locked
        finally:
            for task in workers:
                task.cancel()
            self.writer.flush()
            await provider.aclose()
        self.sink.finish(label, "not measured" if self.fatal else "done")

    async def _start_workers(
        self,
        provider: Provider,
        queue: asyncio.Queue[_Job | None],
        workers: list[asyncio.Task[None]],
        jobs: list[_Job],
        calls_needed: int,
    ) -> None:
        """Size the pool (a served endpoint left at the default is probed, with its own first
        prompts, for the concurrency its latency holds at, so latency is not a queue's), then
        start it."""
        prompts = [job.prompt for job in jobs if self.builder.too_long(job.prompt) is None]
        prefetched = PrefetchedAnswers(provider)
        self.evidence = await settle_concurrency(
            self.planned, prefetched, prompts[:128], self.params, calls_needed=calls_needed
        )
        workers += [
            asyncio.create_task(self._worker(prefetched, queue))
            for _ in range(self.planned.concurrency)
        ]

    def _stopped(self) -> bool:
        return self.fatal is not None or self.writer.failure is not None

    def _claim(self, jobs: list[_Job]) -> tuple[list[_Job], list[_Job]]:
        """Split jobs into those this process now calls and those another process is calling
        (or has just answered)."""
        if self.lease is None or not jobs:
            return jobs, []
        claimed = self.store.claim_calls([job.key for job in jobs], self.lease)
        if len(claimed) == len(jobs):
            return jobs, []
        return [j for j in jobs if j.key in claimed], [j for j in jobs if j.key not in claimed]

    async def _wait_for_others(
        self, waiting: list[_Job], queue: asyncio.Queue[_Job | None]
    ) -> list[_Job]:
        """Store the answers other processes have cached since; call ourselves those whose
        claim was dropped without an answer (its holder failed or died). Return the rest."""
        await asyncio.sleep(self._poll_s)
        self._poll_s = min(self._poll_s * 2, 1.0)
        mine, still = self._claim(await self._answer_from_cache(waiting))
        for job in mine:
            await queue.put(job)
        return still

    def _pending_chunks(self, done: set[tuple[str, int]]) -> Iterator[list[_Job]]:
        chunk: list[_Job] = []
        for repeat in range(self.options.repeat):
            for item in self.items:
                if (item.id, repeat) in done:
                    continue
                prompt = self.builder.build(item)
                key = (
                    self.keyer.key(prompt, repeat)
                    if isinstance(prompt, str)
                    else self.keyer.message_key(prompt, repeat)
                )
                chunk.append(_Job(item, repeat, prompt, key))
                if len(chunk) >= _CACHE_CHUNK:
                    yield chunk
                    chunk = []
        if chunk:
            yield chunk

    async def _answer_from_cache(self, chunk: list[_Job]) -> list[_Job]:
        """Store the jobs the cache can answer (in one transaction); return the others."""
        if not self.options.use_cache:
            return chunk
        hits = self.store.cache_get_many([job.key for job in chunk])
        if not hits:
            return chunk
        found = [job for job in chunk if job.key in hits]
        remaining = [job for job in chunk if job.key not in hits]
        answers = CachedAnswer.many_from_json([hits[job.key] for job in found])
        if self.sync_scoring:
            results = [
                self._result_sync(job, answer, from_cache=True)
                for job, answer in zip(found, answers, strict=True)
            ]
        else:
            results = [
                await self._result(job, answer, from_cache=True)
                for job, answer in zip(found, answers, strict=True)
            ]
        self.writer.add_many(results)
        self.writer.flush()  # at once: a chunk of cached answers is one transaction
        self.successes += len(results)
        self.outcome.cached += len(results)
        self.sink.advance(self.planned.label, len(results))
        return remaining

    async def _worker(self, provider: Provider, queue: asyncio.Queue[_Job | None]) -> None:
        label = self.planned.label
        while True:
            job = await queue.get()
            if job is None or self._stopped():
                if job is not None:
                    continue  # drain: the producer stops soon
                return
            too_long = self.builder.too_long(job.prompt)
            if too_long is not None:  # this item fails for this candidate, nothing is sent
                self._save_error(job, ContextOverflowError(too_long))
                continue
            try:
                response = await provider.generate(job.prompt, self.params)
            except _FATAL as exc:
                self.outcome.calls_made += exc.attempts  # HTTP requests, retries included
                self.fatal_calls += 1
                self.fatal = str(exc)
                continue
            except ProviderError as exc:
                self.outcome.calls_made += exc.attempts  # HTTP requests, retries included
                self._save_error(job, exc)
                continue
            self.outcome.calls_made += response.attempts
            answer = answer_of(response)
            result = await self._result(job, answer, from_cache=False)
            result.cache_entry = (job.key, answer.to_json())
            self.writer.add(result, job.key if self.lease else None)
            self.successes += 1
            self.sink.advance(label)

    def _save_error(self, job: _Job, exc: ProviderError) -> None:
        self.failures += 1
        self.outcome.errors += 1
        if self.first_error is None:
            self.first_error = str(exc)
        record = ResponseRecord(
            candidate=self.planned.label,
            item_id=job.item.id,
            repeat=job.repeat,
            text=exc.partial_text or None,
            error_type=type(exc).__name__,
            error=str(exc),
            cache_key=job.key,
        )
        self.writer.add(ResultRecord(record, []), job.key if self.lease else None)
        self.sink.advance(self.planned.label)

    async def _result(self, job: _Job, answer: CachedAnswer, *, from_cache: bool) -> ResultRecord:
        if self.sync_scoring:
            return self._result_sync(job, answer, from_cache=from_cache)
        sample = Sample(job.item, answer.text, self.planned.label, answer.e2e_s, answer.ttft_s)
        scores = [await _score(scorer, sample, self.env) for scorer in self.scorers]
        return ResultRecord(self._response(job, answer, from_cache), self._scores(job, scores))

    def _result_sync(self, job: _Job, answer: CachedAnswer, *, from_cache: bool) -> ResultRecord:
        """`_result` when no scorer needs a model call: no coroutine per item on the cached path."""
        sample = Sample(job.item, answer.text, self.planned.label, answer.e2e_s, answer.ttft_s)
        scores = [_score_sync(scorer, sample) for scorer in self.scorers]
        return ResultRecord(self._response(job, answer, from_cache), self._scores(job, scores))

    def _response(self, job: _Job, answer: CachedAnswer, from_cache: bool) -> ResponseRecord:
        entry = self.planned.catalog_entry
        return ResponseRecord(
            candidate=self.planned.label,
            item_id=job.item.id,
            repeat=job.repeat,
            text=answer.text,
            finish_reason=answer.finish_reason,
            input_tokens=answer.input_tokens,
            output_tokens=answer.output_tokens,
            cached_input_tokens=answer.cached_input_tokens,
            usage_source=answer.usage_source,
            ttft_s=answer.ttft_s,
            e2e_s=answer.e2e_s,
            tpot_s=answer.tpot_s,
            output_tokens_per_s=answer.output_tokens_per_s,
            cost_usd=call_cost_usd(
                entry, answer.input_tokens, answer.output_tokens, answer.cached_input_tokens
            ),
            from_cache=from_cache,
            cache_key=job.key,
        )

    def _scores(self, job: _Job, scores: list[Score]) -> list[ScoreRecord]:
        return [
            ScoreRecord(
                candidate=self.planned.label,
                item_id=job.item.id,
                repeat=job.repeat,
                metric=scorer.metric,
                value=score.value,
                passed=score.passed,
                detail=score.detail,
                cost_usd=score.cost_usd,
                error=score.error,
            )
            for scorer, score in zip(self.scorers, scores, strict=True)
        ]


class _ResultWriter:
    """Commits results as they complete, one transaction per event-loop turn.

    Results finishing in the same turn of the loop share a commit (under load that is dozens),
    and no result waits longer than the rest of that turn, so a kill loses at most the calls
    still in flight plus the results of the current turn; none of those is marked done.

    While another process holds the database's lock, results stay pending and the commit is
    retried with backoff (the run goes on meanwhile). A result is never dropped: if the lock
    outlasts the store's `lock_wait_s`, `failure` is set, the candidate stops, and `drain`
    raises it, leaving the run unfinished and resumable. The claims on the results' cache keys
    are dropped in the same commit.
    """

    def __init__(self, store: Store, run_id: str, holder: str | None = None) -> None:
        self._store = store
        self._run_id = run_id
        self._holder = holder
        self._pending: list[ResultRecord] = []
        self._claims: list[str] = []
        self._scheduled = False
        self._busy_since: float | None = None
        self._delay_s = 0.05
        self.failure: StoreError | None = None

    def add(self, result: ResultRecord, claim: str | None = None) -> None:
        self._pending.append(result)
        if claim is not None:
            self._claims.append(claim)
        self._schedule(0.0)

    def add_many(self, results: Sequence[ResultRecord]) -> None:
        self._pending.extend(results)

    def _schedule(self, delay_s: float) -> None:
        if not self._scheduled:
            self._scheduled = True
            loop = asyncio.get_running_loop()
            if delay_s:
                loop.call_later(delay_s, self._scheduled_flush)
            else:
                loop.call_soon(self._scheduled_flush)

    def _scheduled_flush(self) -> None:
        self._scheduled = False
        self.flush()

    def flush(self) -> bool:
        """Commit what is pending; True when nothing is left. Never raises: a failure keeps
        the results pending (retried later, or reported by `drain`)."""
        if not self._pending:
            return True
        pending, claims = self._pending, self._claims
        self._pending, self._claims = [], []
        try:
            self._store.save_results(
                self._run_id, pending, release_claims=claims, holder=self._holder, wait=False
            )
        except Exception as exc:
            self._pending[:0] = pending
            self._claims[:0] = claims
            now = time.monotonic()
            self._busy_since = self._busy_since or now
            if not isinstance(exc, StoreBusyError):
                self.failure = StoreError(f"results could not be stored: {exc}")
            elif now - self._busy_since >= self._store.lock_wait_s:
                self.failure = StoreError(
                    f"{len(self._pending)} results could not be stored: {exc} (for "
                    f"{now - self._busy_since:.0f} s in all); the run is left unfinished and "
                    "resumes when started again"
                )
            else:
                self._schedule(self._delay_s)
                self._delay_s = min(self._delay_s * 2, 2.0)
            return False
        self._busy_since = None
        self._delay_s = 0.05
        return True

    async def drain(self) -> None:
        """Wait until every pending result is stored; raise `failure` if it cannot be."""
        while not self.flush():
            if self.failure is not None:
                raise self.failure
            await asyncio.sleep(self._delay_s)


async def _score(scorer: Scorer, sample: Sample, env: ModelCaller) -> Score:
    if not scorer.is_async:
        return _score_sync(scorer, sample)
    try:
        return await scorer.ascore(sample, env)
    except Exception as exc:
        return _failed(exc)


def _score_sync(scorer: Scorer, sample: Sample) -> Score:
    try:
        return scorer.score(sample)
    except Exception as exc:
        return _failed(exc)


def _failed(exc: Exception) -> Score:
    # A scorer (often the user's own function) failing on one answer must not stop the run;
    # the error is stored with that score and counted in the summary.
    return Score(None, None, error=f"{type(exc).__name__}: {exc}")


# Records ---------------------------------------------------------------------------------------


def _context_window(planned: PlannedCandidate) -> int | None:
    """The candidate's context window from the catalog, when known."""
    entry = planned.catalog_entry
    return entry.limits.context_window_tokens if entry is not None and entry.limits else None


def _item_record(item: Item, position: int) -> ItemRecord:
    return ItemRecord(
        item_id=item.id,
        position=position,
        input=item.input,
        expected=item.expected,
        category=item.category,
        # The row's own dict when it is one: a copy per item would double the memory of a
        # large dataset for as long as the items are being stored.
        fields=item.fields if isinstance(item.fields, dict) else dict(item.fields),
    )


def _candidate_record(
    planned: PlannedCandidate, reason: str | None, status: str | None = None
) -> CandidateRecord:
    config = dict(planned.provider_config or {})
    entry = planned.catalog_entry
    return CandidateRecord(
        label=planned.label,
        position=planned.position,
        status=(status or ("measured" if planned.measurable else "not_measured")),  # type: ignore[arg-type]
        reason=reason if reason is not None else planned.reason,
        provider=config.get("kind"),
        model=config.get("model"),
        catalog_id=entry.id if entry else None,
        config={
            **planned.description,
            "prompt_mode": planned.prompt_mode,
            "concurrency": planned.concurrency,
            "pricing": planned.pricing_note,
            **(
                {"candidate": planned.base_label, "variant": planned.variant}
                if planned.variant
                else {}
            ),
        },
    )


def _fingerprint(
    spec: Spec, items: list[Item], planned: list[PlannedCandidate], options: RunOptions
) -> str:
    """What makes two runs the same run: resuming is only safe when all of this matches."""
    digest = hashlib.sha256()
    assert spec.dataset is not None
    head = {
        # The split settings change what is measured only when a candidate is tuned; without
        # one they are left out, so such a spec's runs keep the identity they always had.
        "dataset": spec.dataset.model_dump(
            mode="json",
            exclude=None
            if spec.dataset.train_path or any(c.tune for c in spec.candidates)
            else {"train_path", "validation_path", "split"},
        ),
        "scoring": spec.scoring.model_dump(mode="json"),
        # Not the concurrency nor whether a key is set: neither changes what is measured.
        "candidates": [
            [
                p.label,
                identity_of(p.provider_config or {}),
                p.description,
                p.prompt_mode,
                p.template,
                # Only with prompt variants, so the runs of specs without any keep their identity.
                *([p.variant, p.system_prompt, p.few_shot] if p.variant else []),
            ]
            for p in planned
        ],
        "repeat": options.repeat,
    }
    digest.update(json.dumps(head, sort_keys=True, default=str).encode())
    for item in items:
        digest.update(f"\x00{item.id}\x01{item.input}\x01{item.expected}".encode())
    return digest.hexdigest()
