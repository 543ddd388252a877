"""Every request in the store, and budgets per key per day that hold under concurrency.

Rows are queued in memory and written by one thread in batches (one transaction every 100 ms
at most), so the request path never waits for SQLite. Each batch is one multi-row INSERT rather
than `executemany`: the sqlite3 module releases and retakes the GIL around every statement it
steps, and with the event loop busy each hand-off is a futex wake and a context switch.

Budgets are kept in memory as well: a request reserves its largest possible spend (one request;
its prompt estimate plus `max_tokens`; that at the backend's price) before it is forwarded, and
settles to what it really used when it ends. Admission and reservation happen in one step of
the event loop, so N concurrent requests against a budget of M requests admit exactly M; a spent
budget refuses with HTTP 429. On start the day's spend is read back from the store, so a restart
does not reset a budget.
"""

from __future__ import annotations

import functools
import itertools
import operator
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from llmpick.gateway._config import Budget

__all__ = ["BudgetBook", "Ledger", "RequestRow", "Reservation", "ShadowRow", "utc_day"]


_DAY_CACHE: list[Any] = [-1, ""]


def utc_day(at: float | None = None) -> str:
    """The UTC date (YYYY-MM-DD) budgets count in; computed once per second on the hot path."""
    now = time.time() if at is None else at
    second = int(now)
    if at is None and _DAY_CACHE[0] == second:
        return str(_DAY_CACHE[1])
    day = datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%d")
    if at is None:
        _DAY_CACHE[:] = [second, day]
    return day


@dataclass(slots=True)
class RequestRow:
    """One request as the ledger keeps it (no text: counts, timings, cost and outcome)."""

    id: str
    created_at: float
    day: str
    key_name: str
    route: str | None
    backend: str | None
    attempts: int
    outcome: str  # ok | error | refused | cut | client_error
    status: int
    stream: bool
    input_tokens: int | None = None
    output_tokens: int | None = None
    usage_source: str | None = None
    latency_s: float | None = None
    ttft_s: float | None = None
    cost_usd: float | None = None
    error_type: str | None = None
    redactions_json: str | None = None


@dataclass(slots=True)
class ShadowRow:
    """A request answered by the route and, off the client's path, by a challenger."""

    id: str
    created_at: float
    route: str
    primary_backend: str
    challenger: str
    prompt_json: str
    primary_text: str | None
    challenger_text: str | None
    primary_latency_s: float | None = None
    challenger_latency_s: float | None = None
    challenger_error: str | None = None
    primary_output_tokens: int | None = None
    challenger_output_tokens: int | None = None
    primary_cost_usd: float | None = None
    challenger_cost_usd: float | None = None


_REQUEST_COLUMNS = tuple(f.name for f in fields(RequestRow))
_SHADOW_COLUMNS = tuple(f.name for f in fields(ShadowRow))


_request_values = operator.attrgetter(*_REQUEST_COLUMNS)
_shadow_values = operator.attrgetter(*_SHADOW_COLUMNS)
# Rows per INSERT, largest first: a batch is cut into these sizes, so a connection compiles
# (and its statement cache keeps) at most seven INSERTs per table rather than one per batch size
# (a cache of large statements grew the gateway by 30 MiB over 100,000 requests).
_INSERT_SIZES = (64, 32, 16, 8, 4, 2, 1)


def _cut(rows: list[Any]) -> Iterator[list[Any]]:
    at = 0
    for size in _INSERT_SIZES:
        while len(rows) - at >= size:
            yield rows[at : at + size]
            at += size


@functools.cache
def _insert(table: str, columns: tuple[str, ...], rows: int) -> str:
    marks = "(" + ", ".join("?" * len(columns)) + ")"
    values = ", ".join([marks] * rows)
    return f"INSERT OR REPLACE INTO {table} ({', '.join(columns)}) VALUES {values}"


