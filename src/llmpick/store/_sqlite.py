"""The default store: one SQLite file in WAL mode, safe to read while a run writes to it.

Each result (response, its scores and its cache entry) is committed in one transaction as soon as
it exists, with `synchronous=NORMAL`: a process killed at any instant (even SIGKILL) loses at most
the calls still in flight, never a stored result. A run is created with its item list in one
transaction, so no crash leaves a run without its items.

Another process may hold the write lock (a second eval, a backup, a DB browser): every write
waits for it `busy_timeout_s` at a time, with backoff, for up to `lock_wait_s` in all, then
raises `StoreBusyError` having written nothing. A database written by a newer llmpick, a
read-only file or one whose tables were changed by hand is refused with a `StoreError` saying
which, before anything is written to it.
"""

from __future__ import annotations

import functools
import hashlib
import json
import operator
import os
import socket
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import fields
from pathlib import Path
from typing import Any

from llmpick._errors import LlmpickError
from llmpick.store._migrations import (
    MIGRATIONS,
    NewerSchemaError,
    applied_migrations,
    apply_migrations,
)
from llmpick.store._protocol import (
    CandidateRecord,
    ItemRecord,
    LoadTestRecord,
    ResponseRecord,
    ResultRecord,
    RunLease,
    RunRecord,
    RunStatus,
    ScoreRecord,
)

__all__ = ["SqliteStore", "StoreBusyError", "StoreError", "default_db_path", "open_store"]

HOST = socket.gethostname()

_RESPONSE_COLUMNS = [f.name for f in fields(ResponseRecord)]
_SCORE_COLUMNS = [f.name for f in fields(ScoreRecord)]
# attrgetter, not dataclasses.astuple: astuple deep-copies every field (slow per result).
_response_values = operator.attrgetter(*_RESPONSE_COLUMNS)
_score_values = operator.attrgetter(*_SCORE_COLUMNS)


class StoreError(LlmpickError):
    """The database cannot be opened or does not hold what was asked for."""


class StoreBusyError(StoreError):
    """Another process held the database's write lock for longer than this write could wait;
    nothing of the write was stored."""


def default_db_path() -> Path:
    """`$LLMPICK_HOME/llmpick.sqlite`; the home defaults to `~/.local/share/llmpick`."""
    home = os.environ.get("LLMPICK_HOME")
    base = Path(home) if home else Path.home() / ".local" / "share" / "llmpick"
    return base / "llmpick.sqlite"


def open_store(
    path: str | Path | None = None,
    *,
    busy_timeout_s: float = 5.0,
    lock_wait_s: float = 600.0,
) -> SqliteStore:
    """Open (creating and migrating as needed) the store at `path`, or the default one.

    A write waits `busy_timeout_s` at a time for another process's lock, `lock_wait_s` in all.
    """
    return SqliteStore(
        Path(path) if path is not None else default_db_path(),
        busy_timeout_s=busy_timeout_s,
        lock_wait_s=lock_wait_s,
    )


