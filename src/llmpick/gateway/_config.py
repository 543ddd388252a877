"""The gateway's config (`gateway.yaml`): backends, routes, guardrails, keys and budgets.

Loaded like the spec: every problem is reported at once as `FILE:LINE:COLUMN: field: message`,
with a hint, and names that must refer to something (a route's backends, a cascade's scorer) are
checked with the position of the reference. Defaults are the safe ones: listen on 127.0.0.1,
treat every HTTP backend as a third party (`external: true`) and redact personal data before a
request leaves for one.
"""

from __future__ import annotations

import difflib
import hashlib
import ipaddress
import re
import types
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from llmpick._errors import LlmpickError

# The spec loader's located-error machinery (ruamel positions, pydantic error cleaning).
from llmpick.spec._loader import (
    Problem,
    SpecError,
    _clean_loc,
    _dotted,
    _parse_yaml,
    _Positions,
    _problem_from_error,
)

__all__ = [
    "Auth",
    "Backend",
    "Budget",
    "CascadeCheck",
    "GatewayConfig",
    "GatewayConfigError",
    "Guardrails",
    "HttpEndpoint",
    "LocalModel",
    "OutputChecks",
    "PiiPolicy",
    "PiiType",
    "Price",
    "Route",
    "Shadow",
    "SplitTarget",
    "VirtualKey",
    "gateway_json_schema",
    "hash_key",
    "is_loopback",
    "load_gateway_config",
    "parse_gateway_config",
]

MAX_CONFIG_BYTES = 1024 * 1024

PiiType = Literal["email", "phone", "credit_card", "iban", "ip_address", "national_id"]
PII_TYPES: tuple[PiiType, ...] = typing.get_args(PiiType)


class GatewayConfigError(LlmpickError):
    """The gateway config cannot be used; `problems` lists every reason, with positions."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        first = problems[0].file if problems else "the gateway config"
        super().__init__(f"{len(problems)} problem(s) in {first}")


class _Section(BaseModel):
    """Unknown keys are errors, so a typo never passes silently."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Listen(_Section):
    host: str = Field("127.0.0.1", description="Address to bind; another than loopback needs auth.")
    port: int = Field(8080, ge=0, le=65535, description="TCP port (0: any free port).")


