"""The wire protocols on their own: requests built without secrets, incoming OpenAI requests read
(bad ones refused by field), and a gateway's translation (an OpenAI request answered by the
Anthropic- and Gemini-protocol servers on loopback, rendered back as an OpenAI stream)."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterator

import aiohttp
import pytest

from llmpick.providers import (
    BadRequestError,
    ContextOverflowError,
    GenerateParams,
    Message,
    RateLimitError,
    StreamError,
    wire,
)
from llmpick.providers.wire import anthropic, gemini, openai
from llmpick.testing import (
    ServerThread,
    VendorServerConfig,
    create_anthropic_app,
    create_gemini_app,
)

KEY = "wire-test-key-42"
CONFIG = VendorServerConfig(api_key=KEY, models=["test-model"], tokens=6, context_window=200)
CHAT = [Message("system", "Be brief."), Message("user", "Say hello.")]


# Incoming OpenAI requests: the unhappy paths first ------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"messages": [{"role": "user", "content": "hi"}]}, "`model`"),
        ({"model": "m", "messages": []}, "`messages`"),
        ({"model": "m", "messages": [{"role": "tool", "content": "x"}]}, "`messages[0].role`"),
        ({"model": "m", "messages": [{"role": "user", "content": 5}]}, "`messages[0].content`"),
        (
            {"model": "m", "messages": [{"role": "user", "content": [{"type": "image_url"}]}]},
            "`messages[0].content[0]`",
        ),
        ({"model": "m", "messages": [{"role": "user", "content": "x"}], "max_tokens": 0}, "max_"),
        ({"model": "m", "messages": [{"role": "user", "content": "x"}], "stop": [1]}, "`stop`"),
        ({"model": "m", "messages": [{"role": "user", "content": "x"}], "stream": "yes"}, "stream"),
        ({"model": "m", "messages": [{"role": "u", "content": "x"}], "temperature": "hot"}, "role"),
        (
            {"model": "m", "messages": [{"role": "user", "content": "x"}], "temperature": "1"},
            "temp",
        ),
    ],
)
def test_bad_incoming_request_names_the_field(body: dict, field: str) -> None:
    with pytest.raises(BadRequestError, match=re.escape(field)) as info:
        openai.parse_request(body)
    assert info.value.status == 400


def test_incoming_request_in_neutral_terms() -> None:
    body = {
        "model": "gpt-x",
        "messages": [
            {"role": "developer", "content": "Be brief."},
            {
                "role": "user",
                "content": [{"type": "text", "text": "Say "}, {"type": "text", "text": "hi"}],
            },
        ],
        "max_completion_tokens": 20,
        "stop": "\n",
        "stream": True,
        "stream_options": {"include_usage": True},
        "user": "u-1",
    }
    request = openai.parse_request(body)
    assert request.prompt == [Message("system", "Be brief."), Message("user", "Say hi")]
    assert request.params.max_tokens == 20 and request.params.stop == ("\n",)
    assert request.params.temperature == 1.0  # OpenAI's default, not llmpick's 0
    assert request.params.stream and request.include_usage
    assert request.passthrough == {"user": "u-1"} and request.params.extra == {}
    completion = openai.parse_request({"model": "m", "prompt": ["2+2="]}, chat=False)
    assert completion.prompt == "2+2=" and not completion.chat


# Outgoing requests ---------------------------------------------------------------------------


def test_requests_carry_no_secret_and_keep_the_query_apart() -> None:
    params = GenerateParams(max_tokens=5, stop=("x",), seed=3)
    chat = openai.build_request("m", CHAT, params)
    assert chat.path == "/chat/completions" and chat.stream
    assert chat.body["stream_options"] == {"include_usage": True} and chat.headers == {}
    raw = openai.build_request("m", "2+2=", params, include_usage=False)
    assert raw.path == "/completions" and "stream_options" not in raw.body
    claude = anthropic.build_request("claude", CHAT, params)
    assert claude.body["system"] == "Be brief." and claude.body["stop_sequences"] == ["x"]
    assert dict(claude.headers) == {"anthropic-version": anthropic.DEFAULT_VERSION}
    g = gemini.build_request("gem", CHAT, params)
    assert g.path == "/models/gem:streamGenerateContent" and g.query == (("alt", "sse"),)
    whole = gemini.build_request("models/gem", CHAT, GenerateParams(stream=False))
    assert whole.path == "/models/gem:generateContent" and whole.query == ()
    assert anthropic.auth_headers(KEY) == {"x-api-key": KEY}


def test_excerpts_are_redacted_before_they_are_cut() -> None:
    secret = "sk-" + "s" * 40
    text = "x" * 290 + secret

    def redact(t: str) -> str:
        return t.replace(secret, "***")

    assert "sk-" not in wire.excerpt(text, redact)
    state = openai.OpenAIStream(redact)
    with pytest.raises(StreamError) as info:
        state.feed("message", "y" * 100 + secret)
    assert "sk-" not in str(info.value)
    error = wire.error_for_status(429, '{"error": {"message": "' + text + '"}}', {}, redact=redact)
    assert isinstance(error, RateLimitError) and "sk-" not in str(error)


def test_stream_errors_are_typed() -> None:
    state = anthropic.AnthropicStream()
    with pytest.raises(ContextOverflowError):
        state.feed("error", '{"type": "error", "error": {"message": "prompt is too long"}}')
    with pytest.raises(StreamError, match="finishReason"):
        gemini.GeminiStream().finish()


# A gateway's translation, against the vendor-protocol servers -------------------------------


@pytest.fixture(scope="module")
def anthropic_url() -> Iterator[str]:
    with ServerThread(create_anthropic_app(CONFIG)) as server:
        yield server.url


@pytest.fixture(scope="module")
def gemini_url() -> Iterator[str]:
    with ServerThread(create_gemini_app(CONFIG)) as server:
        yield server.url + "/v1beta"


async def _lines(chunks: list[bytes]) -> AsyncIterator[bytes]:
    for line in b"".join(chunks).splitlines(keepends=True):
        yield line


async def _forward(base_url: str, fmt: wire.WireFormat, body: dict) -> list[bytes]:
    """What a gateway does: read the OpenAI request, call the backend in its protocol, and
    answer with OpenAI stream chunks."""
    incoming = openai.parse_request(body)
    request = fmt.build_request("test-model", incoming.prompt, incoming.params)
    query = "?" + "&".join(f"{k}={v}" for k, v in request.query) if request.query else ""
    headers = {**request.headers, **fmt.auth_headers(KEY)}
    out = openai.ChunkRenderer(
        request_id="chatcmpl-1", model=incoming.model, include_usage=incoming.include_usage
    )
    chunks = [out.start()]
    state = fmt.stream_state(wire.no_redact)
    async with (
        aiohttp.ClientSession() as session,
        session.post(base_url + request.path + query, json=request.body, headers=headers) as resp,
    ):
        assert resp.status == 200
        async for event, data in wire.SseReader().read(resp.content):
            text = state.feed(event, data)
            if text:
                chunks.append(out.text(text))
    completion = state.finish()
    chunks.append(out.end(completion.finish_reason, completion.usage))
    return chunks


@pytest.mark.parametrize("protocol", ["anthropic", "gemini"])
async def test_openai_request_answered_by_another_protocol(
    protocol: str, anthropic_url: str, gemini_url: str
) -> None:
    fmt = wire.WIRE_FORMATS[protocol]
    url = anthropic_url if protocol == "anthropic" else gemini_url
    body = {
        "model": "my-alias",
        "messages": [{"role": "user", "content": "Say hello."}],
        "max_tokens": 4,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    chunks = await _forward(url, fmt, body)
    # The client reads it back as any OpenAI stream.
    back = openai.OpenAIStream()
    async for event, data in wire.SseReader().read(_lines(chunks)):
        back.feed(event, data)
    answer = back.finish()
    assert answer.text == "alpha bravo charlie delta"
    assert answer.finish_reason == "length" and back.complete
    assert answer.usage is not None and answer.usage.output_tokens == 4
    assert answer.model == "my-alias"


def test_whole_answer_rendered_as_openai() -> None:
    raw = b'{"content": [{"type": "text", "text": "hi"}], "stop_reason": "end_turn",'
    raw += b' "usage": {"input_tokens": 3, "output_tokens": 1}}'
    body = openai.render_response(
        anthropic.parse_body(raw), request_id="chatcmpl-2", model="m", created=1
    )
    assert body["choices"][0] == {
        "index": 0,
        "finish_reason": "stop",
        "message": {"role": "assistant", "content": "hi"},
    }
    assert body["usage"] == {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}
    assert openai.parse_body(json.dumps(body).encode()).text == "hi"


def test_errors_rendered_as_openai() -> None:
    status, body = openai.render_error(ContextOverflowError("too long", provider="anthropic"))
    assert status == 400 and body["error"]["code"] == "context_length_exceeded"
    assert body["error"]["message"] == "too long"  # the backend is not named
    assert openai.render_error(StreamError("cut"))[0] == 502


def test_wire_public_api_is_complete() -> None:
    public = {n for n in dir(wire) if not n.startswith("_") and n != "annotations"}
    assert public - set(wire.__all__) == set()
    for module in (openai, anthropic, gemini):
        assert all(hasattr(module, name) for name in module.__all__), module.__name__
        assert module.WIRE is wire.WIRE_FORMATS[module.WIRE.name]
