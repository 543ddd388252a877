"""Which backends a request tries, in which order, and whether an answer is good enough.

- Ordered fallbacks: the route's first backend (its `primary`, a weighted draw from `split`, or
  a cascade's cheapest stage), then the rest in the order written. Each backend is tried at most
  once per request: retrying the one that just failed is what wastes seconds in other gateways.
- Circuit breakers: a backend that failed `failure_threshold` times in a row is skipped for
  `cooldown_s`; then exactly one request probes it (the others keep skipping it), and its outcome
  closes or re-opens the breaker. So once open, a backend costs a request at most one attempt.
- Cascade checks: an answer fails when it is not JSON, is a refusal, fails a registry scorer, or
  breaks a pattern rule; the request then escalates to the next stage.
"""

from __future__ import annotations

import json
import random
import re
import time
from dataclasses import dataclass
from typing import Any, Literal

from llmpick.gateway._config import CascadeCheck, OutputChecks, Route

__all__ = ["AnswerCheck", "CircuitBreaker", "OutputGuard", "plan_attempts"]

BreakerState = Literal["closed", "open", "half_open"]


@dataclass
class CircuitBreaker:
    """Consecutive-failure breaker with one probe per cooldown."""

    failure_threshold: int = 3
    cooldown_s: float = 30.0
    failures: int = 0
    opened_at: float | None = None
    probing: bool = False

    @property
    def state(self) -> BreakerState:
        if self.opened_at is None:
            return "closed"
        return "half_open" if self.probing else "open"

    def allow(self, now: float | None = None) -> bool:
        """Whether a request may try this backend now (taking the one probe when it is due)."""
        if self.opened_at is None:
            return True
        now = time.monotonic() if now is None else now
        if not self.probing and now - self.opened_at >= self.cooldown_s:
            self.probing = True
            return True
        return False

    def record(self, ok: bool, now: float | None = None) -> None:
        """The outcome of an attempt this breaker allowed."""
        if ok:
            self.failures, self.opened_at, self.probing = 0, None, False
            return
        self.failures += 1
        if self.probing or self.failures >= self.failure_threshold:
            self.opened_at = time.monotonic() if now is None else now
            self.probing = False

    def release(self) -> None:
        """An allowed attempt ended with no verdict (the client left): free the probe."""
        self.probing = False


def plan_attempts(route: Route, rng: random.Random) -> list[str]:
    """Backend names in the order this request tries them (breakers not yet applied)."""
    if route.split:
        targets = list(route.split)
        first = rng.choices(targets, weights=[t.weight for t in targets])[0]
        rest = sorted((t for t in targets if t is not first), key=lambda t: -t.weight)
        names = [first.backend, *(t.backend for t in rest)]
    elif route.cascade:
        names = list(route.cascade)
    else:
        names = [route.primary] if route.primary else []
    return list(dict.fromkeys([*names, *route.fallbacks]))


_REFUSAL = re.compile(
    r"^\W*(?:i(?:'m| am) (?:sorry|unable|not able)|i can(?:no|')t (?:help|assist|do|provide)|"
    r"i (?:will not|won't)|sorry,? (?:but )?i|as an ai\b|i must decline|i'm afraid i can)",
    re.IGNORECASE,
)
_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.DOTALL)


def is_refusal(text: str) -> bool:
    """An answer that opens by declining (English phrasings)."""
    return bool(_REFUSAL.search(text[:200]))


def parses_as_json(text: str) -> bool:
    fenced = _FENCE.match(text)
    try:
        json.loads(fenced.group(1) if fenced else text)
    except ValueError:
        return False
    return True


class AnswerCheck:
    """One cascade check, built once per route; `passes` is awaited per answer."""

    def __init__(self, check: CascadeCheck) -> None:
        self.check = check
        self.name = check.scorer if check.type == "scorer" and check.scorer else check.type
        self._scorer: Any = None
        if check.type == "scorer":
            from llmpick.evaluation import build_scorer

            self._scorer = build_scorer(str(check.scorer), options=check.options)
        self._must = re.compile(check.must_match) if check.must_match else None
        self._must_not = re.compile(check.must_not_match) if check.must_not_match else None

    async def passes(self, text: str, prompt: str) -> bool:
        kind = self.check.type
        if kind == "json":
            return parses_as_json(text)
        if kind == "refusal":
            return not is_refusal(text)
        if kind == "rule":
            if self.check.min_chars is not None and len(text.strip()) < self.check.min_chars:
                return False
            if self._must is not None and not self._must.search(text):
                return False
            return not (self._must_not is not None and self._must_not.search(text))
        from llmpick.evaluation import Item, Sample

        sample = Sample(Item("gateway", prompt, None, None, {}, 0), text)
        score = await self._scorer.ascore(sample)
        if self.check.min_value is not None:
            return score.value is not None and score.value >= self.check.min_value
        if score.passed is not None:
            return bool(score.passed)
        return score.value is not None and score.value >= 0.5


class OutputGuard:
    """The output checks every answer must pass: blocked terms and a JSON Schema."""

    def __init__(self, checks: OutputChecks) -> None:
        self.active = checks.active
        self._terms = [t.casefold() for t in checks.blocked_terms]
        self._validator: Any = None
        if checks.json_schema is not None:
            try:
                import jsonschema
            except ImportError:
                from llmpick._errors import LlmpickError

                raise LlmpickError(
                    "guardrails.output.json_schema needs jsonschema: pip install 'llmpick[gateway]'"
                ) from None
            cls = jsonschema.validators.validator_for(checks.json_schema)
            self._validator = cls(checks.json_schema)

    def problem(self, text: str) -> str | None:
        """Why the answer fails the checks, or None when it passes (never quotes the answer)."""
        folded = text.casefold()
        for i, term in enumerate(self._terms):
            if term in folded:
                return f"the answer contains blocked term #{i + 1}"
        if self._validator is not None:
            fenced = _FENCE.match(text)
            try:
                value = json.loads(fenced.group(1) if fenced else text)
            except ValueError:
                return "the answer is not JSON (the output schema needs JSON)"
            error = next(iter(self._validator.iter_errors(value)), None)
            if error is not None:
                where = "/".join(map(str, error.absolute_path)) or "(root)"
                return f"the answer does not match the output schema at {where}"
        return None
