"""The gateway's HTTP server: aiohttp, the same library as the client side, on one event loop
(see benchmarks/bench_gateway.py for the measurement behind the choice)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web

from llmpick.gateway._config import GatewayConfig, is_loopback
from llmpick.gateway._gateway import Gateway, GatewayError
from llmpick.gateway._openai_api import ClientError, error_response

__all__ = ["GATEWAY", "create_gateway_app", "run_gateway"]

log = logging.getLogger("llmpick.gateway")
GATEWAY = web.AppKey("gateway", Gateway)

# The application ----------------------------------------------------------------------------


@web.middleware
async def _errors_as_json(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Every error the client sees is OpenAI-shaped JSON; a bug is a 500, never a traceback."""
    try:
        return await handler(request)
    except ClientError as exc:
        return error_response(exc.status, str(exc), exc.kind, exc.code)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return error_response(exc.status, exc.reason, "invalid_request_error")
    except (asyncio.CancelledError, ConnectionResetError):
        raise
    except Exception:
        log.exception("internal error on %s", request.path)
        return error_response(500, "internal gateway error", "server_error")


def create_gateway_app(config: GatewayConfig, db_path: str | Path | None = None) -> web.Application:
    """The aiohttp application; backends connect (and local models load) when it starts."""
    gateway = Gateway(config, db_path)
    app = web.Application(
        client_max_size=config.limits.max_request_bytes, middlewares=[_errors_as_json]
    )
    app[GATEWAY] = gateway

    async def on_startup(app: web.Application) -> None:
        await gateway.start()

    async def on_cleanup(app: web.Application) -> None:
        await gateway.stop()

    async def chat(request: web.Request) -> web.StreamResponse:
        return await gateway.handle(request, chat=True)

    async def completions(request: web.Request) -> web.StreamResponse:
        return await gateway.handle(request, chat=False)

    async def models(request: web.Request) -> web.Response:
        gateway.authenticate(request)
        data = [
            {"id": r.model, "object": "model", "created": 0, "owned_by": "llmpick-gateway"}
            for r in config.routes
        ]
        return web.json_response({"object": "list", "data": data})

    async def health(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def ready(request: web.Request) -> web.Response:
        ok = gateway.ready
        return web.json_response({"ready": ok}, status=200 if ok else 503)

    async def metrics(request: web.Request) -> web.Response:
        gateway.authenticate(request)
        gateway.metrics.set("llmpick_gateway_in_flight", float(gateway.in_flight))
        for name, breaker in gateway.breakers.items():
            opened = float(breaker.opened_at is not None)
            gateway.metrics.set("llmpick_gateway_breaker_open", opened, backend=name)
        if gateway.ledger is not None:
            gateway.metrics.set("llmpick_gateway_ledger_queued", float(gateway.ledger.queued))
            gateway.metrics.set("llmpick_gateway_ledger_failing", float(gateway.ledger.failing))
            dropped = float(gateway.ledger.dropped)
            gateway.metrics.set("llmpick_gateway_ledger_dropped_total", dropped)
        return web.Response(text=gateway.metrics.render(), content_type="text/plain")

    app.on_startup.append(on_startup)
    app.on_cleanup.append(on_cleanup)
    app.router.add_post("/v1/chat/completions", chat)
    app.router.add_post("/v1/completions", completions)
    app.router.add_get("/v1/models", models)
    app.router.add_get("/health", health)
    app.router.add_get("/ready", ready)
    app.router.add_get("/metrics", metrics)
    return app


def run_gateway(
    config: GatewayConfig,
    *,
    host: str | None = None,
    port: int | None = None,
    db_path: str | Path | None = None,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Serve until interrupted. Refuses a non-loopback address unless auth is configured."""
    host = host or config.listen.host
    port = config.listen.port if port is None else port
    if not is_loopback(host) and config.auth is None:
        raise GatewayError(
            f"refusing to listen on {host} without auth: add `auth: {{keys: [...]}}` to the "
            "config (bearer tokens), or listen on 127.0.0.1"
        )
    app = create_gateway_app(config, db_path)
    web.run_app(
        app,
        host=host,
        port=port,
        access_log=None,
        print=(lambda *_: on_ready(f"http://{host}:{port}/v1")) if on_ready else None,
        handle_signals=True,
        shutdown_timeout=5,
    )
