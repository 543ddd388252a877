"""A run killed with SIGKILL at a random point, then started again, finishes with every item
scored exactly once and repeats no request for items it had finished (counted by the server)."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web

from llmpick.testing import MockServerConfig, ServerThread, create_mock_app

from .conftest import last_user_text, write_spec

ITEMS = 60
CONCURRENCY = 4


def _eval(spec: Path, db: Path) -> subprocess.Popen[bytes]:
    code = "from llmpick.cli import main; main()"
    return subprocess.Popen(
        [sys.executable, "-c", code, "eval", str(spec), "--db", str(db), "--no-progress"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "COLUMNS": "200"},
    )


def _stored(db: Path) -> set[str]:
    if not db.exists():
        return set()
    try:
        with sqlite3.connect(db) as conn:
            rows = conn.execute("SELECT item_id FROM responses WHERE error IS NULL").fetchall()
    except sqlite3.OperationalError:  # tables not created yet
        return set()
    return {r[0] for r in rows}


def test_sigkill_then_rerun_scores_each_item_once_without_repeating_requests(
    tmp_path: Path,
) -> None:
    requests: Counter[str] = Counter()

    @web.middleware
    async def count(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if request.method == "POST":
            requests[last_user_text(await request.json())] += 1
        return await handler(request)

    app = create_mock_app(MockServerConfig(ttft_ms=15, itl_ms=2, tokens=4))
    app.middlewares.append(count)
    kill_after = random.Random().randint(5, ITEMS - 15)
    with ServerThread(app) as server:
        candidate = (
            f"  - name: mock\n    endpoint: {{base_url: '{server.url}/v1', model: m}}\n"
            f"    max_concurrency: {CONCURRENCY}\n"
        )
        spec = write_spec(tmp_path, candidate, n=ITEMS)
        db = tmp_path / "db.sqlite"
        first = _eval(spec, db)
        deadline = time.monotonic() + 60
        while len(_stored(db)) < kill_after and first.poll() is None:
            assert time.monotonic() < deadline, "the run made no progress"
            time.sleep(0.002)
        first.send_signal(signal.SIGKILL)
        first.wait()
        assert first.returncode == -signal.SIGKILL, f"finished before the kill ({kill_after})"

        done_before = _stored(db)
        requests_before = Counter(requests)
        second = _eval(spec, db)
        _out, err = second.communicate(timeout=60)
        assert second.returncode == 0, err.decode()

    with sqlite3.connect(db) as conn:
        runs = conn.execute("SELECT id, status FROM runs").fetchall()
        scores = conn.execute("SELECT item_id FROM scores WHERE metric = 'accuracy'").fetchall()
        inputs = dict(conn.execute("SELECT item_id, input FROM item_lists").fetchall())
    assert len(runs) == 1 and runs[0][1] == "finished"  # resumed, not started over
    assert sorted(r[0] for r in scores) == sorted(f"t{i}" for i in range(ITEMS))
    for item_id in done_before:
        prompt = "Ticket: " + inputs[item_id]  # the spec's template
        assert requests[prompt] == requests_before[prompt] == 1, f"{item_id} was requested again"
    # Only calls in flight at the kill may be repeated.
    assert sum(requests.values()) <= ITEMS + CONCURRENCY
    assert all(n <= 2 for n in requests.values())
