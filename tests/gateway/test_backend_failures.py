"""What reaching a backend can raise, as the `BackendError` the router acts on: one mapping for
both calls of both kinds of backend (a pass-through before and during its stream, a provider)."""

from __future__ import annotations

import pytest

from llmpick.gateway import parse_gateway_config
from llmpick.gateway._backends import BackendError, _Failures
from llmpick.gateway._upstream import UpstreamClosed, UpstreamConnectTimeout, UpstreamError
from llmpick.providers import BadRequestError, ServerError

from .conftest import backends_yaml

CONFIG = parse_gateway_config(
    backends_yaml(p="http://127.0.0.1:9/v1") + "routes:\n  - {model: chat, primary: p}\n"
).backends[0]


def failure(phase: str, exc: BaseException) -> BackendError:
    with pytest.raises(BackendError) as raised, _Failures(CONFIG, lambda: "deadline", phase):
        raise exc
    return raised.value


@pytest.mark.parametrize(
    ("phase", "exc", "kind", "message", "fallback"),
    [
        ("request", TimeoutError(), "timeout", "deadline", True),
        ("request", UpstreamConnectTimeout("x"), "timeout", "cannot connect within 5 s", True),
        (
            "request",
            UpstreamClosed("closed early", False),
            "upstream_error",
            "the backend closed early",
            True,
        ),
        (
            "request",
            UpstreamError("bad head"),
            "upstream_error",
            "malformed answer from the backend: bad head",
            True,
        ),
        (
            "request",
            ConnectionRefusedError(),
            "upstream_error",
            "cannot reach the backend: ConnectionRefusedError",
            True,
        ),
        ("stream", TimeoutError(), "timeout", "deadline", True),
        (
            "stream",
            UpstreamClosed("closed early", True),
            "stream_error",
            "the upstream stream was cut off",
            True,
        ),
        (
            "stream",
            ConnectionResetError(),
            "upstream_error",
            "connection to the backend failed: ConnectionResetError",
            True,
        ),
        ("provider", TimeoutError(), "timeout", "deadline", True),
        ("provider", ServerError("boom"), "upstream_error", "boom", True),
        ("provider", BadRequestError("bad"), "invalid_request_error", "bad", False),
    ],
)
def test_each_failure_becomes_the_backend_error_the_router_acts_on(
    phase: str, exc: BaseException, kind: str, message: str, fallback: bool
) -> None:
    error = failure(phase, exc)
    assert (error.kind, str(error), error.fallback) == (kind, message, fallback)
    assert error.__suppress_context__  # the client's log shows ours, not the transport's


def test_what_is_not_a_backend_failure_passes_through_unchanged() -> None:
    own = BackendError("the upstream stream was cut off", kind="stream_error")
    for phase in ("request", "stream", "provider"):
        with pytest.raises(BackendError) as raised, _Failures(CONFIG, lambda: "x", phase):
            raise own
        assert raised.value is own
    # A provider raises ProviderErrors; anything else is a bug, not a reason to fall back.
    with pytest.raises(ConnectionResetError), _Failures(CONFIG, lambda: "x", "provider"):
        raise ConnectionResetError
    with pytest.raises(KeyError), _Failures(CONFIG, lambda: "x", "request"):
        raise KeyError("bug")
