"""Budgets per key per UTC day that hold under concurrency, in one process or across replicas.

A request of a key with a budget holds its largest possible spend (one request; its prompt
estimate plus `max_tokens`; that at the dearest backend of its route) before it is forwarded,
and is refused with HTTP 429 when what is spent plus what is held reaches the budget. When it
ends the hold becomes what it really used. Keys without a budget are not counted here at all.

Two books keep this:

- `StoreBudgetBook` (the gateway with a store): spend and holds live in the store, so every
  replica on the same SQLite file shares them. Admission is one short `BEGIN IMMEDIATE`
  transaction (the sum of the day's spend and the live holds, then the new hold) in a thread
  of its own, so the event loop never waits for SQLite; the transaction serialises admissions
  across processes, and N concurrent requests against a budget of M requests admit exactly M,
  however they are spread over the replicas. Admissions that queue while one commits go in
  the next transaction together. The ledger settles a hold: the transaction that writes the
  request's row adds its spend and deletes the hold, so spend is never counted twice or lost
  between the two. A process renews its holds every third of `hold_lease_s`; the holds of a
  replica that was killed stop being renewed and expire, so the budget it held comes back.
- `InMemoryBudgetBook` (no store: accounting off): the same rules in this process's memory;
  admission and the hold happen in one step of the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import queue
import socket
import sqlite3
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from llmpick._errors import LlmpickError
from llmpick.gateway._config import Budget
from llmpick.gateway._ledger import utc_day

__all__ = [
    "BudgetBook",
    "BudgetStoreError",
    "InMemoryBudgetBook",
    "Reservation",
    "StoreBudgetBook",
]

log = logging.getLogger("llmpick.gateway")
_T = TypeVar("_T")


class BudgetStoreError(LlmpickError):
    """The store that keeps the budgets could not be read or written (a budget that cannot be
    checked is not honoured by guessing: the request is refused)."""


@dataclass
class Reservation:
    """What one admitted request holds against its key's budget until it settles.

    `hold_id`: the hold's row in the store (the request id), which the ledger deletes when it
    writes the request's row; None for the in-memory book."""

    key: str
    day: str
    usd: float
    tokens: int
    hold_id: str | None = None
    settled: bool = False


def refusal(key: str, budget: Budget, usd: float, tokens: int, requests: int) -> str | None:
    """Which budget of `key` is spent, given what is spent and held today (None: none is)."""
    if budget.requests_per_day is not None and requests >= budget.requests_per_day:
        return f"the daily request budget of key {key!r} ({budget.requests_per_day}) is spent"
    if budget.tokens_per_day is not None and tokens >= budget.tokens_per_day:
        return f"the daily token budget of key {key!r} ({budget.tokens_per_day}) is spent"
    if budget.usd_per_day is not None and usd >= budget.usd_per_day:
        return f"the daily budget of key {key!r} (${budget.usd_per_day:g}) is spent"
    return None


class BudgetBook(ABC):
    """Each key's budget (its own, else the default) and the admission of its requests."""

    def __init__(self, budgets: dict[str, Budget | None], default: Budget | None = None) -> None:
        self.budgets = budgets
        self.default = default

    def budget_of(self, key: str) -> Budget | None:
        found = self.budgets.get(key)
        return found if found is not None else self.default

    @property
    def any_budget(self) -> bool:
        return self.default is not None or any(b is not None for b in self.budgets.values())

    @abstractmethod
    async def admit(self, key: str, request_id: str, usd: float, tokens: int) -> Reservation | str:
        """Hold the most this request can spend, or say which budget of `key` is spent.

        Only for a key with a budget; raises `BudgetStoreError` when the budget cannot be read."""

    @abstractmethod
    def settle(self, reservation: Reservation, usd: float | None, tokens: int | None) -> None:
        """The request ended having spent this (None: it reached no backend)."""

    def start(self) -> None:  # noqa: B027 (optional hook)
        """Called once when the gateway starts."""

    def close(self) -> None:  # noqa: B027 (optional hook)
        """Called once when the gateway stops, after the ledger is flushed."""


@dataclass
class _Spend:
    usd: float = 0.0
    tokens: int = 0
    requests: int = 0


@dataclass
class _Day:
    spent: _Spend = field(default_factory=_Spend)
    held: _Spend = field(default_factory=_Spend)


