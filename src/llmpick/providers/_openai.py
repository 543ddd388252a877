"""Any OpenAI-compatible server: OpenAI, vLLM, SGLang, llama.cpp, Ollama, TGI, LM Studio,
OpenRouter, Together, Groq, ... Chat and completions, streamed with usage when the server sends it.

Servers that send no usage in streams (llama.cpp's Python server, older TGI) get counted with the
configured `tokenizer` (labelled "tokenizer"), or else estimated from chunks and characters
(labelled "estimate"). The protocol itself is `llmpick.providers.wire.openai`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from llmpick.providers._http import HttpProvider, HttpProviderConfig
from llmpick.providers.wire import openai

__all__ = ["OpenAIConfig", "OpenAIProvider"]


class OpenAIConfig(HttpProviderConfig):
    """An OpenAI-compatible endpoint."""

    kind: Literal["openai"] = "openai"
    base_url: str = "https://api.openai.com/v1"
    mode: Literal["auto", "chat", "completion"] = Field(
        "auto", description="auto: chat for messages, completions for a raw prompt."
    )
    include_usage: bool = Field(True, description="Ask for usage in streams (stream_options).")
    max_tokens_field: Literal["max_tokens", "max_completion_tokens"] = Field(
        "max_tokens", description="OpenAI's reasoning models need max_completion_tokens."
    )
    wire_options = ("mode", "include_usage", "max_tokens_field")


class OpenAIProvider(HttpProvider):
    """Chat completions (`/chat/completions`) and completions (`/completions`)."""

    kind = "openai"
    config_class = OpenAIConfig
    wire = openai.WIRE
