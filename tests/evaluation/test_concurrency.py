"""Latency measured at a concurrency the server can serve, not against its queue.

The mock's one slot answers each request after 150 ms; more requests at once wait their turn,
so at concurrency 16 a request waits up to 15 x 150 ms. The evaluation probes the endpoint with
its own first prompts (no extra calls), runs at the level TTFT holds at and records why.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from llmpick.evaluation import evaluate, summarize_run
from llmpick.evaluation._concurrency import measured_under_queue
from llmpick.spec import load_spec
from llmpick.store import open_store
from llmpick.testing import MockServerConfig, ServerThread, create_mock_app
from llmpick.testing.mock_server import STATS

from .conftest import write_spec

SERVICE_S = 0.15
ITEMS = 12


def _serve(**config: Any) -> Iterator[tuple[str, dict[str, int]]]:
    app = create_mock_app(MockServerConfig(ttft_ms=SERVICE_S * 1000, tokens=2, **config))
    with ServerThread(app) as server:
        yield f"{server.url}/v1", app[STATS]


@pytest.fixture
def one_slot() -> Iterator[tuple[str, dict[str, int]]]:
    yield from _serve(slots=1)


def _run(tmp_path: Path, base_url: str, extra: str = "") -> tuple[float, dict[str, Any]]:
    candidates = f"  - name: served\n    endpoint: {{base_url: '{base_url}', model: m}}\n{extra}"
    spec = load_spec(write_spec(tmp_path, candidates, n=ITEMS))
    with open_store(tmp_path / "db.sqlite") as store:
        outcome = evaluate(spec, store)
        summary = summarize_run(store, outcome.run_id)
        record = next(c for c in store.candidates(outcome.run_id) if c.label == "served")
    p50 = summary.candidate("served").latency["ttft_s"].p50
    assert p50 is not None
    return p50, record.config["latency_concurrency"]


def test_a_one_slot_server_is_measured_at_its_service_time_not_its_queue(
    tmp_path: Path, one_slot: tuple[str, dict[str, int]]
) -> None:
    base_url, stats = one_slot
    p50, evidence = _run(tmp_path, base_url)
    assert p50 < 2 * SERVICE_S, f"p50 TTFT {p50:.3f} s is a queue's (service {SERVICE_S} s)"
    assert evidence["concurrency"] == 1 and evidence["source"] == "probe"
    assert evidence["under_queue"] is False
    assert evidence["single_request_ttft_ms"] == pytest.approx(SERVICE_S * 1000, rel=0.5)
    assert not measured_under_queue(evidence, p50 * 1000)
    assert stats["requests"] == ITEMS  # the probe's answers were the evaluation's own


def test_a_configured_concurrency_is_kept_and_its_queue_is_flagged(
    tmp_path: Path, one_slot: tuple[str, dict[str, int]]
) -> None:
    base_url, stats = one_slot
    p50, evidence = _run(tmp_path, base_url, "    max_concurrency: 16\n")
    assert evidence["concurrency"] == 16 and evidence["source"] == "configured"
    assert p50 > 2 * SERVICE_S  # ten requests queue behind one slot
    assert measured_under_queue(evidence, p50 * 1000)
    assert stats["requests"] == ITEMS


def test_advertised_slots_are_used_without_probing(tmp_path: Path) -> None:
    for base_url, stats in _serve(slots=2, advertise_slots=True):
        _, evidence = _run(tmp_path, base_url)
        assert evidence["source"] == "advertised slots" and evidence["concurrency"] == 2
        assert evidence["advertised_slots"] == 2 and evidence["under_queue"] is False
        assert stats["requests"] == ITEMS


def test_without_a_reference_the_recorded_flag_decides() -> None:
    assert measured_under_queue(None, 5000.0) is False
    assert measured_under_queue({"single_request_ttft_ms": None, "under_queue": True}, 1.0)
    assert not measured_under_queue({"single_request_ttft_ms": 100.0}, 140.0)
    assert measured_under_queue({"single_request_ttft_ms": 100.0}, 160.0)
