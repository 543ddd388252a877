"""Every request in the store; budgets exact under concurrency and kept across restarts; custom
prices honoured; bearer-key auth; refusing a public address without it; malformed requests."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import aiohttp
import pytest
from typer.testing import CliRunner

from llmpick.cli import app
from llmpick.gateway import GatewayError, parse_gateway_config, run_gateway

from .conftest import KEY_A, KEY_B, backends_yaml, chat, gateway, keyed, mock_server


def rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    db_conn = sqlite3.connect(db)
    try:
        return db_conn.execute(sql).fetchall()
    finally:
        db_conn.close()


async def test_each_request_is_stored_with_backend_tokens_cost_and_outcome(db: Path) -> None:
    with mock_server(tokens=3) as (up, _), gateway(keyed(up), db) as gw:
        assert (await chat(gw, "hello", key=KEY_A))[0] == 200
        assert (await chat(gw, "hello", key=KEY_A, stream=True))[0] == 200
        assert (await chat(gw, "hello", key=KEY_B, model="nope"))[0] == 404
    stored = rows(
        db,
        "SELECT key_name, route, backend, outcome, status, stream, input_tokens, output_tokens, "
        "usage_source, cost_usd FROM gateway_requests ORDER BY created_at",
    )
    # 1 input token at $1/token plus 3 output tokens at $2/token: the custom price, not free.
    assert stored[0] == ("team-a", "chat", "primary", "ok", 200, 0, 1, 3, "server", 7.0)
    assert stored[1] == ("team-a", "chat", "primary", "ok", 200, 1, 1, 3, "server", 7.0)
    assert stored[2][:5] == ("team-b", "nope", None, "client_error", 404)


@pytest.mark.parametrize("store", [True, False], ids=["in the store", "in memory"])
async def test_a_request_budget_is_exact_under_concurrency(db: Path, store: bool) -> None:
    extra = "" if store else "accounting: {enabled: false}\n"
    with (
        mock_server(tokens=2, ttft_ms=30, precise=False) as (up, stats),
        gateway(keyed(up, "{requests_per_day: 10}", extra), db) as gw,
    ):
        async with aiohttp.ClientSession() as s:
            results = await asyncio.gather(
                *(chat(gw, "hi", key=KEY_A, session=s) for _ in range(40))
            )
            other = await chat(gw, "hi", key=KEY_B, session=s)
    statuses = sorted(status for status, _ in results)
    assert statuses == [200] * 10 + [429] * 30
    refusal = next(body for status, body in results if status == 429)
    assert refusal["error"]["code"] == "budget_exceeded"
    assert "daily request budget of key 'team-a' (10) is spent" in refusal["error"]["message"]
    assert other[0] == 200  # another key's budget is its own
    assert stats["requests"] == 11


async def test_a_dollar_budget_is_never_overspent_and_survives_a_restart(db: Path) -> None:
    # Each answer costs $7 (see `keyed`); reservations hold max_tokens' worth until settled.
    budget = "{usd_per_day: 35}"
    with mock_server(tokens=3, ttft_ms=20, precise=False) as (up, _):
        with gateway(keyed(up, budget), db) as gw:
            async with aiohttp.ClientSession() as s:
                results = await asyncio.gather(
                    *(chat(gw, "hi", key=KEY_A, session=s, max_tokens=3) for _ in range(30))
                )
        spent = rows(db, "SELECT SUM(cost_usd) FROM gateway_requests WHERE outcome = 'ok'")[0][0]
        assert 0 < spent <= 35
        assert sum(status == 200 for status, _ in results) == spent / 7
        with gateway(keyed(up, budget), db) as gw:  # a restart reads the day's spend back
            for _ in range(6):
                status, _ = await chat(gw, "hi", key=KEY_A, max_tokens=3)
            assert status == 429


async def test_auth_refuses_missing_and_wrong_keys(db: Path) -> None:
    with mock_server(tokens=2) as (up, stats), gateway(keyed(up), db) as gw:
        status, body = await chat(gw, "hi")
        assert status == 401
        assert body["error"]["code"] == "invalid_api_key"
        assert (await chat(gw, "hi", key="wrong-" + "z" * 30))[0] == 401
        async with aiohttp.ClientSession() as s:
            async with s.get(gw + "/v1/models") as r:
                assert r.status == 401
            async with s.get(gw + "/v1/models", headers={"Authorization": f"Bearer {KEY_B}"}) as r:
                assert (await r.json())["data"][0]["id"] == "chat"
            async with s.get(gw + "/health") as r:
                assert r.status == 200
    assert stats["requests"] == 0
    keys = rows(db, "SELECT DISTINCT key_name FROM gateway_requests")
    assert KEY_A not in str(keys) and KEY_B not in str(keys)


def test_a_public_address_needs_auth(tmp_path: Path) -> None:
    config = parse_gateway_config(
        backends_yaml(p="http://127.0.0.1:9/v1") + ("routes:\n  - {model: chat, primary: p}\n")
    )
    with pytest.raises(GatewayError, match=r"refusing to listen on 0\.0\.0\.0 without auth"):
        run_gateway(config, host="0.0.0.0", port=0, db_path=tmp_path / "s.sqlite")
    path = tmp_path / "gateway.yaml"
    path.write_text(
        backends_yaml(p="http://127.0.0.1:9/v1") + "routes:\n  - {model: chat, primary: p}\n"
    )
    result = CliRunner().invoke(app, ["gateway", "--config", str(path), "--host", "0.0.0.0"])
    assert result.exit_code == 2
    assert "refusing to listen on 0.0.0.0 without auth" in result.output


async def test_malformed_requests_get_openai_errors_never_tracebacks(db: Path) -> None:
    text = backends_yaml(p="http://127.0.0.1:9/v1") + (
        "routes:\n  - {model: chat, primary: p}\nlimits: {max_request_bytes: 2048}\n"
    )
    cases = [
        (b"{not json", 400, None),
        (b"[1, 2]", 400, None),
        (b'{"model": "chat"}', 400, "invalid_messages"),
        (
            b'{"model": "chat", "messages": [{"role": "user", "content": "x"}], "max_tokens": -1}',
            400,
            "invalid_max_tokens",
        ),
        (b'{"model": "chat", "messages": "hi"}', 400, "invalid_messages"),
        (
            b'{"model": "other", "messages": [{"role": "user", "content": "x"}]}',
            404,
            "model_not_found",
        ),
        (
            b'{"model": "chat", "messages": [{"role": "user", "content": "' + b"x" * 4096 + b'"}]}',
            413,
            "request_too_large",
        ),
    ]
    with gateway(text, db) as gw:
        async with aiohttp.ClientSession() as s:
            for raw, status, code in cases:
                async with s.post(
                    gw + "/v1/chat/completions",
                    data=raw,
                    headers={"Content-Type": "application/json"},
                ) as r:
                    body = await r.json()
                    assert r.status == status, (raw[:40], body)
                    assert set(body["error"]) == {"message", "type", "param", "code"}
                    assert body["error"]["code"] == code
                    assert "Traceback" not in body["error"]["message"]
            async with s.get(gw + "/nowhere") as r:
                assert r.status == 404
                assert (await r.json())["error"]["type"] == "invalid_request_error"
            async with s.get(gw + "/metrics") as r:
                assert "llmpick_gateway_requests_total" in await r.text()
            async with s.get(gw + "/ready") as r:
                assert r.status == 200
