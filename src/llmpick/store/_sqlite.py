"""The default store: one SQLite file in WAL mode, safe to read while a run writes to it.

Each result (response, its scores and its cache entry) is committed in one transaction as soon as
it exists, with `synchronous=NORMAL`: a process killed at any instant (even SIGKILL) loses at most
the calls still in flight, never a stored result.
"""

from __future__ import annotations

import hashlib
import json
import operator
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any

from llmpick._errors import LlmpickError
from llmpick.store._migrations import apply_migrations
from llmpick.store._protocol import (
    CandidateRecord,
    ItemRecord,
    LoadTestRecord,
    ResponseRecord,
    ResultRecord,
    RunRecord,
    RunStatus,
    ScoreRecord,
)

__all__ = ["SqliteStore", "StoreError", "default_db_path", "open_store"]

_RESPONSE_COLUMNS = [f.name for f in fields(ResponseRecord)]
_SCORE_COLUMNS = [f.name for f in fields(ScoreRecord)]
# attrgetter, not dataclasses.astuple: astuple deep-copies every field (slow per result).
_response_values = operator.attrgetter(*_RESPONSE_COLUMNS)
_score_values = operator.attrgetter(*_SCORE_COLUMNS)


class StoreError(LlmpickError):
    """The database cannot be opened or does not hold what was asked for."""


def default_db_path() -> Path:
    """`$LLMPICK_HOME/llmpick.sqlite`; the home defaults to `~/.local/share/llmpick`."""
    home = os.environ.get("LLMPICK_HOME")
    base = Path(home) if home else Path.home() / ".local" / "share" / "llmpick"
    return base / "llmpick.sqlite"


def open_store(path: str | Path | None = None) -> SqliteStore:
    """Open (creating and migrating as needed) the store at `path`, or the default one."""
    return SqliteStore(Path(path) if path is not None else default_db_path())


class SqliteStore:
    """`Store` on SQLite. Not thread-safe: use it from one thread (the runner's event loop)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        try:
            if str(path) != ":memory:":
                self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(path), isolation_level=None, timeout=30.0)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open the database {path}: {exc}; pass --db PATH") from None
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            apply_migrations(self._db)
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise StoreError(f"{path} is not an llmpick database ({exc}); pass --db PATH") from None

    def __repr__(self) -> str:
        return f"<SqliteStore {self.path}>"

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> SqliteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # runs ------------------------------------------------------------------------------------

    def create_run(self, run: RunRecord) -> None:
        self._db.execute(
            "INSERT INTO runs (id, created_at, finished_at, status, spec_name, spec_path, "
            "fingerprint, primary_metric, config_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
            ),
        )

    def find_resumable_run(self, fingerprint: str) -> RunRecord | None:
        row = self._db.execute(
            "SELECT * FROM runs WHERE fingerprint = ? AND status IN ('running', 'interrupted') "
            "ORDER BY created_at DESC LIMIT 1",
            (fingerprint,),
        ).fetchone()
        return self._run(row) if row else None

    def set_run_status(self, run_id: str, status: RunStatus) -> None:
        finished = _now_iso() if status != "running" else None
        self._db.execute(
            "UPDATE runs SET status = ?, finished_at = ? WHERE id = ?", (status, finished, run_id)
        )

    def get_run(self, run_id: str) -> RunRecord | None:
        row = self._db.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            # A unique prefix is enough, like git's short hashes.
            rows = self._db.execute(
                "SELECT * FROM runs WHERE id LIKE ? LIMIT 2", (run_id + "%",)
            ).fetchall()
            row = rows[0] if len(rows) == 1 else None
        return self._run(row) if row else None

    def list_runs(self, limit: int = 50) -> list[RunRecord]:
        rows = self._db.execute(
            "SELECT * FROM runs ORDER BY created_at DESC, rowid DESC LIMIT ?", (limit,)
        )
        return [self._run(r) for r in rows]

    def latest_run_id(self) -> str | None:
        row = self._db.execute("SELECT id FROM runs ORDER BY created_at DESC, rowid DESC LIMIT 1")
        found = row.fetchone()
        return found[0] if found else None

    def _run(self, row: tuple[Any, ...]) -> RunRecord:
        # Columns in table order; later migrations append (items_key, read by `items`).
        names = ("id", "created_at", "finished_at", "status", "spec_name", "spec_path")
        values = dict(zip(names, row[:6], strict=True))
        return RunRecord(
            **values,
            fingerprint=row[6],
            primary_metric=row[7],
            config=json.loads(row[8]),
        )

    # candidates and items --------------------------------------------------------------------

    def save_candidates(self, run_id: str, candidates: Sequence[CandidateRecord]) -> None:
        with self._transaction():
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
        re-runs of a dataset share one copy, keyed by a hash of its content."""
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
        key = digest.hexdigest()
        with self._transaction():
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

    def save_results(self, run_id: str, results: Sequence[ResultRecord]) -> None:
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
        with self._transaction():
            self._db.executemany(response_sql, responses)
            if scores:
                self._db.executemany(score_sql, scores)
            if cache_rows:
                self._db.executemany(
                    "INSERT OR REPLACE INTO response_cache (key, created_at, payload_json) "
                    "VALUES (?, ?, ?)",
                    cache_rows,
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
        self._db.execute(
            "INSERT OR REPLACE INTO response_cache (key, created_at, payload_json) "
            "VALUES (?, ?, ?)",
            (key, time.time(), payload),
        )

    # load tests ------------------------------------------------------------------------------

    def save_load_test(self, record: LoadTestRecord) -> None:
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

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)


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


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *rest: object) -> None:
        self._db.execute("ROLLBACK" if exc_type is not None else "COMMIT")


def _now_iso() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).isoformat(timespec="seconds")
