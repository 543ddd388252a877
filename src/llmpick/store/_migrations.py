"""The store's schema as an ordered list of named migrations, each applied once and recorded.

A new column or table is a new entry at the end of `MIGRATIONS`; an applied migration is never
edited, so any database written by an older llmpick can be brought up to date in place.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime

__all__ = ["MIGRATIONS", "NewerSchemaError", "applied_migrations", "apply_migrations"]

Migration = tuple[str, Callable[[sqlite3.Connection], None]]


def _execute_script(db: sqlite3.Connection, script: str) -> None:
    # Not `executescript`: it commits first, which would break the migration's transaction.
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)


def _m001_initial(db: sqlite3.Connection) -> None:
    # Result tables are WITHOUT ROWID: their primary key is the table's own order, so a row is
    # one B-tree insert, not two (it halves the cost of storing a cached re-run).
    _execute_script(
        db,
        """
        CREATE TABLE runs (
            id TEXT PRIMARY KEY,
            created_at TEXT NOT NULL,
            finished_at TEXT,
            status TEXT NOT NULL,          -- running | finished | interrupted | failed
            spec_name TEXT NOT NULL,
            spec_path TEXT,
            fingerprint TEXT NOT NULL,     -- spec parts + options: a resumed run matches it
            primary_metric TEXT NOT NULL,
            config_json TEXT NOT NULL      -- metrics, options, dataset facts
        );
        CREATE INDEX runs_fingerprint ON runs (fingerprint, status);

        CREATE TABLE candidates (
            run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
            label TEXT NOT NULL,
            position INTEGER NOT NULL,
            status TEXT NOT NULL,          -- measured | not_measured | failed
            reason TEXT,
            provider TEXT,
            model TEXT,
            catalog_id TEXT,
            config_json TEXT NOT NULL,
            PRIMARY KEY (run_id, label)
        );

        CREATE TABLE items (
            run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
            item_id TEXT NOT NULL,
            position INTEGER NOT NULL,
            input TEXT NOT NULL,
            expected TEXT,
            category TEXT,
            fields_json TEXT NOT NULL,
            PRIMARY KEY (run_id, item_id)
        ) WITHOUT ROWID;

        CREATE TABLE responses (
            run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
            candidate TEXT NOT NULL,
            item_id TEXT NOT NULL,
            repeat INTEGER NOT NULL,
            text TEXT,
            finish_reason TEXT,
            input_tokens INTEGER,
            output_tokens INTEGER,
            cached_input_tokens INTEGER,
            usage_source TEXT,
            ttft_s REAL,
            e2e_s REAL,
            tpot_s REAL,
            output_tokens_per_s REAL,
            cost_usd REAL,
            error_type TEXT,
            error TEXT,
            from_cache INTEGER NOT NULL DEFAULT 0,
            cache_key TEXT,
            created_at REAL NOT NULL,
            PRIMARY KEY (run_id, candidate, item_id, repeat)
        ) WITHOUT ROWID;

        CREATE TABLE scores (
            run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
            candidate TEXT NOT NULL,
            item_id TEXT NOT NULL,
            repeat INTEGER NOT NULL,
            metric TEXT NOT NULL,
            value REAL,
            passed INTEGER,
            detail TEXT,
            cost_usd REAL,
            error TEXT,
            PRIMARY KEY (run_id, candidate, item_id, repeat, metric)
        ) WITHOUT ROWID;

        CREATE TABLE response_cache (
            key TEXT PRIMARY KEY,
            created_at REAL NOT NULL,
            payload_json TEXT NOT NULL
        );
        """,
    )


def _m002_items_by_content(db: sqlite3.Connection) -> None:
    # Items were stored once per run, so every re-run of the same dataset wrote them all again
    # (the largest cost of a cached re-run). Now a run points at its item list by a hash of its
    # content and a list is stored once. Rows of existing runs move under the key `run:<id>`.
    _execute_script(
        db,
        """
        CREATE TABLE item_lists (
            items_key TEXT NOT NULL,       -- SHA-256 of the list's content, or run:<id>
            item_id TEXT NOT NULL,
            position INTEGER NOT NULL,
            input TEXT NOT NULL,
            expected TEXT,
            category TEXT,
            fields_json TEXT NOT NULL,
            PRIMARY KEY (items_key, item_id)
        ) WITHOUT ROWID;
        INSERT INTO item_lists
            SELECT 'run:' || run_id, item_id, position, input, expected, category, fields_json
            FROM items;
        ALTER TABLE runs ADD COLUMN items_key TEXT;
        UPDATE runs SET items_key = 'run:' || id WHERE id IN (SELECT run_id FROM items);
        DROP TABLE items
        """,
    )


def _m003_load_tests(db: sqlite3.Connection) -> None:
    # One row per load test of a serving endpoint; the levels it swept stay in result_json.
    _execute_script(
        db,
        """
        CREATE TABLE load_tests (
            id TEXT PRIMARY KEY,
            created_at TEXT NOT NULL,
            spec_name TEXT NOT NULL,
            candidate TEXT NOT NULL,       -- the spec candidate's label
            catalog_id TEXT,
            endpoint TEXT NOT NULL,        -- base URL (never a key)
            model TEXT NOT NULL,
            hardware TEXT,                 -- what the endpoint runs on, as declared
            requests_per_s REAL,           -- capacity within the SLO (NULL: no level met it)
            concurrency INTEGER,           -- the level that gave it
            result_json TEXT NOT NULL
        );
        CREATE INDEX load_tests_candidate ON load_tests (candidate, created_at)
        """,
    )


def _m004_run_failure_reason(db: sqlite3.Connection) -> None:
    # Why a run ended failed or interrupted (a template error, a store that stayed locked), so
    # `runs show` can say it instead of leaving the run `running` with no explanation.
    db.execute("ALTER TABLE runs ADD COLUMN error TEXT")


def _m005_leases_and_call_claims(db: sqlite3.Connection) -> None:
    # A run being executed is leased by one process, and a call being made is claimed by one,
    # so two evals of one spec on one store neither run the same run twice nor pay for the same
    # call twice. Both expire when their holder stops renewing them (a SIGKILL), so a run killed
    # at any moment stays resumable.
    _execute_script(
        db,
        """
        CREATE TABLE run_leases (
            run_id TEXT PRIMARY KEY REFERENCES runs (id) ON DELETE CASCADE,
            holder TEXT NOT NULL,          -- host:pid:token of the process running it
            pid INTEGER NOT NULL,
            host TEXT NOT NULL,
            expires_at REAL NOT NULL       -- Unix time, renewed while the run goes on
        );
        CREATE TABLE call_claims (
            key TEXT PRIMARY KEY,          -- the response cache key being called
            holder TEXT NOT NULL,
            pid INTEGER NOT NULL,
            host TEXT NOT NULL,
            expires_at REAL NOT NULL
        ) WITHOUT ROWID
        """,
    )


def _m006_gateway(db: sqlite3.Connection) -> None:
    # The gateway's ledger: one row per request it served (counts, timings, cost and outcome;
    # never the text) and the shadow pairs (a route's answer beside a challenger's) to score.
    _execute_script(
        db,
        """
        CREATE TABLE gateway_requests (
            id TEXT PRIMARY KEY,
            created_at REAL NOT NULL,
            day TEXT NOT NULL,             -- UTC date: budgets are per key per day
            key_name TEXT NOT NULL,        -- the virtual key's name (never the key)
            route TEXT,
            backend TEXT,                  -- the backend that answered (or the last tried)
            attempts INTEGER NOT NULL,
            outcome TEXT NOT NULL,         -- ok | error | cut | refused | client_error
            status INTEGER NOT NULL,
            stream INTEGER NOT NULL,
            input_tokens INTEGER,
            output_tokens INTEGER,
            usage_source TEXT,
            latency_s REAL,
            ttft_s REAL,
            cost_usd REAL,                 -- NULL: the backend has no price
            error_type TEXT,
            redactions_json TEXT           -- counts by type, never the values
        );
        CREATE INDEX gateway_requests_budget ON gateway_requests (key_name, day);
        CREATE TABLE gateway_shadow (
            id TEXT PRIMARY KEY,
            created_at REAL NOT NULL,
            route TEXT NOT NULL,
            primary_backend TEXT NOT NULL,
            challenger TEXT NOT NULL,
            prompt_json TEXT NOT NULL,
            primary_text TEXT,
            challenger_text TEXT,
            primary_latency_s REAL,
            challenger_latency_s REAL,
            challenger_error TEXT,
            primary_output_tokens INTEGER,
            challenger_output_tokens INTEGER,
            primary_cost_usd REAL,
            challenger_cost_usd REAL
        );
        CREATE INDEX gateway_shadow_route ON gateway_shadow (route, created_at)
        """,
    )


def _m007_gateway_budgets(db: sqlite3.Connection) -> None:
    # Budgets shared by every gateway replica on this store: spend per key per day (kept by the
    # ledger in the transaction that writes the request rows) and the holds of requests in
    # flight. A hold is renewed by its process and expires when that stops (a SIGKILL), so a
    # killed replica does not keep its share of a budget. Existing request rows seed the spend.
    _execute_script(
        db,
        """
        CREATE TABLE gateway_budget_use (
            key_name TEXT NOT NULL,
            day TEXT NOT NULL,             -- UTC date
            usd REAL NOT NULL,
            tokens INTEGER NOT NULL,       -- input + output
            requests INTEGER NOT NULL,     -- requests that reached a backend
            PRIMARY KEY (key_name, day)
        ) WITHOUT ROWID;
        CREATE TABLE gateway_budget_holds (
            id TEXT PRIMARY KEY,           -- the request's id (gateway_requests.id once written)
            key_name TEXT NOT NULL,
            day TEXT NOT NULL,
            usd REAL NOT NULL,             -- the most the request can spend
            tokens INTEGER NOT NULL,
            holder TEXT NOT NULL,          -- host:pid:token of the gateway process renewing it
            expires_at REAL NOT NULL       -- Unix time
        );
        CREATE INDEX gateway_budget_holds_key ON gateway_budget_holds (key_name, day);
        CREATE INDEX gateway_budget_holds_holder ON gateway_budget_holds (holder);
        INSERT INTO gateway_budget_use (key_name, day, usd, tokens, requests)
            SELECT key_name, day, COALESCE(SUM(cost_usd), 0),
                   COALESCE(SUM(COALESCE(input_tokens, 0) + COALESCE(output_tokens, 0)), 0),
                   COUNT(*)
            FROM gateway_requests WHERE attempts > 0 GROUP BY key_name, day
        """,
    )


MIGRATIONS: list[Migration] = [
    ("001_initial", _m001_initial),
    ("002_items_by_content", _m002_items_by_content),
    ("003_load_tests", _m003_load_tests),
    ("004_run_failure_reason", _m004_run_failure_reason),
    ("005_leases_and_call_claims", _m005_leases_and_call_claims),
    ("006_gateway", _m006_gateway),
    ("007_gateway_budgets", _m007_gateway_budgets),
]


class NewerSchemaError(Exception):
    """The database holds migrations this llmpick does not know: a newer llmpick wrote it."""

    def __init__(self, unknown: list[str]) -> None:
        super().__init__(", ".join(unknown))
        self.unknown = unknown


def applied_migrations(db: sqlite3.Connection) -> list[str] | None:
    """Names of the migrations recorded in the database (None: it has no migrations table)."""
    exists = db.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'migrations'"
    ).fetchone()
    if not exists:
        return None
    return [row[0] for row in db.execute("SELECT name FROM migrations ORDER BY name")]


def apply_migrations(db: sqlite3.Connection) -> list[str]:
    """Apply the migrations this database lacks, each in its own transaction; return their names.

    Raises `NewerSchemaError`, changing nothing, when the database records a migration this
    llmpick does not know (a newer version wrote it: writing to it could corrupt its data).
    """
    recorded = applied_migrations(db)
    known = {name for name, _ in MIGRATIONS}
    unknown = [name for name in recorded or () if name not in known]
    if unknown:
        raise NewerSchemaError(unknown)
    if recorded is None:
        db.execute(
            "CREATE TABLE IF NOT EXISTS migrations "
            "(name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
        )
    done = set(recorded or ())
    applied = []
    for name, migrate in MIGRATIONS:
        if name in done:
            continue
        db.execute("BEGIN IMMEDIATE")
        try:
            # Another process may have applied it while we waited for the write lock.
            if db.execute("SELECT 1 FROM migrations WHERE name = ?", (name,)).fetchone():
                db.execute("COMMIT")
                continue
            migrate(db)
            db.execute(
                "INSERT INTO migrations (name, applied_at) VALUES (?, ?)",
                (name, datetime.now(UTC).isoformat(timespec="seconds")),
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        applied.append(name)
    return applied
