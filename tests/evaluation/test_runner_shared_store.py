"""The runner on a store other processes use too, and killed or stopped at awkward moments.

Real processes (`llmpick eval` in a subprocess), a real SQLite file and the project's mock
server on loopback, counting the requests it receives by prompt.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from aiohttp import web

from llmpick.evaluation import PromptError, RunOptions, evaluate, run_async
from llmpick.spec import load_spec
from llmpick.store import StoreError, open_store
from llmpick.testing import MockServerConfig, ServerThread, create_mock_app

from .conftest import last_user_text, write_spec

ITEMS = 60


class CountingServer:
    """The mock server, counting POSTed requests by their last user text. Once `hold_after`
    requests have come in, later ones wait until `gate` is set (a test's pause button)."""

    def __init__(self, config: MockServerConfig) -> None:
        self.requests: Counter[str] = Counter()
        self.hold_after: int | None = None
        self.gate = threading.Event()

        @web.middleware
        async def count(
            request: web.Request,
            handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
        ) -> web.StreamResponse:
            if request.method == "POST":
                self.requests[last_user_text(await request.json())] += 1
                if self.hold_after is not None and sum(self.requests.values()) > self.hold_after:
                    while not self.gate.is_set():
                        await asyncio.sleep(0.01)
            return await handler(request)

        self.app = create_mock_app(config)
        self.app.middlewares.append(count)
        self.url = ""

    def candidate(self, concurrency: int = 4) -> str:
        return (
            f"  - name: mock\n    endpoint: {{base_url: '{self.url}/v1', model: m}}\n"
            f"    max_concurrency: {concurrency}\n"
        )


@pytest.fixture
def server() -> Iterator[CountingServer]:
    counting = CountingServer(MockServerConfig(ttft_ms=20, itl_ms=2, tokens=4))
    with ServerThread(counting.app) as thread:
        counting.url = thread.url
        yield counting


def _eval(spec: Path, db: Path, *args: str, code: str = "") -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        _eval_command(spec, db, *args, code=code),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "COLUMNS": "200"},
    )


def _eval_command(spec: Path, db: Path, *args: str, code: str = "") -> list[str]:
    program = code + "from llmpick.cli import main; main()"
    return [
        sys.executable,
        "-c",
        program,
        "eval",
        str(spec),
        "--db",
        str(db),
        "--no-progress",
        *args,
    ]


def _stored(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(db) as conn:
            return int(conn.execute("SELECT COUNT(*) FROM responses").fetchone()[0])
    except sqlite3.OperationalError:  # tables not created yet
        return 0


def _wait_for_results(db: Path, count: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while _stored(db) < count:
        assert process.poll() is None, process.communicate()[1].decode()
        assert time.monotonic() < deadline, "the run made no progress"
        time.sleep(0.005)


def _runs(db: Path) -> list[tuple[str, str, str | None, int, int]]:
    """(id, status, error, items, accuracy scores) per run."""
    with sqlite3.connect(db) as conn:
        columns = {row[1] for row in conn.execute("PRAGMA table_info(runs)")}
        error = "error" if "error" in columns else "NULL"  # older stores (before the fix)
        return [
            (
                run_id,
                status,
                error,
                conn.execute(
                    "SELECT COUNT(*) FROM item_lists WHERE items_key = ?", (items_key,)
                ).fetchone()[0],
                conn.execute(
                    "SELECT COUNT(*) FROM scores WHERE run_id = ? AND metric = 'accuracy'",
                    (run_id,),
                ).fetchone()[0],
            )
            for run_id, status, error, items_key in conn.execute(
                f"SELECT id, status, {error}, items_key FROM runs ORDER BY created_at, rowid"
            )
        ]


# Kills and signals ------------------------------------------------------------------------

# Kill the process while the run's items are being stored (item 5 of 60): a real SIGKILL at
# the moment the old code had committed the run but not yet its items.
DIE_WHILE_STORING_ITEMS = """
import os, signal
import llmpick.evaluation._runner as runner
_record = runner._item_record
def _dying(item, position):
    if position == 5:
        os.kill(os.getpid(), signal.SIGKILL)
    return _record(item, position)
runner._item_record = _dying
"""


def test_sigkill_between_run_creation_and_item_saving_leaves_no_run_without_items(
    tmp_path: Path, server: CountingServer
) -> None:
    spec = write_spec(tmp_path, server.candidate(), n=ITEMS)
    db = tmp_path / "db.sqlite"
    killed = _eval(spec, db, code=DIE_WHILE_STORING_ITEMS)
    killed.communicate(timeout=60)
    assert killed.returncode == -signal.SIGKILL
    assert all(items == ITEMS for _, _, _, items, _ in _runs(db))  # none, or with its items

    again = _eval(spec, db)
    _out, err = again.communicate(timeout=60)
    assert again.returncode == 0, err.decode()
    [(_, status, _, items, scored)] = [r for r in _runs(db) if r[1] == "finished"]
    assert (status, items, scored) == ("finished", ITEMS, ITEMS)


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGHUP])
def test_sigterm_and_sighup_interrupt_the_run_resumably(
    tmp_path: Path, server: CountingServer, stop: signal.Signals
) -> None:
    spec = write_spec(tmp_path, server.candidate(concurrency=1), n=ITEMS)
    db = tmp_path / "db.sqlite"
    first = _eval(spec, db)
    _wait_for_results(db, 5, first)
    first.send_signal(stop)
    _out, err = first.communicate(timeout=60)
    assert first.returncode == 128 + stop, err.decode()
    assert "Interrupted" in err.decode()
    [(run_id, status, error, items, _)] = _runs(db)
    assert (status, items) == ("interrupted", ITEMS)
    assert error == f"stopped by {stop.name}"

    again = _eval(spec, db)
    _out, err = again.communicate(timeout=60)
    assert again.returncode == 0, err.decode()
    assert _runs(db) == [(run_id, "finished", None, ITEMS, ITEMS)]  # resumed, not restarted
    assert max(server.requests.values()) <= 2  # at most the call in flight at the signal


