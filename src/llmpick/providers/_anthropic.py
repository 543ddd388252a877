"""Anthropic's Messages API (`POST /v1/messages`), streamed as server-sent events; the protocol
itself is `llmpick.providers.wire.anthropic`."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from llmpick.providers._http import HttpProvider, HttpProviderConfig
from llmpick.providers.wire import anthropic

__all__ = ["AnthropicConfig", "AnthropicProvider"]


class AnthropicConfig(HttpProviderConfig):
    """Anthropic's API, or a server speaking its Messages protocol."""

    kind: Literal["anthropic"] = "anthropic"
    base_url: str = "https://api.anthropic.com"
    api_key_env: str | None = "ANTHROPIC_API_KEY"
    anthropic_version: str = Field(
        anthropic.DEFAULT_VERSION, description="The `anthropic-version` header."
    )
    default_max_tokens: int = Field(1024, ge=1, description="Sent when params give none.")
    wire_options = ("anthropic_version", "default_max_tokens")


class AnthropicProvider(HttpProvider):
    """Claude models over the Messages API."""

    kind = "anthropic"
    config_class = AnthropicConfig
    wire = anthropic.WIRE
