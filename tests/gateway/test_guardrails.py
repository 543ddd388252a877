"""PII guardrails: nothing planted reaches an external backend; local ones may see the original;
placeholders come back restored where policy allows; only counts are logged; output checks."""

from __future__ import annotations

import json
import logging
import random
import sqlite3
from pathlib import Path

import aiohttp
import pytest

from llmpick.gateway import Redactor, find_pii, iban_valid, luhn_valid

from .conftest import Captured, backends_yaml, capturing_server, chat, gateway, stream_text

EMAIL, PHONE, CARD, IBAN = (
    "ana.lopez@example.org",
    "+44 20 7946 0958",
    "4111 1111 1111 1111",
    ("DE89 3704 0044 0532 0130 00"),
)
PLANTED = f"Write to {EMAIL} or call {PHONE}; card {CARD}, IBAN {IBAN}."


def digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def leaked(values: list[str], seen: str) -> list[str]:
    """Planted values found in what a backend saw, raw or with the separators removed."""
    squeezed = seen.replace(" ", "").replace("-", "")
    return [v for v in values if v in seen or v.replace(" ", "").replace("-", "") in squeezed]


def test_checksums_tell_real_numbers_from_look_alikes() -> None:
    assert luhn_valid("4111111111111111")
    assert not luhn_valid("4111111111111112")
    assert iban_valid("DE89 3704 0044 0532 0130 00")
    assert not iban_valid("DE89 3704 0044 0532 0130 01")
    kinds = [m.kind for m in find_pii(PLANTED)]
    assert kinds == ["email", "phone", "credit_card", "iban"]
    assert find_pii("Order 4111 1111 1111 1112 shipped on 2024-05-01 at 10:30.") == []


def test_placeholders_are_consistent_and_restored_across_chunks() -> None:
    redactor = Redactor()
    safe = redactor.redact(f"{EMAIL} and again {EMAIL}, ip 10.1.2.3, ssn 123-45-6789")
    assert safe == "<EMAIL_1> and again <EMAIL_1>, ip <IP_1>, ssn <NATIONAL_ID_1>"
    assert dict(redactor.counts) == {"email": 2, "ip_address": 1, "national_id": 1}
    restorer = redactor.restorer()
    pieces = ["Mail <EMA", "IL_1", "> now", " <IP_", "1>", " <"]
    out = "".join(restorer.feed(p) for p in pieces) + restorer.flush()
    assert out == f"Mail {EMAIL} now 10.1.2.3 <"


async def test_an_external_backend_sees_no_planted_value_and_a_local_one_sees_all(
    db: Path,
) -> None:
    with capturing_server() as (external, ext_seen), capturing_server() as (local, local_seen):
        text = backends_yaml(cloud=external, onprem=local).replace(
            "model: test-model}\n  - name: onprem", "model: test-model}\n  - name: onprem"
        ) + (
            "    external: false\n"
            "routes:\n  - {model: chat, primary: cloud}\n  - {model: private, primary: onprem}\n"
        )
        with gateway(text, db) as gw:
            status, body = await chat(gw, PLANTED)
            assert status == 200
            assert body["choices"][0]["message"]["content"] == PLANTED  # restored for the client
            status, events = await chat(gw, PLANTED, stream=True)
            assert stream_text(events) == PLANTED
            status, body = await chat(gw, PLANTED, model="private")
            assert status == 200
    for seen in ext_seen.bodies:
        sent = seen["messages"][0]["content"]
        assert leaked([EMAIL, PHONE, CARD, IBAN], sent) == []
        assert "<EMAIL_1>" in sent and "<CARD_1>" in sent and "<IBAN_1>" in sent
    assert local_seen.bodies[0]["messages"][0]["content"] == PLANTED


async def test_placeholders_stay_when_restoring_is_off(db: Path) -> None:
    with capturing_server() as (external, _):
        text = backends_yaml(cloud=external) + (
            "routes:\n  - {model: chat, primary: cloud}\n"
            "guardrails:\n  pii: {redact_for_external: true, restore_in_answer: false}\n"
        )
        with gateway(text, db) as gw:
            _, body = await chat(gw, f"mail {EMAIL}")
    assert body["choices"][0]["message"]["content"] == "mail <EMAIL_1>"


