"""The gateway config: the issue's example loads unchanged; every problem is located."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest
import yaml
from typer.testing import CliRunner

from llmpick.cli import app
from llmpick.gateway import (
    GatewayConfigError,
    gateway_json_schema,
    hash_key,
    load_gateway_config,
    parse_gateway_config,
)

EXAMPLE = """\
listen: {host: 127.0.0.1, port: 8080}
backends:
  - name: primary
    endpoint: {base_url: "http://127.0.0.1:9001/v1", model: test-model}
    external: true            # a third party: guardrails apply before a request leaves
  - name: backup
    endpoint: {base_url: "http://127.0.0.1:9002/v1", model: test-model}
    external: true
routes:
  - model: chat               # the model name clients ask for
    primary: primary
    fallbacks: [backup]
guardrails:
  pii: {redact_for_external: true}
"""


def problems(text: str) -> list[str]:
    with pytest.raises(GatewayConfigError) as caught:
        parse_gateway_config(text, "gateway.yaml")
    return [str(p) for p in caught.value.problems]


def test_the_issue_example_loads_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "gateway.yaml"
    path.write_text(EXAMPLE)
    config = load_gateway_config(path)
    assert [b.name for b in config.backends] == ["primary", "backup"]
    assert config.routes[0].fallbacks == ["backup"]
    assert all(b.is_external for b in config.backends)
    assert config.guardrails.pii.redact_for_external


def test_the_schema_accepts_the_example_and_rejects_a_typo() -> None:
    schema = gateway_json_schema()
    jsonschema.validate(yaml.safe_load(EXAMPLE), schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(yaml.safe_load(EXAMPLE.replace("fallbacks", "fallback")), schema)


def test_an_unknown_key_is_located_with_a_suggestion() -> None:
    found = problems(EXAMPLE.replace("    fallbacks: [backup]", "    fallback: [backup]"))
    assert found == [
        "gateway.yaml:12:5: routes[0].fallback: unknown key (hint: did you mean 'fallbacks'?)"
    ]


def test_an_unknown_backend_is_located_at_the_reference() -> None:
    found = problems(EXAMPLE.replace("fallbacks: [backup]", "fallbacks: [bakup]"))
    assert found == [
        "gateway.yaml:12:17: routes[0].fallbacks[0]: unknown backend 'bakup' "
        "(hint: did you mean 'backup'?)"
    ]


def test_a_public_address_without_auth_is_refused() -> None:
    found = problems(EXAMPLE.replace("host: 127.0.0.1", "host: 0.0.0.0"))
    assert len(found) == 1
    assert found[0].startswith("gateway.yaml:1:16: listen.host: refusing to listen on 0.0.0.0")


def test_a_public_address_with_hashed_keys_is_accepted() -> None:
    text = EXAMPLE.replace("host: 127.0.0.1", "host: 0.0.0.0") + (
        f"auth:\n  keys:\n    - name: team-a\n      sha256: {hash_key('k' * 32)}\n"
    )
    assert parse_gateway_config(text).auth is not None


def test_several_problems_are_all_reported() -> None:
    text = EXAMPLE.replace("port: 8080", "port: eighty").replace(
        "    external: true\nroutes:", "    external: maybe\nroutes:"
    )
    found = problems(text)
    assert len(found) == 2
    assert found[0].startswith("gateway.yaml:1:33: listen.port:")
    assert found[1].startswith("gateway.yaml:8:15: backends[1].external:")


def test_a_key_must_be_a_hash_never_the_key_itself() -> None:
    text = EXAMPLE + "auth:\n  keys:\n    - name: a\n      sha256: my-secret-key\n"
    (found,) = problems(text)
    assert found.startswith("gateway.yaml:18:15: auth.keys[0].sha256:")
    assert "64 hex digits" in found


def test_a_route_needs_one_way_to_pick_its_backend() -> None:
    found = problems(EXAMPLE.replace("    primary: primary\n", ""))
    assert found[0].startswith("gateway.yaml:10:5: routes[0]: a route needs exactly one of")


def test_a_cascade_scorer_must_exist() -> None:
    text = EXAMPLE.replace(
        "    primary: primary\n    fallbacks: [backup]\n",
        "    cascade: [primary, backup]\n    escalate_when:\n"
        "      - {type: scorer, scorer: jsn_valid}\n",
    )
    (found,) = problems(text)
    assert "unknown scorer type 'jsn_valid'" in found
    assert "did you mean 'json_valid'?" in found


def test_the_cli_prints_every_problem_and_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "gateway.yaml"
    path.write_text(EXAMPLE.replace("fallbacks: [backup]", "fallbacks: [bakup]"))
    result = CliRunner().invoke(app, ["gateway", "--config", str(path), "--check"])
    assert result.exit_code == 2
    assert f"{path}:12:17: routes[0].fallbacks[0]: unknown backend 'bakup'" in result.output


def test_the_cli_checks_a_good_config(tmp_path: Path) -> None:
    path = tmp_path / "gateway.yaml"
    path.write_text(EXAMPLE)
    result = CliRunner().invoke(app, ["gateway", "--config", str(path), "--check"])
    assert result.exit_code == 0, result.output
    assert "routes: chat" in result.output


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(GatewayConfigError) as caught:
        load_gateway_config(tmp_path / "nope.yaml")
    assert "file not found" in str(caught.value.problems[0])


def test_hash_key_prints_a_config_entry_with_only_the_hash() -> None:
    key = "a-long-virtual-key-for-team-a"
    result = CliRunner().invoke(app, ["gateway", "hash-key", "--name", "team-a"], input=key + "\n")
    assert result.exit_code == 0, result.output
    assert hash_key(key) in result.output
    assert key not in result.output
    text = EXAMPLE + result.output
    assert parse_gateway_config(text).auth is not None
    short = CliRunner().invoke(app, ["gateway", "hash-key"], input="short\n")
    assert short.exit_code == 2


def test_header_values_cannot_smuggle_lines() -> None:
    text = (
        "backends:\n  - name: p\n    endpoint:\n"
        '      base_url: "http://127.0.0.1:9/v1"\n      model: m\n'
        '      headers: {X-Team: "a\\r\\nInjected: 1"}\n'
        "routes:\n  - {model: chat, primary: p}\n"
    )
    with pytest.raises(GatewayConfigError) as caught:
        parse_gateway_config(text, "gateway.yaml")
    problem = str(caught.value.problems[0])
    assert "gateway.yaml:6" in problem and "line break" in problem