def test_a_template_error_fails_the_run_with_its_reason(
    tmp_path: Path, server: CountingServer
) -> None:
    spec = write_spec(tmp_path, server.candidate(), n=5)
    text = spec.read_text().replace("Ticket: {{ ticket }}", "Ticket: {{ ticket }} {{ nope }}")
    spec.write_text(text)
    with open_store(tmp_path / "db.sqlite") as store:
        with pytest.raises(PromptError):
            evaluate(load_spec(spec), store)
        [run] = store.list_runs()
    assert run.status == "failed"  # not `running` forever
    assert run.error is not None and "nope" in run.error


# A held lock ---------------------------------------------------------------------------------


def _hold_lock_after(db: Path, results: int, seconds: float) -> threading.Thread:
    """Once `results` responses are stored, hold the write lock for `seconds`."""

    def hold() -> None:
        deadline = time.monotonic() + 60
        while _stored(db) < results and time.monotonic() < deadline:
            time.sleep(0.002)
        conn = sqlite3.connect(db, isolation_level=None)
        conn.execute("BEGIN EXCLUSIVE")
        time.sleep(seconds)
        conn.execute("COMMIT")
        conn.close()

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    return thread


def test_a_lock_held_past_the_busy_timeout_drops_no_result(
    tmp_path: Path, server: CountingServer
) -> None:
    spec = load_spec(write_spec(tmp_path, server.candidate(), n=ITEMS))
    db = tmp_path / "db.sqlite"
    with open_store(db, busy_timeout_s=0.05) as store:
        holder = _hold_lock_after(db, 5, 1.0)  # 20x the busy timeout, mid-run
        outcome = evaluate(spec, store)
        holder.join()
        responses = list(store.responses(outcome.run_id))
        [run] = store.list_runs()
    assert run.status == "finished"
    assert len(responses) == ITEMS and all(r.error is None for r in responses)
    assert _runs(db)[0][4] == ITEMS  # every result scored
    assert sum(server.requests.values()) == ITEMS


def test_a_lock_that_outlasts_the_wait_stops_the_run_resumably(
    tmp_path: Path, server: CountingServer
) -> None:
    spec = load_spec(write_spec(tmp_path, server.candidate(), n=ITEMS))
    db = tmp_path / "db.sqlite"
    with open_store(db, busy_timeout_s=0.05, lock_wait_s=0.3) as store:
        holder = _hold_lock_after(db, 5, 1.5)
        with pytest.raises(StoreError, match=r"could not be stored.*resumes"):
            evaluate(spec, store)
        holder.join()
        [run] = store.list_runs()
        assert run.status in ("running", "interrupted")  # not finished, and resumable
        again = evaluate(spec, store)
        assert again.resumed and again.run_id == run.id
        assert len(list(store.responses(run.id))) == ITEMS
        assert store.get_run(run.id).status == "finished"  # type: ignore[union-attr]


