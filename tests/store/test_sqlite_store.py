from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from llmpick.providers import Message
from llmpick.store import (
    MIGRATIONS,
    CachedAnswer,
    CacheKeyer,
    CandidateRecord,
    ItemRecord,
    ResponseRecord,
    ResultRecord,
    RunLease,
    RunRecord,
    ScoreRecord,
    StoreBusyError,
    StoreError,
    cache_key,
    default_db_path,
    open_store,
)
from llmpick.store._sqlite import HOST


def _run(run_id: str = "20260101-000000-abc123", fingerprint: str = "fp") -> RunRecord:
    return RunRecord(
        id=run_id,
        created_at="2026-01-01T00:00:00+00:00",
        status="running",
        spec_name="demo",
        fingerprint=fingerprint,
        primary_metric="accuracy",
        config={"metrics": ["accuracy"]},
    )


def test_migrations_are_recorded_once_and_wal_is_on(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    open_store(path).close()
    open_store(path).close()  # reopening applies nothing twice
    db = sqlite3.connect(path)
    names = [r[0] for r in db.execute("SELECT name FROM migrations")]
    assert names == [name for name, _ in MIGRATIONS]
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_default_path_follows_llmpick_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LLMPICK_HOME", str(tmp_path))
    assert default_db_path() == tmp_path / "llmpick.sqlite"


def test_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "notes.sqlite"
    bad.write_text("this is not sqlite " * 100)
    with pytest.raises(StoreError, match="not an llmpick database"):
        open_store(bad)


def test_round_trip_of_a_run(tmp_path: Path) -> None:
    with open_store(tmp_path / "db.sqlite") as store:
        store.create_run(_run())
        store.save_candidates(_run().id, [CandidateRecord("m", 0, "measured", provider="openai")])
        store.save_items(_run().id, [ItemRecord("a", 0, "hello", "hi", "greet", {"x": 1})])
        response = ResponseRecord("m", "a", 0, "hi", input_tokens=3, output_tokens=1, ttft_s=0.1)
        score = ScoreRecord("m", "a", 0, "accuracy", 1.0, True)
        store.save_results(_run().id, [ResultRecord(response, [score], ("k1", '{"text": "hi"}'))])

        assert store.get_run("20260101")  # a unique prefix finds the run
        assert store.completed_keys(_run().id, "m") == {("a", 0)}
        assert [r.text for r in store.responses(_run().id)] == ["hi"]
        assert [s.passed for s in store.scores(_run().id)] == [True]
        assert next(iter(store.items(_run().id))).fields == {"x": 1}
        assert store.cache_get_many(["k1", "k2"]) == {"k1": '{"text": "hi"}'}
        assert store.find_resumable_run("fp") is not None
        store.set_run_status(_run().id, "finished")
        assert store.find_resumable_run("fp") is None
        assert store.get_run(_run().id).finished_at is not None  # type: ignore[union-attr]


def test_errors_are_not_completed_and_get_replaced(tmp_path: Path) -> None:
    with open_store(tmp_path / "db.sqlite") as store:
        store.create_run(_run())
        failed = ResponseRecord("m", "a", 0, None, error_type="ServerError", error="500")
        store.save_results(_run().id, [ResultRecord(failed, [])])
        assert store.completed_keys(_run().id, "m") == set()
        store.save_results(_run().id, [ResultRecord(ResponseRecord("m", "a", 0, "ok"), [])])
        assert [r.text for r in store.responses(_run().id)] == ["ok"]


def test_cache_key_covers_only_what_changes_the_answer() -> None:
    identity = {"kind": "openai", "base_url": "http://x/v1", "model": "m"}
    prompt = [{"role": "user", "content": "hi"}]
    params = {"max_tokens": 8, "temperature": 0.0}
    key = cache_key(identity, prompt, params)
    assert key == cache_key(dict(reversed(identity.items())), prompt, params)
    assert key != cache_key({**identity, "model": "other"}, prompt, params)
    assert key != cache_key(identity, [{"role": "user", "content": "hi!"}], params)
    assert key != cache_key(identity, prompt, {**params, "temperature": 0.7})
    assert key != cache_key(identity, prompt, params, sample=1)
    answer = CachedAnswer("hi", "stop", 3, 1, None, "server", 0.1, 0.2, None, 5.0)
    assert CachedAnswer.from_json(answer.to_json()) == answer


def test_runs_over_the_same_items_share_one_stored_list(tmp_path: Path) -> None:
    items = [ItemRecord(f"i{n}", n, f"input {n}", "x", None, {"n": n}) for n in range(5)]
    with open_store(tmp_path / "db.sqlite") as store:
        for run_id in ("20260101-000000-aaaaaa", "20260101-000001-bbbbbb"):
            store.create_run(_run(run_id))
            store.save_items(run_id, items)
        store.create_run(_run("20260101-000002-cccccc"))
        store.save_items("20260101-000002-cccccc", items[:2])
        for run_id, count in [("20260101-000001-bbbbbb", 5), ("20260101-000002-cccccc", 2)]:
            assert [i.item_id for i in store.items(run_id)] == [f"i{n}" for n in range(count)]
            assert store.item_count(run_id) == count
    db = sqlite3.connect(tmp_path / "db.sqlite")
    assert db.execute("SELECT COUNT(*) FROM item_lists").fetchone()[0] == 5 + 2


def test_a_database_from_the_first_schema_is_migrated_with_its_items(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("CREATE TABLE migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    first_name, first = MIGRATIONS[0]
    first(db)
    db.execute("INSERT INTO migrations VALUES (?, '2026-01-01')", (first_name,))
    db.execute(
        "INSERT INTO runs VALUES ('r1', '2026-01-01', NULL, 'finished', 'demo', NULL, 'fp', "
        "'accuracy', '{}')"
    )
    db.execute("INSERT INTO items VALUES ('r1', 'b', 1, 'second', NULL, NULL, '{}')")
    db.execute("INSERT INTO items VALUES ('r1', 'a', 0, 'first', 'yes', 'cat', '{\"k\": 2}')")
    db.close()
    with open_store(path) as store:
        migrated = list(store.items("r1"))
    assert [(i.item_id, i.input, i.expected, i.fields) for i in migrated] == [
        ("a", "first", "yes", {"k": 2}),
        ("b", "second", None, {}),
    ]


def test_the_gateway_budget_migration_seeds_each_days_spend_from_the_requests(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("CREATE TABLE migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    names = [name for name, _ in MIGRATIONS]
    for name, migrate in MIGRATIONS[: names.index("007_gateway_budgets")]:
        migrate(db)
        db.execute("INSERT INTO migrations VALUES (?, '2026-01-01')", (name,))
    insert = (
        "INSERT INTO gateway_requests (id, created_at, day, key_name, attempts, outcome, status, "
        "stream, input_tokens, output_tokens, cost_usd) VALUES (?, 0, ?, ?, ?, ?, 200, 0, ?, ?, ?)"
    )
    db.execute(insert, ("r1", "2026-01-01", "team-a", 1, "ok", 10, 5, 0.5))
    db.execute(insert, ("r2", "2026-01-01", "team-a", 2, "ok", 1, None, None))
    db.execute(insert, ("r3", "2026-01-01", "team-a", 0, "refused", None, None, None))
    db.execute(insert, ("r4", "2026-01-02", "team-a", 1, "error", None, None, None))
    db.execute(insert, ("r5", "2026-01-01", "team-b", 1, "ok", 2, 2, 0.25))
    db.close()
    open_store(path).close()
    db = sqlite3.connect(path)
    try:
        use = db.execute("SELECT * FROM gateway_budget_use ORDER BY key_name, day").fetchall()
        holds = db.execute("SELECT COUNT(*) FROM gateway_budget_holds").fetchone()
    finally:
        db.close()
    # Requests that reached a backend count (a refused one did not), as the budgets count them.
    assert use == [
        ("team-a", "2026-01-01", 0.5, 16, 2),
        ("team-a", "2026-01-02", 0.0, 0, 1),
        ("team-b", "2026-01-01", 0.25, 4, 1),
    ]
    assert holds == (0,)


@pytest.mark.parametrize(
    "prompt",
    [
        "plain text",
        'quotes " and \\ backslashes, tabs\t, newlines\n, control \x01 and unicode é 😀',
        [{"role": "system", "content": "Be brief."}, {"role": "user", "content": 'ünï "q"'}],
        [{"content": "keys in the other order", "role": "user"}],
        [],
        [{"role": "user", "content": "an extra key", "name": "x"}],  # general encoder
        [{"role": "user", "content": ["a", "list"]}],  # general encoder
    ],
)
def test_the_fast_prompt_encoding_gives_the_canonical_key(prompt: object) -> None:
    identity, params = {"kind": "openai", "model": "m"}, {"max_tokens": 8}
    canonical = json.dumps(
        {"generation": params, "identity": identity, "prompt": prompt, "sample": 2, "v": 1},
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    expected = hashlib.sha256(canonical.encode()).hexdigest()
    assert cache_key(identity, prompt, params, sample=2) == expected
    assert CacheKeyer(identity, params).key(prompt, sample=2) == expected


def test_message_keys_equal_the_keys_of_the_messages_dict_form() -> None:
    keyer = CacheKeyer({"kind": "openai", "model": "m"}, {"max_tokens": 8})
    system = Message("system", 'Route "tickets" — ünïcode \\ and \n newlines')
    for text in ["first", "second 😀", "first"]:  # repeated turns come from the memo
        messages = [system, Message("user", text)]
        as_dicts = [{"role": m.role, "content": m.content} for m in messages]
        assert keyer.message_key(messages, 1) == keyer.key(as_dicts, 1)
        assert keyer.message_key(messages, 1) == cache_key(
            {"kind": "openai", "model": "m"}, as_dicts, {"max_tokens": 8}, sample=1
        )


# Crash safety, locks and shared use ---------------------------------------------------------


def test_a_run_and_its_items_are_created_in_one_transaction(tmp_path: Path) -> None:
    def items_then_crash() -> Iterator[ItemRecord]:
        yield ItemRecord("a", 0, "first")
        raise RuntimeError("killed while the items were being stored")

    with open_store(tmp_path / "db.sqlite") as store:
        with pytest.raises(RuntimeError):
            store.create_run(_run(), items_then_crash())
        assert store.list_runs() == []  # no run without its items
        store.create_run(_run(), [ItemRecord("a", 0, "first")])
        assert store.item_count(_run().id) == 1
        assert store.find_resumable_run("fp") is not None


def test_a_run_without_items_is_never_resumed(tmp_path: Path) -> None:
    # Runs written by older versions could lack their items (a kill between two commits).
    with open_store(tmp_path / "db.sqlite") as store:
        store.create_run(_run())
        assert store.find_resumable_run("fp") is None


def test_a_store_from_a_newer_llmpick_is_refused_and_left_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    open_store(path).close()
    db = sqlite3.connect(path)
    db.execute("INSERT INTO migrations VALUES ('999_from_the_future', '2030-01-01')")
    db.commit()
    db.close()
    before = path.read_bytes()
    with pytest.raises(StoreError) as caught:
        open_store(path)
    message = str(caught.value)
    assert "999_from_the_future" in message and MIGRATIONS[-1][0] in message
    assert "newer" in message
    assert path.read_bytes() == before


def test_a_renamed_column_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    open_store(path).close()
    db = sqlite3.connect(path)
    db.execute("ALTER TABLE responses RENAME COLUMN text TO answer")
    db.commit()
    db.close()
    with pytest.raises(StoreError, match=r"table 'responses' lacks text \(found: .*answer"):
        open_store(path)


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write any file")
def test_a_read_only_store_is_named_read_only(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    open_store(path).close()
    path.chmod(0o444)
    with pytest.raises(StoreError, match="read-only"):
        open_store(path)


def _hold_lock(path: Path, seconds: float) -> threading.Thread:
    """Another writer holding the write lock for `seconds` (taken before this returns)."""
    taken = threading.Event()

    def hold() -> None:
        db = sqlite3.connect(path, isolation_level=None)
        db.execute("BEGIN EXCLUSIVE")
        taken.set()
        time.sleep(seconds)
        db.execute("COMMIT")
        db.close()

    thread = threading.Thread(target=hold)
    thread.start()
    taken.wait()
    return thread


def test_writes_wait_out_a_lock_held_longer_than_the_busy_timeout(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    with open_store(path, busy_timeout_s=0.05, lock_wait_s=30) as store:
        store.create_run(_run(), [ItemRecord("a", 0, "first")])
        holder = _hold_lock(path, 0.6)
        store.set_run_status(_run().id, "finished")  # waits (with backoff) for the lock
        holder.join()
        assert store.get_run(_run().id).status == "finished"  # type: ignore[union-attr]


def test_a_lock_held_past_the_wait_raises_and_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    result = ResultRecord(ResponseRecord("m", "a", 0, "hi"), [], ("k", '{"text": "hi"}'))
    with open_store(path, busy_timeout_s=0.05, lock_wait_s=0.2) as store:
        store.create_run(_run(), [ItemRecord("a", 0, "first")])
        holder = _hold_lock(path, 0.8)
        with pytest.raises(StoreBusyError, match="locked by another process"):
            store.save_results(_run().id, [result], wait=False)
        with pytest.raises(StoreBusyError):
            store.save_results(_run().id, [result])
        holder.join()
        assert list(store.responses(_run().id)) == []
        store.save_results(_run().id, [result])
        assert [r.text for r in store.responses(_run().id)] == ["hi"]


def _lease(holder: str, pid: int | None = None, ttl: float = 30.0) -> RunLease:
    return RunLease(holder, pid or os.getpid(), HOST, time.time() + ttl)


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_run_lease_is_held_until_released_expired_or_its_process_dies(tmp_path: Path) -> None:
    with open_store(tmp_path / "db.sqlite") as store:
        store.create_run(_run(), [ItemRecord("a", 0, "x")], _lease("first"))
        blocker = store.acquire_run_lease(_run().id, _lease("second"))
        assert blocker is not None and blocker.holder == "first"
        assert store.run_lease(_run().id) == blocker
        store.release_leases("first")
        assert store.acquire_run_lease(_run().id, _lease("second")) is None
        # Expired, or held by a process of this host that no longer exists: taken over.
        store.renew_leases("second", time.time() - 1)
        assert store.acquire_run_lease(_run().id, _lease("third", _dead_pid())) is None
        assert store.acquire_run_lease(_run().id, _lease("fourth")) is None
        assert store.run_lease(_run().id).holder == "fourth"  # type: ignore[union-attr]


def test_a_call_is_claimed_by_one_holder_and_not_once_it_is_cached(tmp_path: Path) -> None:
    with open_store(tmp_path / "db.sqlite") as store:
        store.create_run(_run(), [ItemRecord("a", 0, "x")])
        assert store.claim_calls(["k1", "k2"], _lease("first")) == {"k1", "k2"}
        assert store.claim_calls(["k1", "k2", "k3"], _lease("second")) == {"k3"}
        result = ResultRecord(ResponseRecord("m", "a", 0, "hi"), [], ("k1", '{"text": "hi"}'))
        store.save_results(_run().id, [result], release_claims=["k1"], holder="first")
        assert store.claim_calls(["k1"], _lease("second")) == set()  # answered: read the cache
        store.release_claims(["k2"], "first")
        assert store.claim_calls(["k2"], _lease("second")) == {"k2"}
        assert store.claim_calls(["k4"], _lease("dead", _dead_pid())) == {"k4"}
        assert store.claim_calls(["k4"], _lease("second")) == {"k4"}
