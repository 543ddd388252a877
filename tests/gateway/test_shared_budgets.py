"""Replicas behind a load balancer: several `llmpick gateway` processes on one store share each
key's budget exactly (holds and spend live in the store, not in a process), and the holds of a
replica killed mid-request expire instead of keeping the budget forever. A budget the store
cannot check is refused (503), not guessed."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from llmpick.gateway import Budget
from llmpick.gateway._budgets import BudgetStoreError, Reservation, StoreBudgetBook
from llmpick.gateway._ledger import Ledger, RequestRow, utc_day
from llmpick.store import open_store

from .conftest import KEY_A, KEY_B, chat, keyed, mock_server, spawn_gateway, wait_until_serving

Replica = tuple[subprocess.Popen[bytes], str]


@contextlib.contextmanager
def replicas(configs: list[Path], db: Path) -> Iterator[list[Replica]]:
    """One gateway process per config file, all on the store `db`; stopped cleanly (SIGTERM,
    so every ledger row is written) unless a test killed one."""
    started = [spawn_gateway(config, db) for config in configs]  # they start side by side
    try:
        for process, url in started:
            wait_until_serving(process, url)
        yield started
    finally:
        for process, _ in started:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process, _ in started:
            _, stderr = process.communicate(timeout=30)
            assert process.returncode in (0, -signal.SIGKILL), stderr.decode()


def query(db: Path, sql: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


async def test_two_replicas_on_one_store_admit_exactly_the_request_budget(tmp_path: Path) -> None:
    db = tmp_path / "store.sqlite"
    config = tmp_path / "gateway.yaml"
    with mock_server(tokens=2, ttft_ms=50, precise=False) as (up, stats):
        config.write_text(keyed(up, "{requests_per_day: 20}"))
        with replicas([config, config], db) as started:
            urls = [url for _, url in started]
            async with aiohttp.ClientSession() as s:
                results = await asyncio.gather(
                    *(
                        chat(urls[i % 2], "hi", key=KEY_A, session=s, stream=i % 3 == 0)
                        for i in range(60)
                    )
                )
                other = await chat(urls[1], "hi", key=KEY_B, session=s)
    assert sorted(status for status, _ in results) == [200] * 20 + [429] * 40
    refusal = next(body for status, body in results if status == 429)
    assert refusal["error"]["code"] == "budget_exceeded"
    assert "daily request budget of key 'team-a' (20) is spent" in refusal["error"]["message"]
    assert other[0] == 200  # a key without a budget is not counted against team-a's
    assert stats["requests"] == 21
    use = "SELECT key_name, requests FROM gateway_budget_use ORDER BY key_name"
    assert query(db, use) == [("team-a", 20), ("team-b", 1)]
    assert query(db, "SELECT COUNT(*) FROM gateway_budget_holds") == [(0,)]  # all settled
    served = "SELECT COUNT(*) FROM gateway_requests WHERE key_name = 'team-a' AND status = 200"
    assert query(db, served) == [(20,)]


async def test_two_replicas_never_overspend_a_dollar_budget(tmp_path: Path) -> None:
    # Each answer costs $7 (see `keyed`), and a hold is that much before the answer is known.
    db = tmp_path / "store.sqlite"
    config = tmp_path / "gateway.yaml"
    with mock_server(tokens=3, ttft_ms=30, precise=False) as (up, _):
        config.write_text(keyed(up, "{usd_per_day: 35}"))
        with replicas([config, config], db) as started:
            urls = [url for _, url in started]
            async with aiohttp.ClientSession() as s:
                results = await asyncio.gather(
                    *(
                        chat(urls[i % 2], "hi", key=KEY_A, session=s, max_tokens=3)
                        for i in range(30)
                    )
                )
    assert sum(status == 200 for status, _ in results) == 5
    refusal = next(body for status, body in results if status == 429)
    assert "daily budget of key 'team-a' ($35) is spent" in refusal["error"]["message"]
    spent = query(db, "SELECT SUM(cost_usd) FROM gateway_requests WHERE outcome = 'ok'")
    assert spent == [(35.0,)]
    assert query(db, "SELECT usd, tokens, requests FROM gateway_budget_use") == [(35.0, 20, 5)]


async def until(condition: object, timeout_s: float = 30.0) -> None:
    assert callable(condition)
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_the_hold_of_a_killed_replica_expires(tmp_path: Path) -> None:
    db = tmp_path / "store.sqlite"
    lease = "accounting: {hold_lease_s: 3}\n"
    slow, fast = tmp_path / "slow.yaml", tmp_path / "fast.yaml"
    with (
        mock_server(tokens=2, ttft_ms=600_000, precise=False) as (slow_up, _),
        mock_server(tokens=2) as (fast_up, fast_stats),
    ):
        slow.write_text(keyed(slow_up, "{requests_per_day: 1}", lease))
        fast.write_text(keyed(fast_up, "{requests_per_day: 1}", lease))
        with replicas([slow, fast], db) as [(doomed, doomed_url), (_, survivor)]:
            async with aiohttp.ClientSession() as s:
                pending = asyncio.create_task(chat(doomed_url, "hi", key=KEY_A, session=s))
                holds = "SELECT COUNT(*) FROM gateway_budget_holds"
                await until(lambda: query(db, holds) == [(1,)])
                doomed.kill()  # SIGKILL mid-request: nothing settles its hold
                doomed.wait()
                with contextlib.suppress(aiohttp.ClientError):
                    await pending
                status, body = await chat(survivor, "hi", key=KEY_A, session=s)
                assert status == 429, body  # held by the killed request until the hold expires
                deadline = time.monotonic() + 30
                while status == 429 and time.monotonic() < deadline:
                    await asyncio.sleep(0.2)
                    status, body = await chat(survivor, "hi", key=KEY_A, session=s)
                assert status == 200, body
                assert (await chat(survivor, "hi", key=KEY_A, session=s))[0] == 429  # spent
    assert fast_stats["requests"] == 1


async def test_a_budget_the_store_cannot_check_refuses_then_recovers(tmp_path: Path) -> None:
    db = tmp_path / "store.sqlite"
    open_store(db).close()
    book = StoreBudgetBook({"team-a": Budget(requests_per_day=1)}, None, db, busy_timeout_s=0.2)
    book.start()
    blocker = sqlite3.connect(db, isolation_level=None)
    try:
        blocker.execute("BEGIN EXCLUSIVE")  # another process writing for longer than we wait
        with pytest.raises(BudgetStoreError, match="cannot be written"):
            await book.admit("team-a", "r1", 0.0, 1)
        blocker.execute("ROLLBACK")
        assert isinstance(await book.admit("team-a", "r2", 0.0, 1), Reservation)
        spent = await book.admit("team-a", "r3", 0.0, 1)
        assert spent == "the daily request budget of key 'team-a' (1) is spent"
    finally:
        blocker.close()
        book.close()
    assert query(db, "SELECT COUNT(*) FROM gateway_budget_holds") == [(0,)]  # dropped at close


async def test_rows_the_store_refuses_stay_queued_and_settle_their_holds_once_it_recovers(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # A ledger whose writer died would leave the hold below renewed for the process's life:
    # the key's budget would stay spent. It must keep the row and write it when it can.
    db = tmp_path / "store.sqlite"
    open_store(db).close()
    book = StoreBudgetBook({"team-a": Budget(requests_per_day=1)}, None, db, busy_timeout_s=0.2)
    book.start()
    ledger = Ledger(db, busy_timeout_s=0.2)
    blocker = sqlite3.connect(db, isolation_level=None)
    try:
        hold = await book.admit("team-a", "gw-1", 0.0, 10)
        assert isinstance(hold, Reservation)
        blocker.execute("BEGIN EXCLUSIVE")  # the store refuses writes for longer than we wait
        row = RequestRow(
            id="gw-1", created_at=time.time(), day=utc_day(), key_name="team-a", route="chat",
            backend="primary", attempts=1, outcome="ok", status=200, stream=False,
            input_tokens=4, output_tokens=6, usage_source="server", hold_id="gw-1",
        )  # fmt: skip
        ledger.record(row)
        ledger.write_soon()
        await until(lambda: ledger.failing, timeout_s=10)
        await asyncio.sleep(1.0)  # a few retries, all refused
        assert ledger.failing and ledger.queued == 1
        assert ledger._thread.is_alive()
        blocker.execute("ROLLBACK")
        await until(lambda: ledger.queued == 0, timeout_s=15)  # the backoff is at most 5 s
        assert not ledger.failing
        assert query(db, "SELECT id, outcome FROM gateway_requests") == [("gw-1", "ok")]
        assert query(db, "SELECT COUNT(*) FROM gateway_budget_holds") == [(0,)]
        assert query(db, "SELECT tokens, requests FROM gateway_budget_use") == [(10, 1)]
        spent = await book.admit("team-a", "gw-2", 0.0, 10)
        assert spent == "the daily request budget of key 'team-a' (1) is spent"
    finally:
        blocker.close()
        ledger.close()
        book.close()
    warnings = [r.getMessage() for r in caplog.records if r.name == "llmpick.gateway"]
    assert sum("1 rows not written" in w and "kept and retried" in w for w in warnings) == 1
    assert any("writing again" in w for w in warnings)


def test_a_ledger_closing_while_the_store_refuses_says_what_it_could_not_write(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = tmp_path / "store.sqlite"
    ledger = Ledger(db, busy_timeout_s=0.1)
    blocker = sqlite3.connect(db, isolation_level=None)
    try:
        blocker.execute("BEGIN EXCLUSIVE")
        for i in range(3):
            row = RequestRow(
                id=f"gw-{i}", created_at=time.time(), day=utc_day(), key_name="anonymous",
                route="chat", backend="primary", attempts=1, outcome="ok", status=200,
                stream=False,
            )  # fmt: skip
            ledger.record(row)
        started = time.monotonic()
        ledger.close()  # flush gives up after 10 s, then one last try
        assert time.monotonic() - started < 20
        assert not ledger._thread.is_alive()
    finally:
        blocker.close()
    assert query(db, "SELECT COUNT(*) FROM gateway_requests") == [(0,)]
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert any("stopping with 3 rows not written" in e for e in errors), errors


def test_a_row_the_store_cannot_take_is_dropped_alone_and_its_hold_released(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = tmp_path / "store.sqlite"
    ledger = Ledger(db)
    with contextlib.closing(sqlite3.connect(db, isolation_level=None)) as conn:
        conn.execute(
            "INSERT INTO gateway_budget_holds (id, key_name, day, usd, tokens, holder, expires_at)"
            " VALUES ('gw-bad', 'team-a', ?, 0.0, 10, 'here', ?)",
            (utc_day(), time.time() + 600),
        )

    def row(request_id: str, **fields: object) -> RequestRow:
        return RequestRow(
            id=request_id, created_at=time.time(), day=utc_day(), key_name="team-a",
            route="chat", backend="primary", attempts=1, outcome="ok", status=200,
            stream=False, **fields,  # type: ignore[arg-type]
        )  # fmt: skip

    try:
        ledger.record(row("gw-1"))
        ledger.record(row("gw-bad", latency_s=object(), hold_id="gw-bad"))  # cannot be bound
        ledger.record(row("gw-2"))
        ledger.flush()
        assert ledger.queued == 0 and ledger.dropped == 1 and not ledger.failing
        ledger.record(row("gw-3"))
        ledger.flush()
    finally:
        ledger.close()
    ids = query(db, "SELECT id FROM gateway_requests ORDER BY id")
    assert ids == [("gw-1",), ("gw-2",), ("gw-3",)]
    assert query(db, "SELECT COUNT(*) FROM gateway_budget_holds") == [(0,)]
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1 and "row gw-bad dropped" in errors[0], errors
