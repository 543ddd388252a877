"""Google's Gemini API (`models/{model}:generateContent`, `:streamGenerateContent?alt=sse`); the
protocol itself is `llmpick.providers.wire.gemini`. The key travels in a header, never in the
URL (URLs end up in logs)."""

from __future__ import annotations

from typing import Literal

from llmpick.providers._http import HttpProvider, HttpProviderConfig
from llmpick.providers.wire import gemini

__all__ = ["GeminiConfig", "GeminiProvider"]


class GeminiConfig(HttpProviderConfig):
    """The Gemini API (Google AI Studio), or a server speaking its protocol."""

    kind: Literal["gemini"] = "gemini"
    base_url: str = "https://generativelanguage.googleapis.com/v1beta"
    api_key_env: str | None = "GEMINI_API_KEY"


class GeminiProvider(HttpProvider):
    """Gemini models over generateContent / streamGenerateContent."""

    kind = "gemini"
    config_class = GeminiConfig
    wire = gemini.WIRE
