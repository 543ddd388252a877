"""What the evaluation needs from a database, as one small interface and plain records.

`SqliteStore` is the implementation; another SQL database only has to provide these methods.
Every record is a plain dataclass so callers never see a driver's row type.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

__all__ = [
    "CandidateRecord",
    "CandidateStatus",
    "ItemRecord",
    "LoadTestRecord",
    "ResponseRecord",
    "ResultRecord",
    "RunLease",
    "RunRecord",
    "RunStatus",
    "ScoreRecord",
    "Store",
]

RunStatus = Literal["running", "finished", "interrupted", "failed"]
# measured: it answered; not_measured: it could not be called (no API key, package missing);
# failed: it was called but every call failed.
CandidateStatus = Literal["measured", "not_measured", "failed"]


@dataclass
class RunRecord:
    """One evaluation: a spec's dataset × candidates × scorers, with the options it ran with."""

    id: str
    created_at: str
    status: RunStatus
    spec_name: str
    fingerprint: str
    primary_metric: str
    config: dict[str, Any] = field(default_factory=dict)
    spec_path: str | None = None
    finished_at: str | None = None
    # Why it ended `failed` or `interrupted` (a template error, a store that stayed locked).
    error: str | None = None


@dataclass(frozen=True)
class RunLease:
    """A process's hold on a run (or on a call): `holder` is unique per process and run.

    It lasts until `expires_at` (Unix time) unless renewed; a holder on this host whose process
    is gone has lost it at once, so a run killed with SIGKILL can be resumed straight away.
    """

    holder: str
    pid: int
    host: str
    expires_at: float


@dataclass
class CandidateRecord:
    label: str
    position: int
    status: CandidateStatus
    reason: str | None = None
    provider: str | None = None
    model: str | None = None
    catalog_id: str | None = None
    config: dict[str, Any] = field(default_factory=dict)


@dataclass
class ItemRecord:
    item_id: str
    position: int
    input: str
    expected: str | None = None
    category: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass
class ResponseRecord:
    """One candidate's answer to one item (one of `--repeat` samples), or the error instead."""

    candidate: str
    item_id: str
    repeat: int
    text: str | None
    finish_reason: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cached_input_tokens: int | None = None
    usage_source: str | None = None
    ttft_s: float | None = None
    e2e_s: float | None = None
    tpot_s: float | None = None
    output_tokens_per_s: float | None = None
    cost_usd: float | None = None
    error_type: str | None = None
    error: str | None = None
    from_cache: bool = False
    cache_key: str | None = None
    created_at: float = 0.0


@dataclass
class ScoreRecord:
    candidate: str
    item_id: str
    repeat: int
    metric: str
    value: float | None
    passed: bool | None = None
    detail: str | None = None
    cost_usd: float | None = None
    error: str | None = None


@dataclass
class ResultRecord:
    """What one completed call produces; stored atomically so a crash never leaves half of it."""

    response: ResponseRecord
    scores: list[ScoreRecord]
    # A new cache entry (key, JSON payload) to store with the result, when the call was made now.
    cache_entry: tuple[str, str] | None = None


@dataclass
class LoadTestRecord:
    """A load test of one candidate's serving endpoint: its capacity within the latency SLO.

    `result` holds the whole sweep (levels, percentiles, workload) as plain JSON data.
    """

    id: str
    created_at: str
    spec_name: str
    candidate: str
    endpoint: str
    model: str
    requests_per_s: float | None
    concurrency: int | None
    result: dict[str, Any] = field(default_factory=dict)
    catalog_id: str | None = None
    hardware: str | None = None


class Store(Protocol):
    """The persistence the runner, statistics and CLI rely on.

    Writes wait for another writer's lock up to `lock_wait_s`, then raise `StoreBusyError`;
    `save_results(..., wait=False)` raises it after one busy timeout, so the runner can keep
    working and retry (a result is stored or the run is not finished, never dropped).
    """

    lock_wait_s: float

    def create_run(
        self,
        run: RunRecord,
        items: Iterable[ItemRecord] | None = None,
        lease: RunLease | None = None,
    ) -> None: ...
    def find_resumable_run(self, fingerprint: str) -> RunRecord | None: ...
    def set_run_status(
        self, run_id: str, status: RunStatus, error: str | None = None, *, wait: bool = True
    ) -> None: ...
    def get_run(self, run_id: str) -> RunRecord | None: ...
    def list_runs(self, limit: int = 50) -> list[RunRecord]: ...
    def latest_run_id(self) -> str | None: ...

    def save_candidates(
        self, run_id: str, candidates: Sequence[CandidateRecord], *, wait: bool = True
    ) -> None: ...
    def candidates(self, run_id: str) -> list[CandidateRecord]: ...
    def save_items(self, run_id: str, items: Iterable[ItemRecord]) -> None: ...
    def items(self, run_id: str) -> Iterator[ItemRecord]: ...
    def item_count(self, run_id: str) -> int: ...

    def acquire_run_lease(self, run_id: str, lease: RunLease) -> RunLease | None: ...
    def claim_calls(self, keys: Sequence[str], lease: RunLease) -> set[str]: ...
    def release_claims(self, keys: Sequence[str], holder: str) -> None: ...
    def renew_leases(self, holder: str, expires_at: float) -> None: ...
    def release_leases(self, holder: str) -> None: ...

    def completed_keys(self, run_id: str, candidate: str) -> set[tuple[str, int]]: ...
    def save_results(
        self,
        run_id: str,
        results: Sequence[ResultRecord],
        *,
        release_claims: Sequence[str] = (),
        holder: str | None = None,
        wait: bool = True,
    ) -> None: ...
    def responses(self, run_id: str, candidate: str | None = None) -> Iterator[ResponseRecord]: ...
    def scores(self, run_id: str, candidate: str | None = None) -> Iterator[ScoreRecord]: ...

    def cache_get_many(self, keys: Sequence[str]) -> dict[str, str]: ...
    def cache_put(self, key: str, payload: str) -> None: ...

    def save_load_test(self, record: LoadTestRecord) -> None: ...
    def load_tests(self, candidate: str | None = None, limit: int = 50) -> list[LoadTestRecord]: ...

    def close(self) -> None: ...
