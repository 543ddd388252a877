"""One OpenAI-compatible front door for every model: routing with fallbacks and circuit
breakers, a cheap-first cascade, shadow traffic to a challenger, PII guardrails for third-party
backends, and every request accounted in the store with budgets per key.

```python
from llmpick.gateway import load_gateway_config, run_gateway

run_gateway(load_gateway_config("gateway.yaml"))      # serves http://127.0.0.1:8080/v1
```
"""

from __future__ import annotations

from llmpick.gateway._app import create_gateway_app, run_gateway
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
from llmpick.gateway._decision import config_from_decision
from llmpick.gateway._gateway import Gateway, GatewayError
from llmpick.gateway._log import BatchedLogHandler
from llmpick.gateway._pii import Redactor, find_pii, iban_valid, luhn_valid
from llmpick.gateway._shadow import ShadowReport, ShadowScorer, score_shadow_pairs

__all__ = [
    "Backend",
    "BatchedLogHandler",
    "Budget",
    "Gateway",
    "GatewayConfig",
    "GatewayConfigError",
    "GatewayError",
    "Redactor",
    "Route",
    "ShadowReport",
    "ShadowScorer",
    "config_from_decision",
    "create_gateway_app",
    "find_pii",
    "gateway_json_schema",
    "hash_key",
    "iban_valid",
    "is_loopback",
    "load_gateway_config",
    "luhn_valid",
    "parse_gateway_config",
    "run_gateway",
    "score_shadow_pairs",
]
