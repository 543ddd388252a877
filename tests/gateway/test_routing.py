"""Routing through the gateway: fallbacks on errors, refused connections and stalls; circuit
breakers; streams never duplicated or silently cut; cascades; weighted splits; concurrency."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import aiohttp

from llmpick.testing import free_port

from .conftest import (
    Captured,
    backends_yaml,
    capturing_server,
    chat,
    fault_proxy,
    gateway,
    mock_server,
    stream_text,
)

ROUTE = """routes:
  - model: chat
    primary: primary
    fallbacks: [backup]
"""


def config(primary: str, backup: str, extra: str = "") -> str:
    return backends_yaml(primary=primary, backup=backup) + extra + ROUTE


async def test_primary_500_falls_back_with_no_client_visible_error(db: Path) -> None:
    with (
        mock_server(tokens=4) as (up, _),
        fault_proxy(up, rate_500=1.0) as (bad, faults),
        capturing_server() as (backup, captured),
        gateway(config(bad, backup), db) as gw,
    ):
        status, body = await chat(gw, "plain question")
        assert status == 200
        assert body["choices"][0]["message"]["content"] == "plain question"
        status, events = await chat(gw, "streamed question", stream=True)
        assert status == 200
        assert stream_text(events) == "streamed question"
        assert events[-1] == "[DONE]"
    assert faults["500"] == 2
    assert len(captured.bodies) == 2


async def test_refused_connections_fall_back(db: Path) -> None:
    nobody = f"http://127.0.0.1:{free_port()}/v1"
    with capturing_server() as (backup, captured), gateway(config(nobody, backup), db) as gw:
        for stream in (False, True):
            status, _ = await chat(gw, "hi", stream=stream)
            assert status == 200
    assert len(captured.bodies) == 2


async def test_a_stall_before_the_first_token_falls_back(db: Path) -> None:
    timeouts = "    first_token_timeout_s: 0.3\n"
    with (
        mock_server(tokens=4) as (up, _),
        fault_proxy(up, rate_stall=1.0, after_events=1) as (
            stalled,
            faults,
        ),
    ):
        text = backends_yaml(primary=stalled, backup="BACKUP").replace(
            "model: test-model}\n  - name: backup",
            "model: test-model}\n" + timeouts + "  - name: backup",
        )
        with (
            capturing_server() as (backup, captured),
            gateway(text.replace("BACKUP", backup) + ROUTE, db) as gw,
        ):
            status, events = await chat(gw, "are you there", stream=True)
    assert status == 200
    assert stream_text(events) == "are you there"
    assert faults["stall"] == 1
    assert len(captured.bodies) == 1


async def test_an_open_breaker_costs_a_request_no_attempt(db: Path) -> None:
    breaker = "    breaker: {failure_threshold: 2, cooldown_s: 600}\n"
    with (
        capturing_server(Captured(status=500)) as (bad, failing),
        capturing_server() as (
            backup,
            captured,
        ),
    ):
        text = backends_yaml(primary=bad, backup=backup).replace(
            "model: test-model}\n  - name: backup",
            "model: test-model}\n" + breaker + "  - name: backup",
        )
        with gateway(text + ROUTE, db) as gw:
            for _ in range(6):
                status, _ = await chat(gw, "hi")
                assert status == 200
            async with aiohttp.ClientSession() as s, s.get(gw + "/metrics") as r:
                metrics = await r.text()
    assert len(failing.bodies) == 2  # the two that opened it; the other four skipped it
    assert len(captured.bodies) == 6
    assert 'llmpick_gateway_breaker_open{backend="primary"} 1' in metrics


async def test_a_stream_cut_after_the_first_token_is_an_error_never_a_retry(db: Path) -> None:
    with (
        mock_server(tokens=8) as (up, _),
        fault_proxy(up, rate_cut=1.0, after_events=3) as (
            cut,
            faults,
        ),
        capturing_server() as (backup, captured),
        gateway(config(cut, backup), db) as gw,
    ):
        status, events = await chat(gw, "tell me", stream=True)
    assert status == 200  # the headers had gone out with the first token
    assert faults["cut"] == 1
    assert "[DONE]" not in events  # not mistaken for a whole answer
    assert events[-1]["error"]["code"] == "stream_cut"
    assert stream_text(events[:-1]).startswith("alpha")
    assert captured.bodies == []  # never repeated on the fallback


async def test_every_backend_failing_is_an_openai_error(db: Path) -> None:
    with (
        capturing_server(Captured(status=503)) as (a, _),
        capturing_server(Captured(status=500)) as (b, _),
        gateway(config(a, b), db) as gw,
    ):
        status, body = await chat(gw, "hi")
    assert status == 502
    assert body["error"]["type"] == "upstream_error"
    assert "no backend of 'chat' answered" in body["error"]["message"]


async def test_a_client_error_is_passed_back_not_retried(db: Path) -> None:
    with (
        mock_server(context_window=10) as (small, _stats),
        capturing_server() as (backup, captured),
        gateway(config(small, backup), db) as gw,
    ):
        status, body = await chat(gw, "a prompt that is far too long for this tiny model")
    assert status == 400
    assert "maximum context length" in body["error"]["message"]
    assert captured.bodies == []


async def test_cascade_escalates_when_the_cheap_answer_fails_its_check(db: Path) -> None:
    strong_answer = Captured(answer=lambda body: '{"label": "positive"}')
    with (
        mock_server(tokens=3) as (cheap, cheap_stats),
        capturing_server(strong_answer) as (
            strong,
            captured,
        ),
    ):
        text = backends_yaml(cheap=cheap, strong=strong) + (
            "routes:\n  - model: chat\n    cascade: [cheap, strong]\n"
            "    escalate_when:\n      - {type: json}\n      - {type: refusal}\n"
        )
        with gateway(text, db) as gw:
            status, body = await chat(gw, "classify: great film")
            assert status == 200
            assert json.loads(body["choices"][0]["message"]["content"]) == {"label": "positive"}
            status, events = await chat(gw, "classify: great film", stream=True, usage=True)
            assert status == 200
            assert json.loads(stream_text(events)) == {"label": "positive"}
            assert events[-2]["usage"]["completion_tokens"] == 5
    assert cheap_stats["requests"] == 2  # tried first both times
    assert len(captured.bodies) == 2


async def test_cascade_keeps_a_cheap_answer_that_passes(db: Path) -> None:
    cheap_answer = Captured(answer=lambda body: '{"ok": true}')
    with (
        capturing_server(cheap_answer) as (cheap, cheap_seen),
        capturing_server() as (
            strong,
            strong_seen,
        ),
    ):
        text = backends_yaml(cheap=cheap, strong=strong) + (
            "routes:\n  - model: chat\n    cascade: [cheap, strong]\n"
            "    escalate_when:\n      - {type: scorer, scorer: json_valid}\n"
            "      - {type: rule, must_not_match: '(?i)error'}\n"
        )
        with gateway(text, db) as gw:
            status, body = await chat(gw, "x")
    assert status == 200
    assert body["choices"][0]["message"]["content"] == '{"ok": true}'
    assert len(cheap_seen.bodies) == 1
    assert strong_seen.bodies == []


async def test_a_weighted_split_sends_both_shares(db: Path) -> None:
    with capturing_server() as (a, seen_a), capturing_server() as (b, seen_b):
        text = backends_yaml(a=a, b=b) + (
            "routes:\n  - model: chat\n    split:\n"
            "      - {backend: a, weight: 3}\n      - {backend: b, weight: 1}\n"
        )
        with gateway(text, db) as gw:
            async with aiohttp.ClientSession() as s:
                for _ in range(200):
                    status, _ = await chat(gw, "hi", session=s)
                    assert status == 200
    assert len(seen_a.bodies) + len(seen_b.bodies) == 200
    assert 110 <= len(seen_a.bodies) <= 190  # 150 expected; far outside means no split


async def test_64_concurrent_streams_all_complete(db: Path) -> None:
    with (
        mock_server(tokens=12, itl_ms=2, precise=False) as (up, stats),
        gateway(
            backends_yaml(primary=up) + "routes:\n  - {model: chat, primary: primary}\n", db
        ) as gw,
    ):
        async with aiohttp.ClientSession() as s:
            results = await asyncio.gather(
                *(chat(gw, f"q{i}", stream=True, usage=True, session=s) for i in range(64))
            )
    assert stats["requests"] == 64
    assert stats["peak_active"] > 1  # they really overlapped
    for status, events in results:
        assert status == 200
        assert events[-1] == "[DONE]"
        assert stream_text(events).split() == [
            "alpha",
            "bravo",
            "charlie",
            "delta",
            "echo",
            "foxtrot",
            "golf",
            "hotel",
            "alpha",
            "bravo",
            "charlie",
            "delta",
        ]
        assert events[-2]["usage"]["completion_tokens"] == 12


async def test_usage_reaches_the_client_only_when_asked(db: Path) -> None:
    with (
        mock_server(tokens=3) as (up, _),
        gateway(
            backends_yaml(primary=up) + "routes:\n  - {model: chat, primary: primary}\n", db
        ) as gw,
    ):
        _, with_usage = await chat(gw, "hi", stream=True, usage=True)
        _, without = await chat(gw, "hi", stream=True)
    assert with_usage[-2]["usage"] == {
        "prompt_tokens": 1,
        "completion_tokens": 3,
        "total_tokens": 4,
    }
    assert not any(isinstance(e, dict) and "usage" in e for e in without)


async def test_a_client_leaving_mid_stream_frees_the_upstream_and_the_breaker(db: Path) -> None:
    with (
        mock_server(tokens=200, itl_ms=5, precise=False) as (up, stats),
        gateway(
            backends_yaml(primary=up) + "routes:\n  - {model: chat, primary: primary}\n", db
        ) as gw,
    ):
        body = {"model": "chat", "stream": True, "messages": [{"role": "user", "content": "x"}]}
        async with (
            aiohttp.ClientSession() as s,
            s.post(gw + "/v1/chat/completions", json=body) as r,
        ):
            await r.content.readline()  # the first event, then hang up
        for _ in range(50):
            if stats["active"] == 0:
                break
            await asyncio.sleep(0.05)
        assert stats["active"] == 0  # the upstream stream was closed, not left running
        status, _ = await chat(gw, "again")
        assert status == 200
        async with aiohttp.ClientSession() as s, s.get(gw + "/metrics") as r:
            assert 'llmpick_gateway_breaker_open{backend="primary"} 0' in await r.text()


async def test_a_cascade_whose_strong_stage_fails_answers_with_the_cheap_one(db: Path) -> None:
    with (
        mock_server(tokens=3) as (cheap, _),
        capturing_server(Captured(status=500)) as (strong, strong_seen),
    ):
        text = backends_yaml(cheap=cheap, strong=strong) + (
            "routes:\n  - model: chat\n    cascade: [cheap, strong]\n"
            "    escalate_when:\n      - {type: json}\n"
        )
        with gateway(text, db) as gw:
            status, body = await chat(gw, "x")
    assert status == 200
    assert body["choices"][0]["message"]["content"] == "alpha bravo charlie"
    assert len(strong_seen.bodies) == 1
