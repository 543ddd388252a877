"""`--from-decision`: the chosen model primary, the runner-up its fallback, read defensively."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from llmpick.cli import app
from llmpick.gateway import GatewayConfigError, config_from_decision

from .conftest import capturing_server, chat, gateway, mock_server

SPEC = """\
version: 1
name: triage
candidates:
  - openai/gpt-4o-mini
  - name: our-vllm
    endpoint: {{base_url: "{chosen}", model: llama}}
  - name: spare-vllm
    endpoint: {{base_url: "{spare}", model: llama}}
"""


def decision(tmp_path: Path, chosen: str, spare: str, **recommendation: object) -> Path:
    (tmp_path / "llmpick.yaml").write_text(SPEC.format(chosen=chosen, spare=spare))
    data = {
        "spec_path": "llmpick.yaml",
        "recommendation": {"status": "chosen", "id": "our-vllm", "runner_up": "spare-vllm",
                           **recommendation},
        "candidates": [
            {"id": "our-vllm", "label": "our-vllm", "deployment": "self-hosted"},
            {"id": "spare-vllm", "label": "spare-vllm", "deployment": "self-hosted"},
            {"id": "openai/gpt-4o-mini", "model_id": "openai/gpt-4o-mini", "deployment": "api"},
        ],
        "future_field": {"ignored": True},
    }  # fmt: skip
    path = tmp_path / "decision.json"
    path.write_text(json.dumps(data))
    return path


async def test_the_chosen_model_is_primary_and_the_runner_up_its_fallback(
    tmp_path: Path,
) -> None:
    with mock_server(tokens=2) as (chosen, stats), capturing_server() as (spare, seen):
        config = config_from_decision(decision(tmp_path, chosen, spare))
        (route, *_) = config.routes
        assert (route.model, route.primary, route.fallbacks) == (
            "default",
            "our-vllm",
            ["spare-vllm"],
        )
        assert not config.backend("our-vllm").is_external  # self-hosted: no redaction needed
        text = config.model_dump_json()
        from llmpick.gateway import parse_gateway_config

        with gateway(json.dumps(json.loads(text)), tmp_path / "s.sqlite") as gw:
            status, body = await chat(gw, "hi", model="default")
            assert status == 200
            assert body["choices"][0]["message"]["content"] == "alpha bravo"
        assert parse_gateway_config(json.dumps(json.loads(text))).routes[1].model == "our-vllm"
    assert stats["requests"] == 1
    assert seen.bodies == []


async def test_an_api_runner_up_is_external_with_catalog_prices(tmp_path: Path) -> None:
    path = decision(
        tmp_path, "http://127.0.0.1:9/v1", "http://127.0.0.1:10/v1", runner_up="openai/gpt-4o-mini"
    )
    config = config_from_decision(path)
    backup = config.backend("openai-gpt-4o-mini")
    assert backup.is_external
    assert backup.catalog_id == "openai/gpt-4o-mini"
    assert backup.endpoint is not None and backup.endpoint.api_key_env == "OPENAI_API_KEY"


def test_a_decision_without_a_recommendation_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "decision.json"
    path.write_text(json.dumps({"recommendation": {"status": "none", "id": None}}))
    with pytest.raises(GatewayConfigError) as caught:
        config_from_decision(path)
    assert "recommends no model" in str(caught.value.problems[0])
    result = CliRunner().invoke(app, ["gateway", "--from-decision", str(path), "--check"])
    assert result.exit_code == 2
    assert "recommendation.id" in result.output


def test_the_cli_checks_a_decision(tmp_path: Path) -> None:
    path = decision(tmp_path, "http://127.0.0.1:9/v1", "http://127.0.0.1:10/v1")
    result = CliRunner().invoke(app, ["gateway", "--from-decision", str(path), "--check"])
    assert result.exit_code == 0, result.output
    assert "routes: default, our-vllm" in result.output
