"""Memory stays flat while the runner evaluates 100,000 items: results stream to the store.

Runs N items (default 100,000) against llmpick's mock OpenAI-compatible server (a separate
process) and prints the runner process's resident memory every 10% of the way, then the peak.
Also summarises the run from the store (statistics over all 100,000 results).

    .venv/bin/python benchmarks/bench_memory.py            # --items 100000 --concurrency 64

Pass criterion printed at the end: peak RSS under 500 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
import tempfile
import time
from pathlib import Path

from llmpick.evaluation import RunOptions, run_async, summarize_run
from llmpick.spec import load_spec
from llmpick.store import open_store
from llmpick.testing import mock_server_process

sys.path.insert(0, str(Path(__file__).parent))
from bench_runner import _write_spec

MB = 1024 * 1024


def _rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        pages = int(handle.read().split()[1])
    return pages * resource.getpagesize() / MB


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


class _MemoryLog:
    """A `ProgressSink` that notes the resident memory every tenth of the run."""

    def __init__(self) -> None:
        self.done = 0
        self.total = 1
        self.next_mark = 0.0
        self.began = time.perf_counter()

    def start(self, label: str, total: int, completed: int, unit: str = "items") -> None:
        self.total, self.done = total, completed

    def advance(self, label: str, amount: int = 1, note: str | None = None) -> None:
        self.done += amount
        if self.done / self.total >= self.next_mark:
            elapsed = time.perf_counter() - self.began
            print(f"  {self.done:>7} items  {elapsed:6.1f} s  RSS {_rss_mb():6.1f} MB", flush=True)
            self.next_mark += 0.1

    def finish(self, label: str, note: str) -> None:
        pass


async def _run(spec: Path, db: Path) -> str:
    log = _MemoryLog()
    with open_store(db) as store:
        outcome = await run_async(load_spec(spec), store, RunOptions(), progress=log)
        print(f"  run finished: {outcome.calls_made} calls, RSS {_rss_mb():.1f} MB")
        summary = summarize_run(store, outcome.run_id)
        accuracy = summary.candidates[0].metrics["accuracy"]
        print(f"  summarised {accuracy.n} items, RSS {_rss_mb():.1f} MB")
        return outcome.run_id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=100_000, help="Items to run.")
    parser.add_argument("--concurrency", type=int, default=64, help="Requests in flight.")
    args = parser.parse_args()
    with mock_server_process("--tokens", "4") as server, tempfile.TemporaryDirectory() as tmp:
        spec = _write_spec(Path(tmp), f"{server.url}/v1", args.items,
                           args.concurrency)  # fmt: skip
        print(f"{args.items} items, concurrency {args.concurrency}; RSS at start "
              f"{_rss_mb():.1f} MB")  # fmt: skip
        asyncio.run(_run(spec, Path(tmp) / "db.sqlite"))
    peak = _peak_mb()
    print(f"peak RSS {peak:.1f} MB (need < 500 MB): {'PASS' if peak < 500 else 'FAIL'}")


if __name__ == "__main__":
    main()
