"""The suite-wide guards themselves: they must be able to fail a test."""

from __future__ import annotations

import os
import socket

import pytest


def test_a_non_loopback_connection_is_refused() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        with pytest.raises(AssertionError, match="loopback"):
            sock.connect(("192.0.2.1", 443))  # TEST-NET-1: never routed


def test_loopback_still_connects() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with socket.create_connection(server.getsockname(), timeout=2):
            pass


def test_developer_keys_are_not_visible() -> None:
    assert "OPENAI_API_KEY" not in os.environ
