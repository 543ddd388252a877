"""One gateway process: the request flow from an OpenAI-shaped request to the answer.

Authenticate, check the request, reserve budget, plan the backends (fallbacks, split, cascade),
apply the PII policy per backend, try each at most once (skipping open breakers), check the
answer, stream or return it, then account for it (ledger, budget, metrics) and hand a copy to
the shadow challenger. Every failure the client sees is OpenAI-shaped JSON; a stream that breaks
after the client received part of it ends with an error event and no `[DONE]`, so a cut answer
is never mistaken for a whole one.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import itertools
import json
import logging
import os
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from llmpick._errors import LlmpickError
from llmpick.gateway._backends import (
    Answer,
    BackendError,
    Event,
    GatewayBackend,
    StreamState,
    build_backend,
    request_text,
)
from llmpick.gateway._budgets import (
    BudgetBook,
    BudgetStoreError,
    InMemoryBudgetBook,
    Reservation,
    StoreBudgetBook,
)
from llmpick.gateway._config import GatewayConfig, Route, hash_key
from llmpick.gateway._ledger import Ledger, RequestRow, ShadowRow, redactions_json, utc_day
from llmpick.gateway._metrics import Metrics
from llmpick.gateway._openai_api import (
    ClientError,
    chunk,
    completion,
    error_response,
    read_body,
    replay,
    sse,
    validate_request,
    wants_usage,
)
from llmpick.gateway._pii import Redactor
from llmpick.gateway._routing import AnswerCheck, CircuitBreaker, OutputGuard, plan_attempts
from llmpick.providers import PriceSheet, Usage, cost_usd

__all__ = ["Gateway", "GatewayError"]

log = logging.getLogger("llmpick.gateway")
# One line per request: counts, timings and outcome, never the text.
_LINE = (
    "%s key=%s route=%s backend=%s status=%s outcome=%s attempts=%d latency_ms=%.1f "
    "tokens=%s/%s redactions=%s"
)


class GatewayError(LlmpickError):
    """The gateway cannot start as configured."""


@dataclass
class _Outcome:
    """What one request did, for the ledger, the metrics, the budget and the shadow copy."""

    backend: str | None = None
    attempts: int = 0
    outcome: str = "error"
    status: int = 502
    text: str = ""
    input_tokens: int | None = None
    output_tokens: int | None = None
    usage_source: str | None = None
    ttft_s: float | None = None
    error_type: str | None = None
    redactions: dict[str, int] = field(default_factory=dict)


class Gateway:
    """The state one gateway process keeps: backends, breakers, budgets, ledger and metrics."""

    def __init__(self, config: GatewayConfig, db_path: str | Path | None = None) -> None:
        self.config = config
        self.backends: dict[str, GatewayBackend] = {
            b.name: build_backend(b) for b in config.backends
        }
        self.breakers = {
            b.name: CircuitBreaker(b.breaker.failure_threshold, b.breaker.cooldown_s)
            for b in config.backends
        }
        self.routes = {r.model: r for r in config.routes}
        self.checks = {r.model: [AnswerCheck(c) for c in r.escalate_when] for r in config.routes}
        self.guard = OutputGuard(config.guardrails.output)
        self.prices = _prices(config)
        self.metrics = Metrics()
        self.rng = random.Random()
        self.keys = {k.sha256: k.name for k in config.auth.keys} if config.auth else {}
        budgets = {k.name: k.budget for k in (config.auth.keys if config.auth else [])}
        self.ledger: Ledger | None = None
        self.budgets: BudgetBook
        if config.accounting.enabled:
            from llmpick.store import default_db_path

            path = db_path or config.accounting.db or default_db_path()
            self.ledger = Ledger(path)
            # In the store: every replica on this file shares the budgets, and a restart
            # continues the day's spend.
            self.budgets = StoreBudgetBook(
                budgets, config.budget, path, hold_lease_s=config.accounting.hold_lease_s
            )
        else:
            self.budgets = InMemoryBudgetBook(budgets, config.budget)
        # Routes without a weighted split try the same backends every time: planned once.
        self._plans = {r.model: plan_attempts(r, self.rng) for r in config.routes if not r.split}
        # Request ids: a random prefix per process (replicas and restarts differ) and a counter.
        self._id_prefix = "gw-" + os.urandom(6).hex()
        self._ids = itertools.count()
        self.in_flight = 0
        self.shadow_in_flight: dict[str, int] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._check_budgets()

    def _check_budgets(self) -> None:
        wants_usd = (self.config.budget and self.config.budget.usd_per_day is not None) or any(
            k.budget and k.budget.usd_per_day is not None
            for k in (self.config.auth.keys if self.config.auth else [])
        )
        unpriced = [name for name, price in self.prices.items() if price is None]
        if wants_usd and unpriced:
            raise GatewayError(
                f"a usd_per_day budget cannot count backends without a price: {', '.join(unpriced)}"
                " (give each `price:` or a `catalog_id` with list prices)"
            )

    async def start(self) -> None:
        self.budgets.start()
        for backend in self.backends.values():
            await backend.start()

    async def stop(self) -> None:
        # By now the server has stopped taking requests and its handlers are done, so every
        # copy knows what the client got. Cancelling them at once would lose the pairs of the
        # last requests served; a copy stuck on a slow challenger must not hold the stop either.
        grace = self.config.limits.shutdown_grace_s
        pending = set(self._tasks)
        if pending and grace > 0:
            _, pending = await asyncio.wait(pending, timeout=grace)
        if pending:
            log.warning(
                "stopping: %d shadow copies still in flight after %.1f s dropped "
                "(limits.shutdown_grace_s)",
                len(pending),
                grace,
            )
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        for backend in self.backends.values():
            with contextlib.suppress(Exception):
                await backend.aclose()
        loop = asyncio.get_running_loop()
        if self.ledger is not None:
            await loop.run_in_executor(None, self.ledger.close)  # settles every hold it writes
        await loop.run_in_executor(None, self.budgets.close)

    # Requests -----------------------------------------------------------------------------

    def authenticate(self, request: web.Request) -> str:
        """The key's name; raises `ClientError(401)` when auth is on and the key is not known."""
        if not self.keys:
            return "anonymous"
        header = request.headers.get("Authorization", "")
        token = header[7:].strip() if header[:7].lower() == "bearer " else ""
        digest = hash_key(token) if token else ""
        for known, name in self.keys.items():
            if digest and hmac.compare_digest(known, digest):
                return name
        raise ClientError(
            401,
            "missing or unknown API key: send `Authorization: Bearer <key>`",
            "invalid_request_error",
            "invalid_api_key",
        )

    async def handle(self, request: web.Request, chat: bool) -> web.StreamResponse:
        started = time.perf_counter()
        request_id = f"{self._id_prefix}{next(self._ids):08x}"
        key = "anonymous"
        route_name: str | None = None
        body: dict[str, Any] = {}
        out = _Outcome()
        reservation: Reservation | None = None
        shadow: asyncio.Future[_Outcome] | None = None
        self.in_flight += 1
        try:
            key = self.authenticate(request)
            body = await read_body(request, self.config.limits.max_request_bytes)
            validate_request(body, chat, self.config.limits.max_tokens_cap)
            route_name = body["model"]
            route = self.routes.get(body["model"])
            if route is None:
                raise ClientError(
                    404,
                    f"model {route_name!r} is not served here; models: {', '.join(self.routes)}",
                    "invalid_request_error",
                    "model_not_found",
                )
            if self.budgets.budget_of(key) is not None:  # no budget: no wait, no store write
                reservation = await self._admit(key, route, body, request_id, out)
            shadow = self._maybe_shadow(route, body, chat)
            response = await self._serve(request, route, body, chat, out, request_id)
            if not response.prepared:
                # Sent now, before the accounting in `finally`: the client's answer does not
                # wait for the budget, the metrics, the log line and the ledger row.
                await response.prepare(request)
                await response.write_eof()
            return response
        except ClientError as exc:
            if out.outcome != "refused":
                out.outcome = "client_error"
            out.status = exc.status
            out.error_type = exc.code or exc.kind
            return error_response(exc.status, str(exc), exc.kind, exc.code, request_id)
        finally:
            self.in_flight -= 1
            if shadow is not None and not shadow.done():
                shadow.set_result(out)  # the copy is stored beside what the client got
            self._finish(request_id, key, route_name, body, chat, out, reservation, started)

    async def _admit(
        self, key: str, route: Route, body: dict[str, Any], request_id: str, out: _Outcome
    ) -> Reservation:
        """A reservation against the key's budget; raises `ClientError` when it is spent (429)
        or cannot be checked (503)."""
        max_tokens = body.get("max_completion_tokens") or body.get("max_tokens") or 256
        estimate_in = len(request_text(body)) // 4 + 1
        usage = Usage(estimate_in, int(max_tokens), "estimate")
        costs = [cost_usd(usage, self.prices.get(name)) or 0.0 for name in route.chain_names()]
        try:
            admitted = await self.budgets.admit(
                key, request_id, max(costs, default=0.0), estimate_in + int(max_tokens)
            )
        except BudgetStoreError:
            out.outcome, out.status = "refused", 503
            raise ClientError(
                503,
                f"the budget of key {key!r} cannot be checked now (the gateway's store is "
                "unavailable); retry later",
                "server_error",
                "budget_unavailable",
            ) from None
        if isinstance(admitted, str):
            out.outcome, out.status = "refused", 429
            raise ClientError(429, admitted, "insufficient_quota", "budget_exceeded")
        return admitted

    async def _serve(
        self,
        request: web.Request,
        route: Route,
        body: dict[str, Any],
        chat: bool,
        out: _Outcome,
        request_id: str,
    ) -> web.StreamResponse:
        stream = bool(body.get("stream"))
        buffered = bool(route.cascade) or self.guard.active
        checks = self.checks[route.model]
        order = self._plans.get(route.model) or plan_attempts(route, self.rng)
        last_error: BackendError | None = None
        skipped: list[str] = []
        # A cascade stage's answer that failed a check still beats no answer at all.
        escalated: tuple[Answer, GatewayBackend, Redactor | None] | None = None
        for position, name in enumerate(order):
            breaker = self.breakers[name]
            if not breaker.allow():
                skipped.append(name)
                continue
            backend = self.backends[name]
            redactor, sent = self._guard_request(backend, body)
            out.backend = name
            out.attempts += 1
            verdict: bool | None = None
            try:
                if stream and not buffered:
                    response, verdict = await self._stream(
                        request, backend, sent, chat, redactor, out, request_id, body
                    )
                    return response
                answer = await backend.complete(sent, chat)
                verdict = True
                problem = self.guard.problem(answer.text) if self.guard.active else None
                if problem is not None:
                    raise BackendError(problem, kind="output_check_failed", status=422)
                is_last_stage = position == len(order) - 1
                if route.cascade and not is_last_stage and name in route.cascade:
                    prompt = request_text(body)
                    failed = [c.name for c in checks if not await c.passes(answer.text, prompt)]
                    if failed:
                        escalated = (answer, backend, redactor)
                        self.metrics.inc(
                            "llmpick_gateway_attempts_total", backend=name, result="escalated"
                        )
                        log.info(
                            "%s escalated from %s: failed %s", request_id, name, ",".join(failed)
                        )
                        continue
                self.metrics.inc("llmpick_gateway_attempts_total", backend=name, result="ok")
                return self._answer(answer, backend, redactor, chat, stream, body, out, request_id)
            except BackendError as exc:
                # A failed output check or the client's own mistake says nothing against the
                # backend's health; only its errors, timeouts and cut streams count.
                verdict = exc.kind == "output_check_failed" or not exc.fallback
                last_error = exc
                self.metrics.inc("llmpick_gateway_attempts_total", backend=name, result=exc.kind)
                log.info("%s attempt on %s failed: %s", request_id, name, exc.kind)
                if not exc.fallback:
                    out.error_type = exc.kind
                    out.outcome, out.status = "client_error", exc.status
                    if exc.body:
                        return web.Response(
                            body=exc.body, status=exc.status, content_type="application/json"
                        )
                    return error_response(exc.status, str(exc), exc.kind, None, request_id)
            finally:
                if verdict is None:
                    breaker.release()
                else:
                    breaker.record(verdict)
        if escalated is not None:
            answer, backend, redactor = escalated
            log.info("%s every later stage failed: answering with %s", request_id, backend.name)
            out.backend = backend.name
            return self._answer(answer, backend, redactor, chat, stream, body, out, request_id)
        out.outcome = "error"
        if last_error is None:
            out.status, out.error_type = 503, "circuit_open"
            return error_response(
                503,
                f"every backend of {route.model!r} is unavailable (circuit open: "
                f"{', '.join(skipped)}); retry later",
                "upstream_unavailable",
                "circuit_open",
                request_id,
            )
        out.status = 422 if last_error.kind == "output_check_failed" else 502
        out.error_type = last_error.kind
        return error_response(
            out.status,
            f"no backend of {route.model!r} answered: {last_error}",
            last_error.kind,
            None,
            request_id,
        )

    def _guard_request(
        self, backend: GatewayBackend, body: dict[str, Any]
    ) -> tuple[Redactor | None, dict[str, Any]]:
        """The body as this backend may see it, and the redactor that made it (None: original)."""
        policy = self.config.guardrails.pii
        external = backend.config.is_external
        if not (policy.redact_for_external if external else policy.redact_for_local):
            return None, body
        redactor = Redactor(types=policy.types)
        sent = dict(body)
        if "messages" in body:
            messages = []
            for m in body["messages"]:
                content = m.get("content")
                if isinstance(content, str):
                    m = {**m, "content": redactor.redact(content)}
                elif isinstance(content, list):
                    m = {
                        **m,
                        "content": [
                            {**p, "text": redactor.redact(p["text"])}
                            if isinstance(p, dict) and isinstance(p.get("text"), str)
                            else p
                            for p in content
                        ],
                    }
                messages.append(m)
            sent["messages"] = messages
        elif isinstance(body.get("prompt"), str):
            sent["prompt"] = redactor.redact(body["prompt"])
        if not redactor.redacted:
            return None, body
        return redactor, sent

    def _restores(self, redactor: Redactor | None) -> bool:
        return redactor is not None and self.config.guardrails.pii.restore_in_answer

    def _answer(
        self,
        answer: Answer,
        backend: GatewayBackend,
        redactor: Redactor | None,
        chat: bool,
        stream: bool,
        body: dict[str, Any],
        out: _Outcome,
        request_id: str,
    ) -> web.StreamResponse:
        text = answer.text
        if self._restores(redactor):
            assert redactor is not None
            text = redactor.restore(text)
        if redactor is not None:
            out.redactions = dict(redactor.counts)
        out.outcome, out.status, out.text = "ok", 200, text
        out.input_tokens, out.output_tokens = answer.input_tokens, answer.output_tokens
        out.usage_source = answer.usage_source
        usage = {
            "prompt_tokens": answer.input_tokens or 0,
            "completion_tokens": answer.output_tokens or 0,
            "total_tokens": (answer.input_tokens or 0) + (answer.output_tokens or 0),
        }
        headers = {"x-request-id": request_id, "x-llmpick-backend": backend.name}
        if stream:  # a buffered stream (cascade or output checks): the checked answer as SSE
            resp_body = b"".join(
                sse(chunk(request_id, answer.model, chat, text=t, finish=f, usage=u))
                for t, f, u in replay(text, answer.finish, usage, wants_usage(body))
            )
            return web.Response(
                body=resp_body + b"data: [DONE]\n\n",
                headers={
                    **headers,
                    "Content-Type": "text/event-stream",
                    "Cache-Control": "no-cache",
                },
            )
        if answer.raw is not None and text == answer.text:
            return web.Response(body=answer.raw, headers=headers, content_type="application/json")
        payload = answer.payload or completion(
            request_id, answer.model, chat, text, answer.finish, usage
        )
        if answer.payload is not None:
            choice = payload["choices"][0]
            if chat:
                choice["message"]["content"] = text
            else:
                choice["text"] = text
        return web.json_response(payload, headers=headers)

    async def _stream(
        self,
        request: web.Request,
        backend: GatewayBackend,
        sent: dict[str, Any],
        chat: bool,
        redactor: Redactor | None,
        out: _Outcome,
        request_id: str,
        body: dict[str, Any],
    ) -> tuple[web.StreamResponse, bool]:
        """Stream one backend's answer; until its first token nothing reaches the client, so a
        failure before it falls back. After it, a failure ends the stream with an error event."""
        state = StreamState()
        usage_asked = wants_usage(body)
        restorer = redactor.restorer() if self._restores(redactor) and redactor else None
        if redactor is not None:
            out.redactions = dict(redactor.counts)
        pending: list[bytes] = []
        resp: web.StreamResponse | None = None
        model = backend.name
        usage_sent = False
        started = time.perf_counter()
        events = backend.stream(sent, chat, state)
        try:
            async for event in events:
                data = self._encode(event, request_id, model, chat, restorer, usage_asked)
                if event.usage is not None and usage_asked and data:
                    usage_sent = True
                if event.payload is not None and event.payload.get("model"):
                    model = str(event.payload["model"])
                if data:
                    pending.append(data)
                if resp is None and (state.first_token_at is not None or event.finish):
                    resp = web.StreamResponse(
                        headers={
                            "Content-Type": "text/event-stream",
                            "Cache-Control": "no-cache",
                            "x-request-id": request_id,
                            "x-llmpick-backend": backend.name,
                        }
                    )
                    await resp.prepare(request)
                if resp is not None and pending and not event.more:
                    await resp.write(b"".join(pending))
                    pending.clear()
        except (ConnectionResetError, asyncio.CancelledError):
            out.outcome, out.status, out.error_type = "client_gone", 499, "client_disconnected"
            self._usage_of(state, out, sent)
            raise
        except BackendError as exc:
            if resp is None:
                raise  # nothing reached the client: the router may fall back
            out.outcome, out.status, out.error_type = "cut", 200, exc.kind
            self._usage_of(state, out, sent)
            out.text = "".join(state.text)
            log.warning(
                "%s stream from %s broke after the client got part of it", request_id, backend.name
            )
            error = {
                "error": {
                    "message": f"the answer was cut off: {exc}",
                    "type": exc.kind,
                    "code": "stream_cut",
                }
            }
            with contextlib.suppress(ConnectionResetError):
                await resp.write(sse(error))
                await resp.write_eof()
            return resp, False
        finally:
            await events.aclose()  # the upstream connection closes now, not at collection
        if resp is None:  # an empty answer with no finish reason
            raise BackendError("the backend sent no answer", kind="stream_error")
        tail: list[bytes] = []
        if restorer is not None:
            held = restorer.flush()
            if held:
                tail.append(sse(chunk(request_id, model, chat, text=held)))
        self._usage_of(state, out, sent)
        if usage_asked and not usage_sent:
            tail.append(
                sse(
                    chunk(
                        request_id,
                        model,
                        chat,
                        usage={
                            "prompt_tokens": out.input_tokens or 0,
                            "completion_tokens": out.output_tokens or 0,
                            "total_tokens": (out.input_tokens or 0) + (out.output_tokens or 0),
                        },
                        empty=True,
                    )
                )
            )
        tail.append(b"data: [DONE]\n\n")
        with contextlib.suppress(ConnectionResetError):
            await resp.write_eof(b"".join(pending + tail))  # one send with the last chunk
        out.outcome, out.status = "ok", 200
        out.text = "".join(state.text)
        if state.first_token_at is not None:
            out.ttft_s = state.first_token_at - started
        self.metrics.inc("llmpick_gateway_attempts_total", backend=backend.name, result="ok")
        return resp, True

    def _usage_of(self, state: StreamState, out: _Outcome, sent: dict[str, Any]) -> None:
        usage = state.usage or {}
        if usage.get("completion_tokens") is not None:
            out.input_tokens = int(usage.get("prompt_tokens") or 0)
            out.output_tokens = int(usage["completion_tokens"])
            out.usage_source = "server"
        else:
            out.input_tokens = len(request_text(sent)) // 4 + 1
            out.output_tokens = len(state.text)
            out.usage_source = "estimate"

    def _encode(
        self,
        event: Event,
        request_id: str,
        model: str,
        chat: bool,
        restorer: Any,
        usage_asked: bool,
    ) -> bytes:
        """The bytes the client gets for one event (empty: nothing)."""
        usage_only = event.usage is not None and not event.text and not event.finish
        if usage_only and not usage_asked:
            return b""
        # Untouched bytes when nothing needs restoring: no placeholder can start in this text.
        untouched = restorer is None or (restorer.idle and "<" not in event.text)
        if event.raw is not None and untouched:
            if not usage_asked and event.usage is not None and event.payload is not None:
                payload = {k: v for k, v in event.payload.items() if k != "usage"}
                return sse(payload)
            return event.raw
        text = restorer.feed(event.text) if restorer is not None and event.text else event.text
        if restorer is not None and event.finish:
            held = restorer.flush()
            if held:
                text += held
        if event.payload is not None:
            payload = dict(event.payload)  # the event is ours: change only what we rewrite
            choices = [dict(c) for c in payload.get("choices") or []]
            payload["choices"] = choices
            if choices:
                if chat and isinstance(choices[0].get("delta"), dict):
                    if choices[0]["delta"].get("content") is not None:
                        choices[0]["delta"] = {**choices[0]["delta"], "content": text}
                elif "text" in choices[0]:
                    choices[0]["text"] = text
            if not usage_asked:
                payload.pop("usage", None)
            return sse(payload)
        out = b""
        if text or event.finish:
            out = sse(chunk(request_id, model, chat, text=text or None, finish=event.finish))
        if usage_asked and event.usage:  # OpenAI's own shape: a last chunk with no choices
            out += sse(chunk(request_id, model, chat, usage=event.usage, empty=True))
        return out

    def _finish(
        self,
        request_id: str,
        key: str,
        route: str | None,
        body: dict[str, Any],
        chat: bool,
        out: _Outcome,
        reservation: Reservation | None,
        started: float,
    ) -> None:
        latency = time.perf_counter() - started
        price = self.prices.get(out.backend or "")
        cost = None
        if out.input_tokens is not None or out.output_tokens is not None:
            usage = Usage(out.input_tokens or 0, out.output_tokens or 0, "server")
            cost = cost_usd(usage, price)
        if reservation is not None:
            forwarded = out.attempts > 0
            tokens = (out.input_tokens or 0) + (out.output_tokens or 0)
            self.budgets.settle(
                reservation, (cost or 0.0) if forwarded else None, tokens if forwarded else None
            )
        # Label tuples written out sorted by name (what `Metrics.inc` would build per call).
        metrics, backend = self.metrics, out.backend or ""
        route_label = ("route", route or "")
        metrics.add(
            "llmpick_gateway_requests_total",
            (("backend", backend), ("outcome", out.outcome), route_label),
        )
        metrics.observe_key(latency, (route_label,))
        for kind, count in out.redactions.items():
            metrics.add("llmpick_gateway_redactions_total", (("type", kind),), count)
        if backend:
            metrics.add(
                "llmpick_gateway_tokens_total",
                (("backend", backend), ("direction", "input")),
                out.input_tokens or 0,
            )
            metrics.add(
                "llmpick_gateway_tokens_total",
                (("backend", backend), ("direction", "output")),
                out.output_tokens or 0,
            )
            if cost:
                metrics.add("llmpick_gateway_cost_usd_total", (("backend", backend),), cost)
        redactions = redactions_json(out.redactions) if out.redactions else None
        if log.isEnabledFor(logging.INFO):
            # The record is made here rather than by `log.info`, which walks the stack to find
            # its caller (a tenth of the gateway's own CPU per request): it says line 0.
            args = (
                request_id,
                key,
                route,
                out.backend,
                out.status,
                out.outcome,
                out.attempts,
                latency * 1000,
                out.input_tokens,
                out.output_tokens,
                redactions or "{}",
            )
            log.handle(log.makeRecord(log.name, logging.INFO, __file__, 0, _LINE, args, None))
        if self.config.log_bodies:
            log.debug("%s prompt=%r answer=%r", request_id, request_text(body), out.text)
        if self.ledger is not None:
            self.ledger.record(
                RequestRow(
                    id=request_id,
                    created_at=time.time(),
                    day=utc_day(),
                    key_name=key,
                    route=route,
                    backend=out.backend,
                    attempts=out.attempts,
                    outcome=out.outcome,
                    status=out.status,
                    stream=bool(body.get("stream")),
                    input_tokens=out.input_tokens,
                    output_tokens=out.output_tokens,
                    usage_source=out.usage_source,
                    latency_s=latency,
                    ttft_s=out.ttft_s,
                    cost_usd=cost,
                    error_type=out.error_type,
                    redactions_json=redactions,
                    hold_id=reservation.hold_id if reservation is not None else None,
                )
            )
            if reservation is not None:
                self.ledger.write_soon()

    # Shadow traffic -------------------------------------------------------------------------

    def _maybe_shadow(
        self, route: Route, body: dict[str, Any], chat: bool
    ) -> asyncio.Future[_Outcome] | None:
        shadow = route.shadow
        if shadow is None or self.rng.random() >= shadow.share:
            return None
        if self.shadow_in_flight.get(route.model, 0) >= shadow.max_in_flight:
            self.metrics.inc("llmpick_gateway_shadow_total", route=route.model, result="dropped")
            return None
        primary: asyncio.Future[_Outcome] = asyncio.get_running_loop().create_future()
        task = asyncio.create_task(self._shadow(route, body, chat, primary))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return primary

    async def _shadow(
        self, route: Route, body: dict[str, Any], chat: bool, primary: asyncio.Future[_Outcome]
    ) -> None:
        assert route.shadow is not None
        name = route.shadow.backend
        self.shadow_in_flight[route.model] = self.shadow_in_flight.get(route.model, 0) + 1
        started = time.perf_counter()
        text: str | None = None
        error: str | None = None
        answer: Answer | None = None
        try:
            backend = self.backends[name]
            redactor, sent = self._guard_request(backend, {**body, "stream": False})
            try:
                answer = await backend.complete(sent, chat)
                text = answer.text
                if self._restores(redactor) and redactor is not None:
                    text = redactor.restore(text)
            except BackendError as exc:
                error = exc.kind
            latency = time.perf_counter() - started
            try:
                first = await asyncio.wait_for(primary, timeout=600)
            except TimeoutError:
                return
            result = "ok" if error is None else "error"
            self.metrics.inc("llmpick_gateway_shadow_total", route=route.model, result=result)
            if self.ledger is None or first.outcome != "ok":
                return
            challenger_cost = None
            if answer is not None:
                usage = Usage(answer.input_tokens or 0, answer.output_tokens or 0, "server")
                challenger_cost = cost_usd(usage, self.prices.get(name))
            primary_cost = None
            if first.output_tokens is not None:
                usage = Usage(first.input_tokens or 0, first.output_tokens, "server")
                primary_cost = cost_usd(usage, self.prices.get(first.backend or ""))
            prompt = body.get("messages") if chat else body.get("prompt")
            self.ledger.record(
                ShadowRow(
                    id="sh-" + os.urandom(8).hex(),
                    created_at=time.time(),
                    route=route.model,
                    primary_backend=first.backend or "",
                    challenger=name,
                    prompt_json=json.dumps(prompt),
                    primary_text=first.text,
                    challenger_text=text,
                    primary_latency_s=None,
                    challenger_latency_s=latency,
                    challenger_error=error,
                    primary_output_tokens=first.output_tokens,
                    challenger_output_tokens=answer.output_tokens if answer else None,
                    primary_cost_usd=primary_cost,
                    challenger_cost_usd=challenger_cost,
                )
            )
        finally:
            self.shadow_in_flight[route.model] -= 1

    # Other endpoints ------------------------------------------------------------------------

    @property
    def ready(self) -> bool:
        if not all(b.ready for b in self.backends.values()):
            return False
        return all(
            any(self.breakers[n].opened_at is None for n in r.chain_names())
            for r in self.config.routes
        )


def _prices(config: GatewayConfig) -> dict[str, PriceSheet | None]:
    prices: dict[str, PriceSheet | None] = {}
    catalog = None
    for backend in config.backends:
        if backend.price is not None:
            prices[backend.name] = backend.price
        elif backend.catalog_id:
            if catalog is None:
                from llmpick.catalog import load_catalog

                catalog = load_catalog()
            entry = catalog.find(backend.catalog_id)
            if entry is None:
                raise GatewayError(
                    f"backend {backend.name!r}: unknown catalog_id {backend.catalog_id!r}"
                )
            prices[backend.name] = entry.pricing
        else:
            prices[backend.name] = None
    return prices
