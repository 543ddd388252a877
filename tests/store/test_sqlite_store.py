from __future__ import annotations

import hashlib
import json
import sqlite3
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
    RunRecord,
    ScoreRecord,
    StoreError,
    cache_key,
    default_db_path,
    open_store,
)


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