class SqliteStore:
    """`Store` on SQLite. Not thread-safe: use it from one thread (the runner's event loop)."""

    def __init__(
        self, path: Path | str, *, busy_timeout_s: float = 5.0, lock_wait_s: float = 600.0
    ) -> None:
        self.path = Path(path)
        self.busy_timeout_s = busy_timeout_s
        self.lock_wait_s = lock_wait_s
        try:
            if str(path) != ":memory:":
                self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(path), isolation_level=None, timeout=busy_timeout_s)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open the database {path}: {exc}") from None
        try:
            self._prepare()
        except StoreError:
            self._db.close()
            raise
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise _open_error(self.path, exc) from None

    def _prepare(self) -> None:
        # Refuse a newer schema before anything (even the journal mode) is written to the file.
        recorded = applied_migrations(self._db)
        self._refuse_newer(recorded or [])
        if recorded is not None and str(self.path) != ":memory:":
            # WAL mode writes two files beside the database, so its folder must be writable too.
            if not os.access(self.path, os.W_OK):
                raise _read_only(self.path, "the file is not writable")
            if not os.access(self.path.parent, os.W_OK):
                raise _read_only(self.path, f"its folder {self.path.parent} is not writable")
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        try:
            apply_migrations(self._db)
        except NewerSchemaError as exc:  # another process upgraded it meanwhile
            self._refuse_newer(exc.unknown)
        self._check_columns()

    def _refuse_newer(self, recorded: Sequence[str]) -> None:
        known = {name for name, _ in MIGRATIONS}
        unknown = sorted(name for name in recorded if name not in known)
        if unknown:
            from llmpick import __version__

            raise StoreError(
                f"{self.path} has schema {unknown[-1]}, newer than this llmpick "
                f"({__version__}) knows (up to {MIGRATIONS[-1][0]}): a newer llmpick wrote it. "
                "It was left unchanged; use it with that newer llmpick, or use another database"
            )

    def _check_columns(self) -> None:
        """Every table and column the code reads must be there (a hand-edited database fails
        here with a clear message, not later with a traceback in the middle of a command)."""
        for table, columns in _expected_columns().items():
            have = {row[1] for row in self._db.execute(f"PRAGMA table_info({table})")}
            missing = [c for c in columns if c not in have]
            if missing:
                found = ", ".join(sorted(have)) if have else "no such table"
                raise StoreError(
                    f"{self.path} is not a usable llmpick database: table {table!r} lacks "
                    f"{', '.join(missing)} (found: {found}); it was changed outside llmpick"
                )

    def __repr__(self) -> str:
        return f"<SqliteStore {self.path}>"

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> SqliteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # runs ------------------------------------------------------------------------------------

    def create_run(
        self,
        run: RunRecord,
        items: Iterable[ItemRecord] | None = None,
        lease: RunLease | None = None,
    ) -> None:
        """Insert the run with its item list and its lease in one transaction: a process killed
        at any moment leaves the whole run or none of it (never a run without its items)."""
        prepared = _prepare_items(items) if items is not None else None
        with self._write():
            self._db.execute(
                "INSERT INTO runs (id, created_at, finished_at, status, spec_name, spec_path, "
                "fingerprint, primary_metric, config_json, error) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    run.id,
                    run.created_at,
                    run.finished_at,
                    run.status,
                    run.spec_name,
                    run.spec_path,
                    run.fingerprint,
                    run.primary_metric,
                    json.dumps(run.config),
                    run.error,
                ),
            )
            if prepared is not None:
                self._attach_items(run.id, *prepared)
            if lease is not None:
                self._put_lease(run.id, lease)

    def find_resumable_run(self, fingerprint: str) -> RunRecord | None:
        """The newest unfinished run with this fingerprint and its items stored."""
        row = self._db.execute(
            f"SELECT {_RUN_COLUMNS} FROM runs WHERE fingerprint = ? "
            "AND status IN ('running', 'interrupted') AND items_key IS NOT NULL "
            "ORDER BY created_at DESC LIMIT 1",
            (fingerprint,),
        ).fetchone()
        return self._run(row) if row else None

    def set_run_status(
        self, run_id: str, status: RunStatus, error: str | None = None, *, wait: bool = True
    ) -> None:
        """Set the status; `error` says why a run ended failed or interrupted (cleared else).
        `wait=False`: one busy timeout at most (a run being interrupted must stop promptly)."""
        finished = _now_iso() if status != "running" else None
        with self._write(wait=wait):
            self._db.execute(
                "UPDATE runs SET status = ?, finished_at = ?, error = ? WHERE id = ?",
                (status, finished, error, run_id),
            )

    def get_run(self, run_id: str) -> RunRecord | None:
        row = self._db.execute(
            f"SELECT {_RUN_COLUMNS} FROM runs WHERE id = ?", (run_id,)
        ).fetchone()
        if row is None:
            # A unique prefix is enough, like git's short hashes.
            rows = self._db.execute(
                f"SELECT {_RUN_COLUMNS} FROM runs WHERE id LIKE ? LIMIT 2", (run_id + "%",)
            ).fetchall()
            row = rows[0] if len(rows) == 1 else None
        return self._run(row) if row else None

    def list_runs(self, limit: int = 50) -> list[RunRecord]:
        rows = self._db.execute(
            f"SELECT {_RUN_COLUMNS} FROM runs ORDER BY created_at DESC, rowid DESC LIMIT ?",
            (limit,),
        )
        return [self._run(r) for r in rows]

    def latest_run_id(self) -> str | None:
        row = self._db.execute("SELECT id FROM runs ORDER BY created_at DESC, rowid DESC LIMIT 1")
        found = row.fetchone()
        return found[0] if found else None

    def _run(self, row: tuple[Any, ...]) -> RunRecord:
        # Columns as in _RUN_COLUMNS.
        names = ("id", "created_at", "finished_at", "status", "spec_name", "spec_path")
        values = dict(zip(names, row[:6], strict=True))
        return RunRecord(
            **values,
            fingerprint=row[6],
            primary_metric=row[7],
            config=json.loads(row[8]),
            error=row[9],
        )

    # leases and claims -----------------------------------------------------------------------

    def acquire_run_lease(self, run_id: str, lease: RunLease) -> RunLease | None:
        """Take the run for `lease.holder` unless another live holder has it; return that
        holder's lease then (None: the run is ours)."""
        with self._write():
            row = self._db.execute(
                "SELECT holder, pid, host, expires_at FROM run_leases WHERE run_id = ?",
                (run_id,),
            ).fetchone()
            if row is not None:
                current = RunLease(*row)
                if current.holder != lease.holder and _is_live(current, time.time()):
                    return current
            self._put_lease(run_id, lease)
        return None

    def run_lease(self, run_id: str) -> RunLease | None:
        """Who runs `run_id` now (None: nobody live)."""
        row = self._db.execute(
            "SELECT holder, pid, host, expires_at FROM run_leases WHERE run_id = ?", (run_id,)
        ).fetchone()
        lease = RunLease(*row) if row else None
        return lease if lease is not None and _is_live(lease, time.time()) else None

    def claim_calls(self, keys: Sequence[str], lease: RunLease) -> set[str]:
        """Claim the calls behind these cache keys for `lease.holder`; return those claimed.

        A key is not claimed when another live holder is calling it, or when its answer is
        already cached (it finished since the caller looked): read those from the cache later.
        """
        unique = list(dict.fromkeys(keys))
        if not unique:
            return set()
        now = time.time()
        with self._write():
            taken: set[str] = set()
            for start in range(0, len(unique), 500):
                chunk = unique[start : start + 500]
                marks = ", ".join("?" * len(chunk))
                for key, *held in self._db.execute(
                    "SELECT key, holder, pid, host, expires_at FROM call_claims "
                    f"WHERE key IN ({marks})",
                    chunk,
                ):
                    other = RunLease(*held)
                    if other.holder != lease.holder and _is_live(other, now):
                        taken.add(key)
                taken.update(
                    row[0]
                    for row in self._db.execute(
                        f"SELECT key FROM response_cache WHERE key IN ({marks})", chunk
                    )
                )
            mine = [key for key in unique if key not in taken]
            self._db.executemany(
                "INSERT OR REPLACE INTO call_claims (key, holder, pid, host, expires_at) "
                "VALUES (?, ?, ?, ?, ?)",
                [(key, lease.holder, lease.pid, lease.host, lease.expires_at) for key in mine],
            )
        return set(mine)

    def release_claims(self, keys: Sequence[str], holder: str) -> None:
        """Drop `holder`'s claims on `keys` (its calls ended: answered, cached or failed)."""
        with self._write():
            self._db.executemany(
                "DELETE FROM call_claims WHERE key = ? AND holder = ?",
                [(key, holder) for key in keys],
            )

    def renew_leases(self, holder: str, expires_at: float) -> None:
        """Extend every lease and claim of `holder` (one short write; it does not wait long
        for a lock: a missed renewal is made up by the next, well before expiry)."""
        with self._write(wait=False):
            self._db.execute(
                "UPDATE run_leases SET expires_at = ? WHERE holder = ?", (expires_at, holder)
            )
            self._db.execute(
                "UPDATE call_claims SET expires_at = ? WHERE holder = ?", (expires_at, holder)
            )

    def release_leases(self, holder: str) -> None:
        """Drop every lease and claim of `holder` (a run ending, however it ends)."""
        with self._write(wait=False):
            self._db.execute("DELETE FROM run_leases WHERE holder = ?", (holder,))
            self._db.execute("DELETE FROM call_claims WHERE holder = ?", (holder,))

    def _put_lease(self, run_id: str, lease: RunLease) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO run_leases (run_id, holder, pid, host, expires_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (run_id, lease.holder, lease.pid, lease.host, lease.expires_at),
        )

    # candidates and items --------------------------------------------------------------------

    def save_candidates(
        self, run_id: str, candidates: Sequence[CandidateRecord], *, wait: bool = True
    ) -> None:
        with self._write(wait=wait):
            self._db.executemany(
                "INSERT OR REPLACE INTO candidates (run_id, label, position, status, reason, "
                "provider, model, catalog_id, config_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        run_id,
                        c.label,
                        c.position,
                        c.status,
                        c.reason,
                        c.provider,
                        c.model,
                        c.catalog_id,
                        json.dumps(c.config),
                    )
                    for c in candidates
                ],
            )

    def candidates(self, run_id: str) -> list[CandidateRecord]:
        rows = self._db.execute(
            "SELECT label, position, status, reason, provider, model, catalog_id, config_json "
            "FROM candidates WHERE run_id = ? ORDER BY position",
            (run_id,),
        )
        names = ("label", "position", "status", "reason", "provider", "model", "catalog_id")
        return [
            CandidateRecord(**dict(zip(names, r[:7], strict=True)), config=json.loads(r[7]))
            for r in rows
        ]

    def save_items(self, run_id: str, items: Iterable[ItemRecord]) -> None:
        """Attach the item list to the run, storing the list only if no run stored it before:
        re-runs of a dataset share one copy, keyed by a hash of its content. (`create_run`
        takes the items too, in the run's own transaction.)"""
        prepared = _prepare_items(items)
        with self._write():
            self._attach_items(run_id, *prepared)

    def _attach_items(self, run_id: str, key: str, records: list[ItemRecord]) -> None:
        stored = self._db.execute(
            "SELECT 1 FROM item_lists WHERE items_key = ? LIMIT 1", (key,)
        ).fetchone()
        if stored is None:
            self._db.executemany(
                "INSERT OR IGNORE INTO item_lists (items_key, item_id, position, input, "
                "expected, category, fields_json) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    (
                        key,
                        i.item_id,
                        i.position,
                        i.input,
                        i.expected,
                        i.category,
                        json.dumps(i.fields, default=str),
                    )
                    for i in records
                ),
            )
        self._db.execute("UPDATE runs SET items_key = ? WHERE id = ?", (key, run_id))

    def item_count(self, run_id: str) -> int:
        """How many items the run has (without reading them)."""
        row = self._db.execute(
            "SELECT COUNT(*) FROM item_lists "
            "WHERE items_key = (SELECT items_key FROM runs WHERE id = ?)",
            (run_id,),
        ).fetchone()
        return int(row[0])

    def items(self, run_id: str) -> Iterator[ItemRecord]:
        rows = self._db.execute(
            "SELECT item_id, position, input, expected, category, fields_json FROM item_lists "
            "WHERE items_key = (SELECT items_key FROM runs WHERE id = ?) ORDER BY position",
            (run_id,),
        )
        for r in rows:
            yield ItemRecord(
                item_id=r[0],
                position=r[1],
                input=r[2],
                expected=r[3],
                category=r[4],
                fields=json.loads(r[5]),
            )

    # results ---------------------------------------------------------------------------------

    def completed_keys(self, run_id: str, candidate: str) -> set[tuple[str, int]]:
        """(item id, repeat) pairs with a successful response: a resumed run skips these."""
        rows = self._db.execute(
            "SELECT item_id, repeat FROM responses WHERE run_id = ? AND candidate = ? "
            "AND error IS NULL",
            (run_id, candidate),
        )
        return {(r[0], r[1]) for r in rows}

    def save_results(
        self,
        run_id: str,
        results: Sequence[ResultRecord],
        *,
        release_claims: Sequence[str] = (),
        holder: str | None = None,
        wait: bool = True,
    ) -> None:
        """Store results in one transaction, dropping `holder`'s claims on `release_claims` in
        the same one (a waiting process then finds the answer in the cache, never a gap).

        `wait=False`: raise `StoreBusyError` after one busy timeout instead of waiting up to
        `lock_wait_s`; nothing is stored then, and the caller keeps the results to retry.
        """
        if not results:
            return
        now = time.time()
        response_sql = (
            f"INSERT OR REPLACE INTO responses (run_id, {', '.join(_RESPONSE_COLUMNS)}) "
            f"VALUES ({', '.join('?' * (len(_RESPONSE_COLUMNS) + 1))})"
        )
        score_sql = (
            f"INSERT OR REPLACE INTO scores (run_id, {', '.join(_SCORE_COLUMNS)}) "
            f"VALUES ({', '.join('?' * (len(_SCORE_COLUMNS) + 1))})"
        )
        responses: list[tuple[Any, ...]] = []
        scores: list[tuple[Any, ...]] = []
        cache_rows: list[tuple[str, float, str]] = []
        for result in results:
            if not result.response.created_at:
                result.response.created_at = now
            responses.append((run_id, *_response_values(result.response)))
            scores.extend((run_id, *_score_values(s)) for s in result.scores)
            if result.cache_entry is not None:
                cache_rows.append((result.cache_entry[0], now, result.cache_entry[1]))
        with self._write(wait=wait):
            self._db.executemany(response_sql, responses)
            if scores:
                self._db.executemany(score_sql, scores)
            if cache_rows:
                self._db.executemany(
                    "INSERT OR REPLACE INTO response_cache (key, created_at, payload_json) "
                    "VALUES (?, ?, ?)",
                    cache_rows,
                )
            if release_claims and holder is not None:
                self._db.executemany(
                    "DELETE FROM call_claims WHERE key = ? AND holder = ?",
                    [(key, holder) for key in release_claims],
                )

    def responses(self, run_id: str, candidate: str | None = None) -> Iterator[ResponseRecord]:
        sql = f"SELECT {', '.join(_RESPONSE_COLUMNS)} FROM responses WHERE run_id = ?"
        args: tuple[Any, ...] = (run_id,)
        if candidate is not None:
            sql += " AND candidate = ?"
            args += (candidate,)
        for row in self._db.execute(sql + " ORDER BY candidate, created_at", args):
            record = ResponseRecord(*row)
            record.from_cache = bool(record.from_cache)
            yield record

    def scores(self, run_id: str, candidate: str | None = None) -> Iterator[ScoreRecord]:
        sql = f"SELECT {', '.join(_SCORE_COLUMNS)} FROM scores WHERE run_id = ?"
        args: tuple[Any, ...] = (run_id,)
        if candidate is not None:
            sql += " AND candidate = ?"
            args += (candidate,)
        for row in self._db.execute(sql + " ORDER BY candidate, item_id, repeat", args):
            record = ScoreRecord(*row)
            if record.passed is not None:
                record.passed = bool(record.passed)
            yield record

    # cache -----------------------------------------------------------------------------------

    def cache_get_many(self, keys: Sequence[str]) -> dict[str, str]:
        """Cached payloads for those of `keys` that have one."""
        found: dict[str, str] = {}
        for start in range(0, len(keys), 500):
            chunk = list(keys[start : start + 500])
            rows = self._db.execute(
                "SELECT key, payload_json FROM response_cache "
                f"WHERE key IN ({', '.join('?' * len(chunk))})",
                chunk,
            )
            found.update(rows)
        return found

    def cache_put(self, key: str, payload: str) -> None:
        """Store one cache entry on its own (results carry theirs in `save_results`)."""
        with self._write():
            self._db.execute(
                "INSERT OR REPLACE INTO response_cache (key, created_at, payload_json) "
                "VALUES (?, ?, ?)",
                (key, time.time(), payload),
            )

    # load tests ------------------------------------------------------------------------------

    def save_load_test(self, record: LoadTestRecord) -> None:
        with self._write():
            self._insert_load_test(record)

    def _insert_load_test(self, record: LoadTestRecord) -> None:
        self._db.execute(
            "INSERT INTO load_tests (id, created_at, spec_name, candidate, catalog_id, endpoint, "
            "model, hardware, requests_per_s, concurrency, result_json) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                record.id,
                record.created_at,
                record.spec_name,
                record.candidate,
                record.catalog_id,
                record.endpoint,
                record.model,
                record.hardware,
                record.requests_per_s,
                record.concurrency,
                json.dumps(record.result),
            ),
        )

    def load_tests(self, candidate: str | None = None, limit: int = 50) -> list[LoadTestRecord]:
        """Newest first; only `candidate`'s when given."""
        sql = f"SELECT {_LOAD_TEST_COLUMNS} FROM load_tests"
        args: tuple[Any, ...] = ()
        if candidate is not None:
            sql += " WHERE candidate = ?"
            args = (candidate,)
        rows = self._db.execute(
            sql + " ORDER BY created_at DESC, rowid DESC LIMIT ?", (*args, limit)
        )
        return [_load_test_record(row) for row in rows]

    def get_load_test(self, test_id: str) -> LoadTestRecord | None:
        """By id, or by a unique prefix of it."""
        rows = self._db.execute(
            f"SELECT {_LOAD_TEST_COLUMNS} FROM load_tests WHERE id = ? OR id LIKE ? LIMIT 3",
            (test_id, test_id + "%"),
        ).fetchall()
        exact = [row for row in rows if row[0] == test_id]
        if exact or len(rows) == 1:
            return _load_test_record((exact or rows)[0])
        return None

    # -----------------------------------------------------------------------------------------

    @contextmanager
    def _write(self, *, wait: bool = True) -> Iterator[None]:
        """One write transaction, taken with BEGIN IMMEDIATE (so it never fails half-way on
        the lock), committed on success and rolled back on any exception."""
        self._begin(wait)
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _begin(self, wait: bool) -> None:
        # Each BEGIN waits up to the busy timeout inside SQLite; between tries we back off, so
        # a lock held for minutes (a backup, a second eval's long write) is waited out.
        started = time.monotonic()
        delay = 0.05
        while True:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc):
                    raise
                waited = time.monotonic() - started
                if not wait or waited + delay > self.lock_wait_s:
                    raise StoreBusyError(
                        f"the database {self.path} is locked by another process "
                        f"(waited {waited:.1f} s for it)"
                    ) from None
            time.sleep(delay)
            delay = min(delay * 2, 2.0)