class Ledger:
    """Writes request and shadow rows to the store's SQLite file from a background thread."""

    def __init__(self, path: str | Path) -> None:
        from llmpick.store import open_store

        open_store(path).close()  # creates the file and applies the migrations (gateway tables)
        self.path = str(path)
        self._rows: deque[RequestRow | ShadowRow] = deque()
        # Counted, not signalled, per row: the event loop only appends (no lock, no wake-up).
        self._recorded = 0
        self._written = 0
        self._wake = threading.Event()
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="llmpick-ledger", daemon=True)
        self._thread.start()

    def record(self, row: RequestRow | ShadowRow) -> None:
        self._rows.append(row)
        self._recorded += 1
        if len(self._rows) >= 4096:
            self._wake.set()

    def flush(self, timeout_s: float = 10.0) -> None:
        """Block until every row recorded so far is written."""
        target = self._recorded
        deadline = time.monotonic() + timeout_s
        while self._written < target and self._thread.is_alive():
            if time.monotonic() > deadline:
                break
            self._wake.set()
            time.sleep(0.005)

    def close(self) -> None:
        self.flush()
        self._stop = True
        self._wake.set()
        self._thread.join(timeout=10)

    def spent_today(self) -> dict[str, tuple[float, int, int]]:
        """Per key: (USD, tokens, requests) of today's (UTC) requests that reached a backend."""
        db = sqlite3.connect(self.path, timeout=30.0)
        try:
            rows = db.execute(
                "SELECT key_name, COALESCE(SUM(cost_usd), 0), "
                "COALESCE(SUM(COALESCE(input_tokens, 0) + COALESCE(output_tokens, 0)), 0), "
                "COUNT(*) FROM gateway_requests WHERE day = ? AND attempts > 0 "
                "GROUP BY key_name",
                (utc_day(),),
            ).fetchall()
        finally:
            db.close()
        return {r[0]: (float(r[1]), int(r[2]), int(r[3])) for r in rows}

    def _run(self) -> None:
        db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        try:
            while True:
                self._wake.wait(timeout=0.1)
                self._wake.clear()
                batch: list[RequestRow | ShadowRow] = []
                while self._rows:
                    batch.append(self._rows.popleft())
                if batch:
                    self._write(db, batch)
                    self._written += len(batch)
                if self._stop and not self._rows:
                    return
        finally:
            db.close()

    def _write(self, db: sqlite3.Connection, batch: list[RequestRow | ShadowRow]) -> None:
        requests = [r for r in batch if isinstance(r, RequestRow)]
        shadows = [r for r in batch if isinstance(r, ShadowRow)]
        db.execute("BEGIN IMMEDIATE")
        try:
            for rows, table, columns, values in (
                (requests, "gateway_requests", _REQUEST_COLUMNS, _request_values),
                (shadows, "gateway_shadow", _SHADOW_COLUMNS, _shadow_values),
            ):
                for part in _cut(rows):
                    flat = list(itertools.chain.from_iterable(map(values, part)))
                    db.execute(_insert(table, columns, len(part)), flat)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise


# Budgets -------------------------------------------------------------------------------------


@dataclass
class _Spend:
    usd: float = 0.0
    tokens: int = 0
    requests: int = 0


@dataclass
class Reservation:
    """What one admitted request holds against its key's budget until it settles."""

    key: str
    day: str
    usd: float
    tokens: int
    settled: bool = False


@dataclass
class BudgetBook:
    """Spend per (key, day): settled plus reserved by requests in flight."""

    budgets: dict[str, Budget | None]
    default: Budget | None = None
    spent: dict[tuple[str, str], _Spend] = field(default_factory=dict)
    held: dict[tuple[str, str], _Spend] = field(default_factory=dict)

    def load(self, today: dict[str, tuple[float, int, int]]) -> None:
        day = utc_day()
        for key, (usd, tokens, requests) in today.items():
            self.spent[(key, day)] = _Spend(usd, tokens, requests)

    def budget_of(self, key: str) -> Budget | None:
        found = self.budgets.get(key)
        return found if found is not None else self.default

    def admit(self, key: str, usd: float, tokens: int) -> Reservation | str:
        """Reserve for one request, or say which budget is spent."""
        day = utc_day()
        budget = self.budget_of(key)
        spent = self.spent.setdefault((key, day), _Spend())
        held = self.held.setdefault((key, day), _Spend())
        if budget is not None:
            if budget.requests_per_day is not None and (
                spent.requests + held.requests >= budget.requests_per_day
            ):
                return (
                    f"the daily request budget of key {key!r} ({budget.requests_per_day}) is spent"
                )
            if budget.tokens_per_day is not None and (
                spent.tokens + held.tokens >= budget.tokens_per_day
            ):
                return f"the daily token budget of key {key!r} ({budget.tokens_per_day}) is spent"
            if budget.usd_per_day is not None and spent.usd + held.usd >= budget.usd_per_day:
                return f"the daily budget of key {key!r} (${budget.usd_per_day:g}) is spent"
        held.requests += 1
        held.tokens += tokens
        held.usd += usd
        return Reservation(key, day, usd, tokens)

    def settle(self, reservation: Reservation, usd: float | None, tokens: int | None) -> None:
        """Replace the reservation by the request's real spend (None: it spent nothing)."""
        if reservation.settled:
            return
        reservation.settled = True
        held = self.held[(reservation.key, reservation.day)]
        held.requests -= 1
        held.tokens -= reservation.tokens
        held.usd -= reservation.usd
        spent = self.spent.setdefault((reservation.key, reservation.day), _Spend())
        if usd is None and tokens is None:
            return
        spent.requests += 1
        spent.tokens += tokens or 0
        spent.usd += usd or 0.0

    def snapshot(self) -> dict[str, Any]:
        """Today's spend per key (for /metrics)."""
        day = utc_day()
        return {k: s for (k, d), s in self.spent.items() if d == day}


def redactions_json(counts: dict[str, int]) -> str | None:
    """Counts by PII type as JSON (`json.dumps` of the sorted dict; the types are plain names)."""
    if not counts:
        return None
    return "{" + ", ".join(f'"{kind}": {n}' for kind, n in sorted(counts.items())) + "}"