class HttpEndpoint(_Section):
    """A model behind HTTP: any OpenAI-compatible server, or Anthropic's or Gemini's API."""

    base_url: str = Field(description="Server root, e.g. http://127.0.0.1:8000/v1.")
    model: str = Field(description="The model name that server expects.")
    protocol: Literal["openai", "anthropic", "gemini"] = Field(
        "openai", description="Wire protocol: openai (passed through), anthropic or gemini."
    )
    api_key_env: str | None = Field(
        None, description="Environment variable holding the backend's API key (never the key)."
    )
    headers: dict[str, str] = Field(
        default_factory=dict, description="Extra request headers (not for secrets)."
    )

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s]+", value):
            raise ValueError("base_url must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("headers")
    @classmethod
    def _plain_headers(cls, value: dict[str, str]) -> dict[str, str]:
        for name, text in value.items():
            if not re.fullmatch(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+", name):
                raise ValueError(f"header name {name!r} is not a valid HTTP header name")
            if re.search(r"[\r\n\0]", text):
                raise ValueError(f"header {name!r}: a value cannot hold a line break or NUL")
        return value


class LocalModel(_Section):
    """A GGUF run in the gateway's process with llama.cpp (requests queue, one at a time)."""

    model: str = Field(description="A bundled model id (local/smollm2-135m-instruct) or a label.")
    model_path: str | None = Field(None, description="A .gguf file; default: the bundled one.")
    n_threads: int | None = Field(None, ge=1, description="CPU threads; default: all cores.")
    n_ctx: int = Field(4096, ge=64, description="Context window to allocate, tokens.")


class Price(_Section):
    """Your own price for a backend (self-hosted: your cost per token), USD per million tokens."""

    input_usd_per_mtok: float = Field(ge=0, description="USD per million input tokens.")
    output_usd_per_mtok: float = Field(ge=0, description="USD per million output tokens.")
    cached_input_usd_per_mtok: float | None = Field(None, ge=0, description="Cached input.")


class Breaker(_Section):
    """Per-backend circuit breaker: opens after consecutive failures, probes once per cooldown."""

    failure_threshold: int = Field(3, ge=1, description="Consecutive failures that open it.")
    cooldown_s: float = Field(30.0, gt=0, description="Seconds open before one probe request.")


class Backend(_Section):
    name: str = Field(description="The name routes refer to.")
    endpoint: HttpEndpoint | None = Field(None, description="An HTTP backend.")
    local: LocalModel | None = Field(None, description="A model run in-process.")
    external: bool | None = Field(
        None,
        description="A third party: PII guardrails apply before a request leaves for it "
        "(default: true for HTTP backends, false for local models).",
    )
    catalog_id: str | None = Field(None, description="Catalog id whose list prices apply.")
    price: Price | None = Field(None, description="Your own price; wins over the catalog's.")
    connect_timeout_s: float = Field(5.0, gt=0, description="Time allowed to connect.")
    first_token_timeout_s: float = Field(
        30.0, gt=0, description="Longest wait for the first token (a stall falls back)."
    )
    stall_timeout_s: float = Field(30.0, gt=0, description="Longest silence mid-answer.")
    total_timeout_s: float = Field(600.0, gt=0, description="Longest time for one attempt.")
    max_concurrency: int = Field(256, ge=1, description="Most requests in flight to it.")
    breaker: Breaker = Field(default_factory=Breaker, description="Circuit breaker settings.")

    @property
    def is_external(self) -> bool:
        """Whether guardrails treat it as a third party."""
        return self.external if self.external is not None else self.local is None


class SplitTarget(_Section):
    backend: str = Field(description="A backend name.")
    weight: float = Field(1.0, gt=0, description="Relative share of the route's requests.")


class CascadeCheck(_Section):
    """A check of the cheap model's answer; a failed check escalates to the next backend."""

    type: Literal["json", "refusal", "scorer", "rule"] = Field(
        description="json: the answer parses as JSON; refusal: it is not a refusal; scorer: a "
        "scorer from the evaluation registry passes; rule: the patterns below hold."
    )
    scorer: str | None = Field(None, description="Scorer type (type: scorer).")
    options: dict[str, Any] = Field(default_factory=dict, description="The scorer's options.")
    min_value: float | None = Field(
        None, description="Pass when the score is at least this (default: the scorer's verdict)."
    )
    must_match: str | None = Field(None, description="Regex the answer must contain (rule).")
    must_not_match: str | None = Field(None, description="Regex it must not contain (rule).")
    min_chars: int | None = Field(None, ge=0, description="Shortest acceptable answer (rule).")

    @field_validator("must_match", "must_not_match")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a valid regular expression: {exc}") from None
        return value


class Shadow(_Section):
    """Copy a share of the route's requests to a challenger, off the client's path."""

    backend: str = Field(description="The challenger backend.")
    share: float = Field(0.1, ge=0, le=1, description="Share of requests copied (0..1).")
    max_in_flight: int = Field(16, ge=1, description="Copies in flight at most; more are dropped.")


class Route(_Section):
    model: str = Field(description="The model name clients ask for.")
    primary: str | None = Field(None, description="The backend tried first.")
    fallbacks: list[str] = Field(
        default_factory=list, description="Tried in order on errors, timeouts and stalls."
    )
    split: list[SplitTarget] = Field(
        default_factory=list, description="Weighted split instead of `primary` (others fall back)."
    )
    cascade: list[str] = Field(
        default_factory=list, description="Cheap first: escalate to the next when a check fails."
    )
    escalate_when: list[CascadeCheck] = Field(
        default_factory=list, description="Checks of a cascade stage's answer (all must pass)."
    )
    shadow: Shadow | None = Field(None, description="Shadow traffic to a challenger.")

    def chain_names(self) -> list[str]:
        """Every backend the route may use, in the order written."""
        names = [self.primary] if self.primary else []
        names += [t.backend for t in self.split] + list(self.cascade) + list(self.fallbacks)
        return list(dict.fromkeys(names))


class PiiPolicy(_Section):
    redact_for_external: bool = Field(
        True, description="Replace personal data with placeholders before an external backend."
    )
    restore_in_answer: bool = Field(
        True, description="Put the original values back where the answer repeats a placeholder."
    )
    redact_for_local: bool = Field(False, description="Redact for local backends too.")
    types: list[PiiType] = Field(
        default_factory=lambda: list(PII_TYPES), description="What counts as personal data."
    )


class OutputChecks(_Section):
    """Checks of every answer; a failing answer falls back, or is refused when none is left."""

    json_schema: dict[str, Any] | None = Field(None, description="Answers must match it.")
    blocked_terms: list[str] = Field(
        default_factory=list, description="Answers containing one of these (any case) fail."
    )

    @property
    def active(self) -> bool:
        return self.json_schema is not None or bool(self.blocked_terms)


class Guardrails(_Section):
    pii: PiiPolicy = Field(default_factory=PiiPolicy, description="Personal data policy.")
    output: OutputChecks = Field(default_factory=OutputChecks, description="Answer checks.")


class Budget(_Section):
    """Spending caps per key per UTC day; a request past one gets HTTP 429."""

    usd_per_day: float | None = Field(None, ge=0, description="US dollars per day.")
    tokens_per_day: int | None = Field(None, ge=0, description="Input + output tokens per day.")
    requests_per_day: int | None = Field(None, ge=0, description="Requests per day.")


class VirtualKey(_Section):
    name: str = Field(description="Who holds the key (appears in the accounting).")
    sha256: str = Field(
        description="SHA-256 of the key, hex (`llmpick gateway hash-key` prints it); "
        "the key itself is never written down."
    )
    budget: Budget | None = Field(None, description="This key's budget (default: `budget`).")

    @field_validator("sha256")
    @classmethod
    def _hex(cls, value: str) -> str:
        value = value.strip().lower().removeprefix("sha256:")
        if not re.fullmatch(r"[0-9a-f]{64}", value):
            raise ValueError("expected 64 hex digits (the SHA-256 of the key)")
        return value


class Auth(_Section):
    keys: list[VirtualKey] = Field(description="Bearer keys accepted, hashed.")


class Limits(_Section):
    max_request_bytes: int = Field(
        1024 * 1024, ge=1024, description="Largest request body accepted, bytes."
    )
    max_tokens_cap: int | None = Field(
        None, ge=1, description="Largest `max_tokens` a client may ask for."
    )
    shutdown_grace_s: float = Field(
        5.0,
        ge=0,
        description="On stop, how long shadow copies still in flight may take to finish and be "
        "stored; those still running then are dropped, and the log says how many.",
    )


class Accounting(_Section):
    enabled: bool = Field(True, description="Record every request in the store.")
    db: str | None = Field(None, description="SQLite file; default: llmpick's store.")
    hold_lease_s: float = Field(
        30.0,
        ge=1,
        description="How long the budget holds of a replica that stopped (killed) outlive it; "
        "a running replica renews its holds every third of this.",
    )


class GatewayConfig(_Section):
    listen: Listen = Field(default_factory=Listen, description="Where to listen.")
    backends: list[Backend] = Field(min_length=1, description="The models behind the gateway.")
    routes: list[Route] = Field(min_length=1, description="Model names clients ask for.")
    guardrails: Guardrails = Field(default_factory=Guardrails, description="PII and output.")
    auth: Auth | None = Field(None, description="Bearer-token auth (needed off loopback).")
    budget: Budget | None = Field(None, description="Default budget of every key.")
    limits: Limits = Field(default_factory=Limits, description="Request limits.")
    accounting: Accounting = Field(default_factory=Accounting, description="Request ledger.")
    log_bodies: bool = Field(False, description="Log request and answer text (off: never).")

    def backend(self, name: str) -> Backend:
        for backend in self.backends:
            if backend.name == name:
                return backend
        raise KeyError(name)


def hash_key(key: str) -> str:
    """The hex SHA-256 a config stores for a virtual key."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def is_loopback(host: str) -> bool:
    """Whether `host` only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def gateway_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of `gateway.yaml`, for editors."""
    schema = GatewayConfig.model_json_schema(mode="validation")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


# Loading ------------------------------------------------------------------------------------


def load_gateway_config(path: str | Path) -> GatewayConfig:
    """Read and validate a gateway config; raise `GatewayConfigError` listing every problem."""
    path = Path(path)
    name = str(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise GatewayConfigError([Problem(name, 1, 1, "(file)", "file not found")]) from None
    except OSError as exc:
        raise GatewayConfigError(
            [Problem(name, 1, 1, "(file)", f"cannot read: {exc.strerror}")]
        ) from None
    if len(data) > MAX_CONFIG_BYTES:
        raise GatewayConfigError(
            [Problem(name, 1, 1, "(file)", f"file is {len(data)} bytes; at most 1 MiB")]
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise GatewayConfigError(
            [Problem(name, 1, 1, "(file)", "not UTF-8 text", "save the file as UTF-8")]
        ) from None
    return parse_gateway_config(text, name)


def parse_gateway_config(text: str, name: str = "<string>") -> GatewayConfig:
    """Validate gateway YAML held in memory."""
    try:
        raw, positions = _parse_yaml(text, name)
    except SpecError as exc:
        problems = [p for p in exc.problems if not p.message.startswith("expected a mapping")]
        if len(problems) < len(exc.problems):
            problems.append(
                Problem(name, 1, 1, "(root)", "expected a mapping (listen:, backends:, routes:)")
            )
        raise GatewayConfigError(
            [Problem(p.file, p.line, p.column, p.path, p.message) for p in problems]
        ) from None
    try:
        config = GatewayConfig.model_validate(raw)
    except ValidationError as exc:
        raise GatewayConfigError(
            [_problem_from_error(name, err, positions, GatewayConfig) for err in exc.errors()]
        ) from None
    problems = list(_reference_problems(config, name, positions))
    if problems:
        raise GatewayConfigError(problems)
    return config


def _reference_problems(
    config: GatewayConfig, name: str, positions: _Positions
) -> Iterator[Problem]:
    """Names that must exist elsewhere in the config, and settings that contradict each other."""

    def at(loc: tuple[int | str, ...], message: str, hint: str | None = None) -> Problem:
        line, col, _ = positions.find(loc, want_key=False)
        return Problem(name, line, col, _dotted(loc), message, hint)

    names = [b.name for b in config.backends]
    seen: set[str] = set()
    for i, backend in enumerate(config.backends):
        if backend.name in seen:
            yield at(("backends", i, "name"), f"backend {backend.name!r} is defined twice")
        seen.add(backend.name)
        if (backend.endpoint is None) == (backend.local is None):
            yield at(
                ("backends", i),
                "a backend needs exactly one of `endpoint:` or `local:`",
                "endpoint: {base_url: ..., model: ...}  or  local: {model: local/...}",
            )

    def unknown(loc: tuple[int | str, ...], ref: str) -> Problem:
        close = difflib.get_close_matches(ref, names, n=1, cutoff=0.5)
        hint = f"did you mean '{close[0]}'?" if close else f"backends: {', '.join(names)}"
        return at(loc, f"unknown backend {ref!r}", hint)

    models: set[str] = set()
    for i, route in enumerate(config.routes):
        base: tuple[int | str, ...] = ("routes", i)
        if route.model in models:
            yield at((*base, "model"), f"route {route.model!r} is defined twice")
        models.add(route.model)
        ways = sum((route.primary is not None, bool(route.split), bool(route.cascade)))
        if ways != 1:
            yield at(base, "a route needs exactly one of `primary:`, `split:` or `cascade:`")
        if route.primary is not None and route.primary not in names:
            yield unknown((*base, "primary"), route.primary)
        for j, ref in enumerate(route.fallbacks):
            if ref not in names:
                yield unknown((*base, "fallbacks", j), ref)
        for j, target in enumerate(route.split):
            if target.backend not in names:
                yield unknown((*base, "split", j, "backend"), target.backend)
        for j, ref in enumerate(route.cascade):
            if ref not in names:
                yield unknown((*base, "cascade", j), ref)
        if route.cascade and len(route.cascade) < 2:
            yield at((*base, "cascade"), "a cascade needs at least two backends")
        if route.escalate_when and not route.cascade:
            yield at((*base, "escalate_when"), "checks apply to a `cascade:` only")
        for j, check in enumerate(route.escalate_when):
            yield from _check_problems(check, (*base, "escalate_when", j), at)
        if route.shadow is not None and route.shadow.backend not in names:
            yield unknown((*base, "shadow", "backend"), route.shadow.backend)
    for i, key in enumerate(config.auth.keys if config.auth else []):
        if [k.sha256 for k in config.auth.keys].index(key.sha256) != i:  # type: ignore[union-attr]
            yield at(("auth", "keys", i, "sha256"), "the same key hash appears twice")
    if config.auth is not None and not config.auth.keys:
        yield at(("auth", "keys"), "no keys: every request would be refused")
    if not is_loopback(config.listen.host) and config.auth is None:
        yield at(
            ("listen", "host"),
            f"refusing to listen on {config.listen.host} without auth",
            "add `auth: {keys: [...]}` (bearer tokens), or listen on 127.0.0.1",
        )


def _check_problems(
    check: CascadeCheck, loc: tuple[int | str, ...], at: typing.Callable[..., Problem]
) -> Iterator[Problem]:
    if check.type == "scorer":
        if not check.scorer:
            yield at(loc, "a scorer check needs `scorer:` (a scorer type)")
            return
        from llmpick.evaluation._scorers import scorer_class, scorer_kinds

        kinds = scorer_kinds()
        if check.scorer not in kinds:
            close = difflib.get_close_matches(check.scorer, kinds, n=1, cutoff=0.5)
            hint = f"did you mean '{close[0]}'?" if close else f"known: {', '.join(kinds)}"
            yield at((*loc, "scorer"), f"unknown scorer type {check.scorer!r}", hint)
            return
        try:
            scorer_class(check.scorer).Options.model_validate(check.options)
        except ValidationError as exc:
            for err in exc.errors():
                yield at((*loc, "options"), f"{_dotted(_clean_loc(err['loc']))}: {err['msg']}")
    elif check.type == "rule" and not (
        check.must_match or check.must_not_match or check.min_chars is not None
    ):
        yield at(loc, "a rule check needs must_match, must_not_match or min_chars")


# `types` is used by pydantic's annotation resolution of `X | None` under postponed evaluation.
_ = types
