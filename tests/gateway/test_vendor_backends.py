"""Anthropic and Gemini behind the OpenAI API: requests and answers translated both ways by the
providers, against local servers that speak each vendor's protocol."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmpick.testing import (
    ServerThread,
    VendorServerConfig,
    create_anthropic_app,
    create_gemini_app,
)

from .conftest import chat, gateway, stream_text


@pytest.fixture(autouse=True)
def vendor_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_VENDOR_KEY", "test-key")


def vendor_config(protocol: str, base_url: str) -> str:
    return (
        "backends:\n  - name: vendor\n"
        f'    endpoint: {{base_url: "{base_url}", model: test-model, protocol: {protocol}, '
        "api_key_env: TEST_VENDOR_KEY}\n"
        "routes:\n  - {model: chat, primary: vendor}\n"
    )


@pytest.mark.parametrize(
    ("protocol", "factory", "suffix"),
    [("anthropic", create_anthropic_app, ""), ("gemini", create_gemini_app, "/v1beta")],
)
async def test_a_vendor_backend_answers_in_openai_shape(
    db: Path, protocol: str, factory: object, suffix: str
) -> None:
    app = factory(VendorServerConfig(tokens=4))  # type: ignore[operator]
    with (
        ServerThread(app) as vendor,
        gateway(vendor_config(protocol, vendor.url + suffix), db) as gw,
    ):
        status, whole = await chat(gw, "Hi", max_tokens=4)
        assert status == 200, whole
        assert whole["choices"][0]["message"]["content"] == "alpha bravo charlie delta"
        assert whole["usage"]["completion_tokens"] == 4
        status, events = await chat(gw, "Hi", stream=True, usage=True, max_tokens=4)
        assert status == 200
        assert stream_text(events) == "alpha bravo charlie delta"
        assert events[-2]["usage"]["completion_tokens"] == 4
        assert events[-1] == "[DONE]"


async def test_a_vendor_refusing_the_key_falls_back(
    db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_VENDOR_KEY", "wrong")
    from .conftest import capturing_server

    with (
        ServerThread(create_anthropic_app(VendorServerConfig())) as vendor,
        capturing_server() as (backup, seen),
    ):
        text = vendor_config("anthropic", vendor.url).replace(
            "routes:\n  - {model: chat, primary: vendor}\n",
            f'  - name: backup\n    endpoint: {{base_url: "{backup}", model: m}}\n'
            "routes:\n  - {model: chat, primary: vendor, fallbacks: [backup]}\n",
        )
        with gateway(text, db) as gw:
            status, _ = await chat(gw, "Hi")
    assert status == 200
    assert len(seen.bodies) == 1
