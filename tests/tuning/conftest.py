"""A tiny ticket-routing spec on the bundled SmolLM2, for tuning tests."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

_TICKETS = [
    ("I was charged twice for my plan this month", "billing"),
    ("The app crashes when I open settings", "technical"),
    ("I cannot log in, the reset email never comes", "account"),
    ("My parcel has not arrived after two weeks", "shipping"),
    ("Please refund the duplicate invoice", "billing"),
    ("Error 500 when I upload a file", "technical"),
    ("How do I change the e-mail on my account?", "account"),
    ("The courier left the box at the wrong address", "shipping"),
    ("Why did my card get charged after I cancelled?", "billing"),
    ("The sync stops with a timeout every night", "technical"),
    ("Please delete my account and my data", "account"),
    ("Tracking number shows no movement for days", "shipping"),
    ("Do you have an office in Berlin?", "other"),
    ("The invoice shows the wrong VAT number", "billing"),
    ("Login page loops back to itself", "account"),
    ("Export to CSV produces an empty file", "technical"),
    ("Package arrived damaged", "shipping"),
    ("Can I visit your team for a demo?", "other"),
    ("I need a receipt for last month's payment", "billing"),
    ("Two-factor codes are rejected", "account"),
]

SPEC = """\
version: 1
name: tune-test
candidates:
  - model: local/smollm2-135m-instruct
  - model: openai/gpt-4o-mini
dataset:
  path: tickets.jsonl
  id_field: id
  input_field: ticket
  expected_field: queue
  system_prompt: "Route the ticket to one queue: billing, technical, account, shipping, other."
  template: "Ticket: {{ ticket }}"
  max_output_tokens: 4
"""


def write_ticket_spec(folder: Path) -> Path:
    """Write the 20-ticket dataset and its spec into `folder`; return the spec's path."""
    rows = [{"id": f"T{n:02d}", "ticket": t, "queue": q} for n, (t, q) in enumerate(_TICKETS, 1)]
    (folder / "tickets.jsonl").write_text(
        "".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8"
    )
    path = folder / "llmpick.yaml"
    path.write_text(SPEC, encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def ticket_spec_writer() -> Callable[[Path], Path]:
    """`write_ticket_spec`, for fixtures wider than a function's scope."""
    return write_ticket_spec


@pytest.fixture
def ticket_spec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A spec folder with 20 labelled tickets; adapters go under the test's own LLMPICK_HOME."""
    monkeypatch.setenv("LLMPICK_HOME", str(tmp_path / "home"))
    return write_ticket_spec(tmp_path)