_LOAD_TEST_COLUMNS = (
    "id, created_at, spec_name, candidate, endpoint, model, requests_per_s, concurrency, "
    "result_json, catalog_id, hardware"
)


def _load_test_record(row: Sequence[Any]) -> LoadTestRecord:
    return LoadTestRecord(
        id=row[0],
        created_at=row[1],
        spec_name=row[2],
        candidate=row[3],
        endpoint=row[4],
        model=row[5],
        requests_per_s=row[6],
        concurrency=row[7],
        result=json.loads(row[8]),
        catalog_id=row[9],
        hardware=row[10],
    )


_RUN_COLUMNS = (
    "id, created_at, finished_at, status, spec_name, spec_path, fingerprint, primary_metric, "
    "config_json, error"
)


def _prepare_items(items: Iterable[ItemRecord]) -> tuple[str, list[ItemRecord]]:
    """The item list's content key (SHA-256) and its records, computed before any lock is
    taken."""
    records = list(items)
    digest = hashlib.sha256()
    for start in range(0, len(records), 1024):  # in slices: no one huge string in memory
        content = json.dumps(
            [
                [i.item_id, i.position, i.input, i.expected, i.category, i.fields]
                for i in records[start : start + 1024]
            ],
            default=str,
            ensure_ascii=False,  # half the time of escaping; the hash only needs determinism
        )
        digest.update(content.encode("utf-8", "surrogatepass"))
    return digest.hexdigest(), records


