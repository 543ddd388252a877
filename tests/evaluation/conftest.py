"""A scripted OpenAI-compatible server on 127.0.0.1 whose answers the test decides, counting
requests per prompt (the mock server answers with filler tokens, which cannot test quality)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from llmpick.testing import ServerThread
from llmpick.testing.scripted_server import ScriptedServer, last_user_text, scripted_app

__all__ = ["QUEUES", "ScriptedServer", "last_user_text", "oracle", "write_spec", "write_tickets"]

QUEUES = ["billing", "technical", "account", "shipping", "other"]


def oracle(body: dict[str, Any]) -> str:
    """Answers the ticket's queue when the prompt names it, else 'other'."""
    text = last_user_text(body).lower()
    for queue in QUEUES:
        if queue in text:
            return f"{queue.capitalize()}."
    return "other"


@pytest.fixture
def scripted_server() -> Iterator[ScriptedServer]:
    server = ScriptedServer(url="", answer=oracle)
    with ServerThread(scripted_app(server)) as thread:
        server.url = thread.url
        yield server


def write_tickets(folder: Path, n: int = 20) -> Path:
    path = folder / "tickets.jsonl"
    with path.open("w") as handle:
        for i in range(n):
            queue = QUEUES[i % 5]
            # Every third ticket names its queue, so the oracle gets those right.
            text = f"ticket {i} about {queue}" if i % 3 == 0 else f"ticket {i}"
            handle.write(json.dumps({"id": f"t{i}", "ticket": text, "queue": queue}) + "\n")
    return path


def write_spec(folder: Path, candidates: str, extra_scorers: str = "", n: int = 20) -> Path:
    write_tickets(folder, n)
    spec = folder / "llmpick.yaml"
    spec.write_text(
        f"""version: 1
name: test-run
candidates:
{candidates}
dataset:
  path: tickets.jsonl
  id_field: id
  input_field: ticket
  expected_field: queue
  category_field: queue
  template: "Ticket: {{{{ ticket }}}}"
  max_output_tokens: 8
scoring:
  scorers:
    - {{type: choice, name: accuracy, choices: [billing, technical, account, shipping, other]}}
{extra_scorers}  primary: accuracy
"""
    )
    return spec
