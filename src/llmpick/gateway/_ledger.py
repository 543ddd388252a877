"""Every request in the store, and each day's spend per key that the budgets count.

Rows are queued in memory and written by one thread in batches (one transaction every 100 ms
at most), so the request path never waits for SQLite. Each batch is one multi-row INSERT rather
than `executemany`: the sqlite3 module releases and retakes the GIL around every statement it
steps, and with the event loop busy each hand-off is a futex wake and a context switch.

The same transaction adds the batch's spend to `gateway_budget_use` (per key and UTC day: cost,
tokens, and requests that reached a backend) and deletes the budget holds of its requests
(`_budgets`), so a request's hold becomes its spend at once, for every replica on the store.

A batch the store refuses (locked past the busy timeout, disk full, read-only) stays queued and
is retried with what arrives meanwhile, backing off to once every 5 s; one warning says so and one
line says when the rows are written again. The thread never dies of it: a dead writer would leave
every hold it should settle renewed by the budgets for as long as the process lives (the budget
stays spent) and the queue growing. A row the store cannot take (a value it cannot bind, a
duplicate id: a bug, which retrying would not cure) is dropped alone with an error naming it,
and its hold is released; the rest of its batch is written. `failing`, `queued` and `dropped`
say how it stands (/metrics).
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import logging
import operator
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = ["Ledger", "RequestRow", "ShadowRow", "utc_day"]

log = logging.getLogger("llmpick.gateway")
# Seconds between tries while the store refuses a batch: doubling from the tick to this.
_MAX_BACKOFF_S = 5.0
# What a row's own values cause (retrying cannot help); any other error is the store's.
_ROW_ERRORS = (
    sqlite3.IntegrityError, sqlite3.InterfaceError, sqlite3.ProgrammingError, TypeError,
    ValueError, OverflowError,
)  # fmt: skip


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
    # Not a column: the budget hold this request took (`_budgets`), deleted with this row.
    hold_id: str | None = None


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


_REQUEST_COLUMNS = tuple(f.name for f in fields(RequestRow) if f.name != "hold_id")
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

    def __init__(self, path: str | Path, busy_timeout_s: float = 30.0) -> None:
        from llmpick.store import open_store

        open_store(path).close()  # creates the file and applies the migrations (gateway tables)
        self.path = str(path)
        self.busy_timeout_s = busy_timeout_s
        self.failing = False  # the last write was refused; its rows are queued for the next
        self.dropped = 0  # rows the store could not take (each logged as an error)
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
        if len(self._rows) >= 4096 and not self.failing:  # failing: the backoff decides
            self._wake.set()

    @property
    def queued(self) -> int:
        """Rows recorded and not yet written (or dropped)."""
        return self._recorded - self._written

    def write_soon(self) -> None:
        """Write what is queued now rather than at the next tick (a row that settles a budget
        hold: the budget it held comes back as soon as the request ends)."""
        if not self.failing:
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

    def _run(self) -> None:
        db = sqlite3.connect(self.path, timeout=self.busy_timeout_s, isolation_level=None)
        # Locked now: the file keeps the mode it has (the store sets WAL); writes retry anyway.
        with contextlib.suppress(sqlite3.Error):
            db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        wait = 0.1
        try:
            while True:
                self._wake.wait(timeout=wait)
                self._wake.clear()
                batch: list[RequestRow | ShadowRow] = []
                while self._rows:
                    batch.append(self._rows.popleft())
                if batch and not self._write_or_requeue(db, batch):
                    if self._stop:
                        log.error(
                            "ledger %s: stopping with %d rows not written: the store refuses them",
                            self.path,
                            len(batch),
                        )
                        return
                    wait = min(wait * 2, _MAX_BACKOFF_S)
                    continue
                wait = 0.1
                if self._stop and not self._rows:
                    return
        finally:
            db.close()

    def _write_or_requeue(
        self, db: sqlite3.Connection, batch: list[RequestRow | ShadowRow]
    ) -> bool:
        """Write `batch`; when the store refuses it, put it back at the head of the queue.
        A row the store cannot take (a value it cannot bind: a bug) is dropped alone, with an
        error and its budget hold released, so it never holds back the rows after it."""
        try:
            self._write(db, batch)
        except _ROW_ERRORS:
            return self._write_one_by_one(db, batch)
        except (sqlite3.Error, OSError) as exc:
            self._refused(batch, exc)
            return False
        self._done(len(batch))
        return True

    def _write_one_by_one(
        self, db: sqlite3.Connection, batch: list[RequestRow | ShadowRow]
    ) -> bool:
        for i, row in enumerate(batch):
            try:
                self._write(db, [row])
            except _ROW_ERRORS as exc:
                log.error("ledger %s: row %s dropped: the store cannot take it: %s",
                          self.path, row.id, exc)  # fmt: skip
                self.dropped += 1
                if isinstance(row, RequestRow) and row.hold_id is not None:
                    # Should this fail too, the hold lasts until this process stops renewing it.
                    with contextlib.suppress(sqlite3.Error):
                        db.execute("DELETE FROM gateway_budget_holds WHERE id = ?", (row.hold_id,))
            except (sqlite3.Error, OSError) as exc:
                self._refused(batch[i:], exc)
                return False
            self._done(1)
        return True

    def _refused(self, rows: list[RequestRow | ShadowRow], exc: BaseException) -> None:
        self._rows.extendleft(reversed(rows))
        if not self.failing:
            log.warning(
                "ledger %s: %d rows not written (%s): kept and retried", self.path, len(rows), exc
            )
        self.failing = True

    def _done(self, rows: int) -> None:
        self._written += rows
        if self.failing:
            log.warning("ledger %s: writing again (%d rows written)", self.path, rows)
        self.failing = False

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
            _settle(db, requests)
            db.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):  # BEGIN itself may have failed
                db.execute("ROLLBACK")
            raise


_ADD_USE = (
    "INSERT INTO gateway_budget_use (key_name, day, usd, tokens, requests) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT (key_name, day) DO UPDATE SET usd = usd + excluded.usd, "
    "tokens = tokens + excluded.tokens, requests = requests + excluded.requests"
)


def _settle(db: sqlite3.Connection, requests: list[RequestRow]) -> None:
    """Add the requests' spend to the day's use and delete their budget holds."""
    use: dict[tuple[str, str], list[Any]] = {}
    holds = []
    for row in requests:
        if row.hold_id is not None:
            holds.append((row.hold_id,))
        if row.attempts > 0:  # it reached a backend: it counts, as the budgets count it
            spend = use.setdefault((row.key_name, row.day), [0.0, 0, 0])
            spend[0] += row.cost_usd or 0.0
            spend[1] += (row.input_tokens or 0) + (row.output_tokens or 0)
            spend[2] += 1
    if use:
        db.executemany(_ADD_USE, [(k, d, *spend) for (k, d), spend in use.items()])
    if holds:
        db.executemany("DELETE FROM gateway_budget_holds WHERE id = ?", holds)


def redactions_json(counts: dict[str, int]) -> str | None:
    """Counts by PII type as JSON (`json.dumps` of the sorted dict; the types are plain names)."""
    if not counts:
        return None
    return "{" + ", ".join(f'"{kind}": {n}' for kind, n in sorted(counts.items())) + "}"