class InMemoryBudgetBook(BudgetBook):
    """Spend per (key, day) in this process: settled plus held by requests in flight."""

    def __init__(self, budgets: dict[str, Budget | None], default: Budget | None = None) -> None:
        super().__init__(budgets, default)
        self.days: dict[tuple[str, str], _Day] = {}

    async def admit(self, key: str, request_id: str, usd: float, tokens: int) -> Reservation | str:
        budget = self.budget_of(key)
        assert budget is not None
        day = utc_day()
        book = self.days.setdefault((key, day), _Day())
        spent, held = book.spent, book.held
        reason = refusal(
            key,
            budget,
            spent.usd + held.usd,
            spent.tokens + held.tokens,
            spent.requests + held.requests,
        )
        if reason is not None:
            return reason
        held.requests += 1
        held.tokens += tokens
        held.usd += usd
        return Reservation(key, day, usd, tokens)

    def settle(self, reservation: Reservation, usd: float | None, tokens: int | None) -> None:
        if reservation.settled:
            return
        reservation.settled = True
        book = self.days[(reservation.key, reservation.day)]
        book.held.requests -= 1
        book.held.tokens -= reservation.tokens
        book.held.usd -= reservation.usd
        if usd is None and tokens is None:
            return
        book.spent.requests += 1
        book.spent.tokens += tokens or 0
        book.spent.usd += usd or 0.0


# Shared through the store ---------------------------------------------------------------------


@dataclass
class _Admit:
    reservation: Reservation
    budget: Budget
    future: asyncio.Future[Reservation | str]
    loop: asyncio.AbstractEventLoop


@dataclass
class _Release:
    hold_id: str