# Two processes, one store ---------------------------------------------------------------


def _wait_until(condition: Callable[[], bool], process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while not condition():
        assert process.poll() is None, process.communicate()[1].decode()
        assert time.monotonic() < deadline, "the second process never got there"
        time.sleep(0.01)


def _claims(db: Path) -> set[str]:
    with sqlite3.connect(db) as conn:
        return {row[0] for row in conn.execute("SELECT DISTINCT holder FROM call_claims")}


@pytest.mark.parametrize(
    "second_args, staggered",
    [((), False), (("--fresh",), True), ((), True)],
    ids=["started-together", "second-fresh-run-mid-way", "second-same-run-mid-way"],
)
def test_two_concurrent_evals_send_each_request_at_most_once(
    tmp_path: Path, server: CountingServer, second_args: tuple[str, ...], staggered: bool
) -> None:
    spec = write_spec(tmp_path, server.candidate(), n=ITEMS)
    db = tmp_path / "db.sqlite"
    stderr = tmp_path / "second.err"
    if staggered:  # the first pauses mid-run until the second is surely running alongside
        server.hold_after = 10
    first = _eval(spec, db)
    if staggered:
        _wait_for_results(db, 5, first)
    with stderr.open("wb") as sink:
        second = subprocess.Popen(
            _eval_command(spec, db, *second_args),
            stdout=subprocess.PIPE,
            stderr=sink,
            env={**os.environ, "COLUMNS": "200"},
        )
    if staggered and second_args:  # the second started its own run and waits on claims
        _wait_until(lambda: len(_runs(db)) == 2, second)
    elif staggered:  # the second found the first's run in progress and waits for it
        _wait_until(lambda: "is in progress in process" in stderr.read_text(), second)
    server.gate.set()
    for process in (first, second):
        _out, err = process.communicate(timeout=120)
        assert process.returncode == 0, (err or b"").decode() + stderr.read_text()
    assert len(server.requests) == ITEMS
    assert max(server.requests.values()) == 1, server.requests.most_common(3)
    runs = _runs(db)
    assert runs and all(r[1:] == ("finished", None, ITEMS, ITEMS) for r in runs)
    assert _claims(db) == set()  # every claim released
    if staggered and second_args:  # a run of its own, answered by the first's calls
        with sqlite3.connect(db) as conn:
            shared = conn.execute(
                "SELECT COUNT(*) FROM responses WHERE run_id = ? AND from_cache = 1",
                (runs[-1][0],),
            ).fetchone()[0]
        assert len(runs) == 2 and shared > 0


# Counting ------------------------------------------------------------------------------------


def test_calls_made_counts_every_http_attempt_retries_included(tmp_path: Path) -> None:
    flaky = CountingServer(MockServerConfig(error_rate=0.3, error_status=503, tokens=2))
    with ServerThread(flaky.app) as thread:
        flaky.url = thread.url
        spec = load_spec(write_spec(tmp_path, flaky.candidate(), n=10))
        with open_store(tmp_path / "db.sqlite") as store:
            outcome = evaluate(spec, store)
    sent = sum(flaky.requests.values())
    assert sent > 10  # some were retried (the mock's errors are seeded)
    assert outcome.calls_made == sent


async def test_a_second_run_waits_for_the_first_then_reuses_it_when_asked(
    tmp_path: Path, server: CountingServer
) -> None:
    spec = load_spec(write_spec(tmp_path, server.candidate(concurrency=1), n=20))
    notices: list[str] = []
    with open_store(tmp_path / "db.sqlite") as store:
        first = asyncio.create_task(run_async(spec, store))
        while sum(server.requests.values()) < 3:
            await asyncio.sleep(0.005)
        second = await run_async(
            spec, store, RunOptions(reuse_finished=True), notice=notices.append
        )
        done = await first
    assert notices and "is in progress" in notices[0]
    assert second.reused and second.run_id == done.run_id  # waited, then reused; no new run
    assert sum(server.requests.values()) == 20
