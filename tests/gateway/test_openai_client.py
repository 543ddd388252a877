"""The unchanged `openai` package against a gateway process, streaming and not."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from llmpick.testing import ServerProcess

from .conftest import backends_yaml, mock_server

openai = pytest.importorskip("openai")


def gateway_process(config: Path, db: Path) -> ServerProcess:
    """`llmpick gateway --config ...` as a real process on a free port."""
    return ServerProcess(
        lambda port: [
            sys.executable,
            "-c",
            "from llmpick.cli import main; main()",
            "gateway",
            "--config",
            str(config),
            "--port",
            str(port),
            "--db",
            str(db),
        ]
    )


def test_the_openai_client_works_unchanged(tmp_path: Path) -> None:
    config = tmp_path / "gateway.yaml"
    with mock_server(tokens=5) as (up, stats):
        config.write_text(
            backends_yaml(primary=up) + "routes:\n  - {model: chat, primary: primary}\n"
        )
        with gateway_process(config, tmp_path / "store.sqlite") as gw:
            client = openai.OpenAI(base_url=gw.url + "/v1", api_key="unused", max_retries=0)
            whole = client.chat.completions.create(
                model="chat", messages=[{"role": "user", "content": "Hi"}], max_tokens=5
            )
            assert whole.choices[0].message.content == "alpha bravo charlie delta echo"
            assert whole.usage is not None and whole.usage.completion_tokens == 5
            chunks = list(
                client.chat.completions.create(
                    model="chat",
                    messages=[{"role": "user", "content": "Hi"}],
                    stream=True,
                    stream_options={"include_usage": True},
                )
            )
            text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
            assert text == "alpha bravo charlie delta echo"
            assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 5
            legacy = client.completions.create(model="chat", prompt="Once", max_tokens=3)
            assert legacy.choices[0].text == "alpha bravo charlie"
            assert [m.id for m in client.models.list()] == ["chat"]
            with pytest.raises(openai.NotFoundError):
                client.chat.completions.create(
                    model="unknown", messages=[{"role": "user", "content": "Hi"}]
                )
    assert stats["requests"] == 3


def test_a_cut_stream_raises_in_the_openai_client(tmp_path: Path) -> None:
    from llmpick.testing import FaultConfig, ServerThread, create_fault_proxy_app

    config = tmp_path / "gateway.yaml"
    with mock_server(tokens=8) as (up, _):
        proxy = create_fault_proxy_app(
            FaultConfig(upstream=up.removesuffix("/v1"), rate_cut=1.0, after_events=3)
        )
        with ServerThread(proxy) as cut:
            config.write_text(
                backends_yaml(primary=cut.url + "/v1")
                + "routes:\n  - {model: chat, primary: primary}\n"
            )
            with gateway_process(config, tmp_path / "store.sqlite") as gw:
                client = openai.OpenAI(base_url=gw.url + "/v1", api_key="unused", max_retries=0)
                stream = client.chat.completions.create(
                    model="chat", messages=[{"role": "user", "content": "Hi"}], stream=True
                )
                with pytest.raises(openai.APIError, match="cut off"):
                    for _ in stream:
                        pass