def _is_live(lease: RunLease, now: float) -> bool:
    """Whether a lease still holds: not expired, and, on this host, its process still exists."""
    if lease.expires_at <= now:
        return False
    if lease.host == HOST and lease.pid != os.getpid():
        try:
            os.kill(lease.pid, 0)
        except ProcessLookupError:
            return False
        except OSError:  # exists, owned by another user
            return True
    return True


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    return "locked" in str(exc)


def _read_only(path: Path, why: str) -> StoreError:
    return StoreError(
        f"the database {path} is read-only ({why}); llmpick stores runs and its cache in it, "
        "so it needs write access to the file and its folder"
    )


def _open_error(path: Path, exc: sqlite3.DatabaseError) -> StoreError:
    code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
    if code == sqlite3.SQLITE_READONLY:
        return _read_only(path, str(exc))
    if code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        return StoreBusyError(f"the database {path} is locked by another process ({exc})")
    if code == sqlite3.SQLITE_CANTOPEN:
        return StoreError(f"cannot open the database {path} ({exc})")
    return StoreError(f"{path} is not an llmpick database ({exc})")


@functools.cache
def _expected_columns() -> dict[str, tuple[str, ...]]:
    """Tables and columns a fully migrated database has: the migrations run on an empty
    in-memory database, so this can never drift from them."""
    db = sqlite3.connect(":memory:", isolation_level=None)
    try:
        apply_migrations(db)
        tables = [
            row[0]
            for row in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
            )
        ]
        return {
            table: tuple(row[1] for row in db.execute(f"PRAGMA table_info({table})"))
            for table in tables
        }
    finally:
        db.close()


def _now_iso() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).isoformat(timespec="seconds")