def _varied_pii(rng: random.Random) -> tuple[str, list[str]]:
    """A message with planted values in the formats people write them."""
    user = rng.choice(["ana", "j.smith", "li+news", "o_brien"])
    email = f"{user}{rng.randint(1, 999)}@{rng.choice(['example.com', 'mail.co.uk', 'x.io'])}"
    area = rng.randint(200, 899)
    phone = rng.choice(
        [
            f"+1 {area} 555 {rng.randint(1000, 9999)}",
            f"({area}) 555-{rng.randint(1000, 9999)}",
            f"+44 20 {rng.randint(1000, 9999)} {rng.randint(1000, 9999)}",
            f"0{rng.randint(100, 999)} {rng.randint(100000, 999999)}",
        ]
    )
    body = [rng.randint(0, 9) for _ in range(15)]
    body[0] = 4
    for check in range(10):
        if luhn_valid("".join(map(str, [*body, check]))):
            break
    number = "".join(map(str, [*body, check]))
    sep = rng.choice([" ", "-", ""])
    card = sep.join(number[i : i + 4] for i in range(0, 16, 4))
    bban = "".join(str(rng.randint(0, 9)) for _ in range(18))
    check_digits = 98 - int("".join(str(int(c, 36)) for c in bban + "DE00")) % 97
    iban = f"DE{check_digits:02d}{bban}"
    if rng.random() < 0.5:
        iban = " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))
    template = rng.choice(
        [
            "Hi, I'm {e}. My number is {p} and my card {c}. Refund to {i} please.",
            "card={c}; iban={i}; contact: {e} / {p}",
            "Please update: email {e}\nphone {p}\nIBAN {i}\ncard number {c}\nThanks!",
            "{p} is my phone, {e} my mail; pay with {c} or transfer to {i}.",
        ]
    )
    return template.format(e=email, p=phone, c=card, i=iban), [email, phone, card, iban]


async def test_a_thousand_varied_requests_leak_nothing(
    db: Path, caplog: pytest.LogCaptureFixture
) -> None:
    rng = random.Random(7)
    planted: list[str] = []
    with capturing_server() as (external, seen):
        text = backends_yaml(cloud=external) + "routes:\n  - {model: chat, primary: cloud}\n"
        with caplog.at_level(logging.INFO, logger="llmpick.gateway"), gateway(text, db) as gw:
            async with aiohttp.ClientSession() as s:
                for _ in range(1000):
                    message, values = _varied_pii(rng)
                    planted += values
                    status, _ = await chat(gw, message, session=s)
                    assert status == 200
    assert len(seen.bodies) == 1000
    everything = "\n".join(b["messages"][0]["content"] for b in seen.bodies)
    assert leaked(planted, everything) == []
    logs = "\n".join(r.getMessage() for r in caplog.records)
    assert "redactions=" in logs
    assert leaked(planted, logs) == []
    rows = sqlite3.connect(db).execute("SELECT redactions_json FROM gateway_requests").fetchall()
    counts = json.loads(rows[0][0])
    assert counts == {"credit_card": 1, "email": 1, "iban": 1, "phone": 1}


async def test_blocked_terms_fall_back_and_a_schema_refuses(db: Path) -> None:
    bad = Captured(answer=lambda body: "here is the SECRET-PLAN")
    good = Captured(answer=lambda body: '{"answer": 42}')
    with capturing_server(bad) as (a, _), capturing_server(good) as (b, _):
        text = backends_yaml(primary=a, backup=b) + (
            "routes:\n  - {model: chat, primary: primary, fallbacks: [backup]}\n"
            "guardrails:\n  output:\n    blocked_terms: [secret-plan]\n"
            "    json_schema: {type: object, required: [answer]}\n"
        )
        with gateway(text, db) as gw:
            status, body = await chat(gw, "q")
            assert status == 200
            assert json.loads(body["choices"][0]["message"]["content"]) == {"answer": 42}
        only_bad = backends_yaml(primary=a) + (
            "routes:\n  - {model: chat, primary: primary}\n"
            "guardrails:\n  output:\n    blocked_terms: [secret-plan]\n"
        )
        with gateway(only_bad, db) as gw:
            status, body = await chat(gw, "q")
    assert status == 422
    assert body["error"]["type"] == "output_check_failed"
    assert "SECRET" not in body["error"]["message"]
