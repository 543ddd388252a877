"""The gateway as deployed: `llmpick gateway` in its own process. Rows and log lines are
written in batches off the request path, so a clean stop (SIGTERM) must still write them all."""

from __future__ import annotations

import asyncio
import io
import logging
import signal
import sqlite3
from pathlib import Path

import aiohttp

from llmpick.gateway import BatchedLogHandler

from .conftest import backends_yaml, chat, mock_server, start_gateway


async def test_a_clean_stop_writes_every_ledger_row_and_log_line(tmp_path: Path) -> None:
    db = tmp_path / "store.sqlite"
    with mock_server(tokens=2) as (up, stats):
        config = tmp_path / "gateway.yaml"
        config.write_text(backends_yaml(p=up) + "routes:\n  - {model: chat, primary: p}\n")
        process, url = start_gateway(config, db)
        try:
            async with aiohttp.ClientSession() as s:
                results = await asyncio.gather(*(chat(url, "hi", session=s) for _ in range(300)))
            assert [status for status, _ in results] == [200] * 300
        finally:
            process.send_signal(signal.SIGTERM)
            _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr.decode()
    assert stats["requests"] == 300
    conn = sqlite3.connect(db)
    try:
        sql = "SELECT COUNT(*), COUNT(DISTINCT id) FROM gateway_requests"
        stored = conn.execute(sql).fetchone()
    finally:
        conn.close()
    assert stored == (300, 300)
    lines = [line for line in stderr.decode().splitlines() if "outcome=ok" in line]
    assert len(lines) == 300


def test_the_batched_log_handler_writes_every_record_in_order_and_on_close() -> None:
    stream = io.StringIO()
    handler = BatchedLogHandler(stream, interval_s=60)  # only close() writes here
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger = logging.getLogger("llmpick.test.batched")
    logger.propagate = False
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        for i in range(1000):
            logger.info("line %d", i)
        logger.debug("not at this level")
        assert stream.getvalue() == ""
    finally:
        logger.removeHandler(handler)
        handler.close()
    assert stream.getvalue().splitlines() == [f"INFO line {i}" for i in range(1000)]
