"""The wire protocols, apart from the connection: pure functions that build a request from
llmpick's neutral types, parse a whole answer, and follow a stream event by event.

One module per protocol: `openai` (which also reads OpenAI requests and writes OpenAI answers,
for a gateway), `anthropic` and `gemini`. The HTTP connection (`HttpProvider`: session, retries,
limits, timeouts, timings) runs any of them; adding a vendor is a wire module plus a small
provider class naming it. Nothing here opens a socket or reads the environment.

    from llmpick.providers import GenerateParams, Message
    from llmpick.providers.wire import anthropic, openai

    request = anthropic.build_request("claude-x", [Message("user", "Hi")], GenerateParams())
    request.path, request.body, request.headers    # no key: anthropic.auth_headers(key) adds it
    state = anthropic.AnthropicStream()
    async for event, data in SseReader().read(response_lines):    # any async byte lines
        text = state.feed(event, data)                            # the new text, or ""
    openai.render_response(state.finish(), request_id="chatcmpl-1", model="claude-x")

tests/providers/test_wire.py forwards an OpenAI request to the Anthropic and Gemini test servers
this way and reads the answer back as an OpenAI stream.
"""

from __future__ import annotations

from llmpick.providers.wire import anthropic, gemini, openai
from llmpick.providers.wire._common import (
    EXCERPT_CHARS,
    Completion,
    Redact,
    SseReader,
    StreamState,
    WireFormat,
    WireRequest,
    as_messages,
    error_for_status,
    excerpt,
    load_json_object,
    model_ids,
    no_redact,
    parse_retry_after,
    split_system,
)

__all__ = [
    "EXCERPT_CHARS",
    "WIRE_FORMATS",
    "Completion",
    "Redact",
    "SseReader",
    "StreamState",
    "WireFormat",
    "WireRequest",
    "anthropic",
    "as_messages",
    "error_for_status",
    "excerpt",
    "gemini",
    "load_json_object",
    "model_ids",
    "no_redact",
    "openai",
    "parse_retry_after",
    "split_system",
]

# Each protocol's functions by name (the `kind` of the provider that speaks it).
WIRE_FORMATS: dict[str, WireFormat] = {
    "openai": openai.WIRE,
    "anthropic": anthropic.WIRE,
    "gemini": gemini.WIRE,
}
