"""One OpenAI-compatible front door for every model (the gateway). This step: its config."""

from __future__ import annotations

from llmpick.gateway._config import (
    Backend,
    Budget,
    GatewayConfig,
    GatewayConfigError,
    Route,
    gateway_json_schema,
    hash_key,
    is_loopback,
    load_gateway_config,
    parse_gateway_config,
)

__all__ = [
    "Backend",
    "Budget",
    "GatewayConfig",
    "GatewayConfigError",
    "Route",
    "gateway_json_schema",
    "hash_key",
    "is_loopback",
    "load_gateway_config",
    "parse_gateway_config",
]