_STOP = object()
_SPENT = "SELECT usd, tokens, requests FROM gateway_budget_use WHERE key_name = ? AND day = ?"
_HELD = (
    "SELECT COALESCE(SUM(usd), 0), COALESCE(SUM(tokens), 0), COUNT(*) "
    "FROM gateway_budget_holds WHERE key_name = ? AND day = ? AND expires_at > ?"
)
_HOLD = (
    "INSERT INTO gateway_budget_holds (id, key_name, day, usd, tokens, holder, expires_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)


class StoreBudgetBook(BudgetBook):
    """Spend and holds in the store's `gateway_budget_use` and `gateway_budget_holds` tables,
    shared by every gateway process on the same file (see the module docstring)."""

    def __init__(
        self,
        budgets: dict[str, Budget | None],
        default: Budget | None,
        path: str | Path,
        *,
        hold_lease_s: float = 30.0,
        busy_timeout_s: float = 10.0,
    ) -> None:
        super().__init__(budgets, default)
        self.path = str(path)
        self.hold_lease_s = hold_lease_s
        self.busy_timeout_s = busy_timeout_s
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{os.urandom(4).hex()}"
        self._ops: queue.SimpleQueue[_Admit | _Release | object] = queue.SimpleQueue()
        self._releases: list[_Release] = []  # not yet written (the store was busy): retried
        self._thread: threading.Thread | None = None
        self._db: sqlite3.Connection | None = None  # the thread's own

    def start(self) -> None:
        if self.any_budget and self._thread is None:
            self._thread = threading.Thread(target=self._run, name="llmpick-budgets", daemon=True)
            self._thread.start()

    def close(self) -> None:
        if self._thread is not None:
            self._ops.put(_STOP)
            self._thread.join(timeout=2 * self.busy_timeout_s)
            self._thread = None

    async def admit(self, key: str, request_id: str, usd: float, tokens: int) -> Reservation | str:
        budget = self.budget_of(key)
        assert budget is not None and self._thread is not None
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Reservation | str] = loop.create_future()
        reservation = Reservation(key, utc_day(), usd, tokens, hold_id=request_id)
        self._ops.put(_Admit(reservation, budget, future, loop))
        return await future

    def settle(self, reservation: Reservation, usd: float | None, tokens: int | None) -> None:
        """Nothing to do here: the ledger settles the hold with the request's row."""
        reservation.settled = True

    # The thread ---------------------------------------------------------------------------

    def _run(self) -> None:
        renew_every = self.hold_lease_s / 3
        next_renewal = time.monotonic() + renew_every
        try:
            while True:
                try:
                    ops = [self._ops.get(timeout=max(0.0, next_renewal - time.monotonic()))]
                except queue.Empty:
                    ops = []
                while True:  # everything queued meanwhile goes in the same transaction
                    try:
                        ops.append(self._ops.get_nowait())
                    except queue.Empty:
                        break
                stop = any(op is _STOP for op in ops)
                work = [op for op in ops if isinstance(op, _Admit | _Release)]
                if work or (self._releases and not ops):
                    self._apply(work)
                if stop or time.monotonic() >= next_renewal:
                    self._renew(stop)
                    next_renewal = time.monotonic() + renew_every
                if stop:
                    return
        finally:
            if self._db is not None:
                self._db.close()

    def _transaction(self, body: Callable[[sqlite3.Connection], _T]) -> _T:
        """`body` in one write transaction (waiting up to `busy_timeout_s` for the lock)."""
        if self._db is None:
            self._db = sqlite3.connect(self.path, timeout=self.busy_timeout_s, isolation_level=None)
            self._db.execute("PRAGMA synchronous=NORMAL")
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            result = body(db)
            db.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK")
            raise
        return result

    def _apply(self, work: list[_Admit | _Release]) -> None:
        """Admit and release in one transaction, then hand each admission its answer."""
        releases, self._releases = self._releases, []
        releases += [op for op in work if isinstance(op, _Release)]
        admits = [op for op in work if isinstance(op, _Admit)]

        def admit_and_release(db: sqlite3.Connection) -> list[Reservation | str]:
            if releases:
                sql = "DELETE FROM gateway_budget_holds WHERE id = ?"
                db.executemany(sql, [(r.hold_id,) for r in releases])
            now = time.time()
            return [self._admit_one(db, op, now) for op in admits]

        answers: list[Reservation | str | BudgetStoreError]
        try:
            answers = list(self._transaction(admit_and_release))
        except Exception as exc:  # an admission waits on this: it must get an answer
            log.warning("budget store %s: %s: admissions refused", self.path, exc)
            self._releases = releases  # retried with the next transaction
            error = BudgetStoreError(f"the budget store cannot be written: {exc}")
            answers = [error] * len(admits)
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[_Admit, object]]] = {}
        for op, answer in zip(admits, answers, strict=True):
            by_loop.setdefault(op.loop, []).append((op, answer))
        for loop, pairs in by_loop.items():
            # A closed loop raises: nobody waits any more, and its holds go at close.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._deliver, pairs)

    def _admit_one(self, db: sqlite3.Connection, op: _Admit, now: float) -> Reservation | str:
        r = op.reservation
        spent = db.execute(_SPENT, (r.key, r.day)).fetchone() or (0.0, 0, 0)
        held = db.execute(_HELD, (r.key, r.day, now)).fetchone()
        reason = refusal(
            r.key, op.budget, spent[0] + held[0], spent[1] + held[1], spent[2] + held[2]
        )
        if reason is not None:
            return reason
        expires_at = now + self.hold_lease_s
        db.execute(_HOLD, (r.hold_id, r.key, r.day, r.usd, r.tokens, self.holder, expires_at))
        return r

    def _deliver(self, pairs: list[tuple[_Admit, object]]) -> None:
        """On the event loop: each waiting admission gets its answer."""
        for op, answer in pairs:
            if op.future.cancelled():
                # The client left while it waited: the hold it got is given back.
                if isinstance(answer, Reservation) and answer.hold_id is not None:
                    self._ops.put(_Release(answer.hold_id))
            elif isinstance(answer, BudgetStoreError):
                op.future.set_exception(answer)
            else:
                assert isinstance(answer, Reservation | str)
                op.future.set_result(answer)

    def _renew(self, stopping: bool) -> None:
        """Extend this process's holds (drop them when it stops) and delete expired ones."""

        def renew(db: sqlite3.Connection) -> None:
            now = time.time()
            if stopping:
                # Every request has ended and the ledger has written its row (which deletes
                # its hold): what is left of ours would only wait to expire.
                sql = "DELETE FROM gateway_budget_holds WHERE holder = ?"
                db.execute(sql, (self.holder,))
            else:
                sql = "UPDATE gateway_budget_holds SET expires_at = ? WHERE holder = ?"
                db.execute(sql, (now + self.hold_lease_s, self.holder))
            db.execute("DELETE FROM gateway_budget_holds WHERE expires_at <= ?", (now,))

        try:
            self._transaction(renew)
        except Exception as exc:
            log.warning("budget store %s: holds not renewed: %s", self.path, exc)
