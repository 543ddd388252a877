"""What a load test measured: one `LevelResult` per concurrency tried, and the capacity found."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

__all__ = ["PERCENTILES", "LevelResult", "LoadTestResult", "Slo", "percentiles_ms"]

PERCENTILES = (50, 90, 95, 99)


@dataclass(frozen=True)
class Slo:
    """The latency targets a level must meet (p95, milliseconds); None: no target."""

    ttft_p95_ms: float | None = None
    e2e_p95_ms: float | None = None
    max_error_rate: float = 0.05

    def describe(self) -> str:
        parts = []
        if self.ttft_p95_ms is not None:
            parts.append(f"p95 TTFT <= {self.ttft_p95_ms:,.0f} ms")
        if self.e2e_p95_ms is not None:
            parts.append(f"p95 E2E <= {self.e2e_p95_ms:,.0f} ms")
        parts.append(f"errors <= {self.max_error_rate:.0%}")
        return ", ".join(parts)


def percentiles_ms(seconds: list[float]) -> dict[str, float | None]:
    """p50/p90/p95/p99 of `seconds`, in milliseconds (None each when there is no sample)."""
    if not seconds:
        return {f"p{q}": None for q in PERCENTILES}
    values = np.percentile(np.asarray(seconds) * 1000.0, PERCENTILES)
    return {f"p{q}": float(v) for q, v in zip(PERCENTILES, values, strict=True)}


@dataclass(frozen=True)
class LevelResult:
    """One load level: `concurrency` requests kept in flight (closed loop) until `requests` had
    been sent, or (open loop) requests arriving at `target_rate` per second, `concurrency` then
    being the most that were in flight at once.

    `requests_per_s` is always achieved: completions / wall time, whatever was offered. Open-loop
    levels also carry `sent_rate` (what the client actually sent), `send_lag_ms` (how late it
    sent against its schedule; latencies count from the schedule) and `client_limited` (the
    client fell behind: the level is not the endpoint's capacity and never counts as such)."""

    concurrency: int
    requests: int
    errors: int
    duration_s: float
    requests_per_s: float
    output_tokens_per_s: float
    ttft_ms: dict[str, float | None]
    e2e_ms: dict[str, float | None]
    itl_ms: dict[str, float | None]
    mean_input_tokens: float | None
    mean_output_tokens: float | None
    meets_slo: bool
    verdict: str
    first_error: str | None = None
    target_rate: float | None = None
    sent_rate: float | None = None
    send_lag_ms: dict[str, float | None] | None = None
    client_limited: bool = False

    @property
    def error_rate(self) -> float:
        return self.errors / self.requests if self.requests else 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LevelResult:
        return cls(**data)


@dataclass(frozen=True)
class LoadTestResult:
    """A sweep over concurrency levels and the capacity it found within the SLO."""

    id: str
    created_at: str
    spec_name: str
    candidate: str
    endpoint: str
    model: str
    slo: Slo
    workload: dict[str, Any]
    levels: list[LevelResult] = field(default_factory=list)
    stop_reason: str = ""
    catalog_id: str | None = None
    hardware: str | None = None

    @property
    def best(self) -> LevelResult | None:
        """The level with the most requests/s among those meeting the SLO; a client-limited
        level measured the load generator, so it never counts."""
        passing = [lv for lv in self.levels if lv.meets_slo and not lv.client_limited]
        return max(passing, key=lambda level: level.requests_per_s, default=None)

    def summary(self) -> str:
        """One sentence: the capacity and where it came from."""
        best = self.best
        if best is None:
            return f"no concurrency level met the SLO ({self.slo.describe()}); {self.stop_reason}"
        where = (
            f"an offered {best.target_rate:g} requests/s, achieved (at most "
            f"{best.concurrency} in flight)"
            if best.target_rate is not None
            else f"concurrency {best.concurrency}"
        )
        return (
            f"{best.requests_per_s:,.2f} requests/s at {where} within "
            f"{self.slo.describe()} ({best.output_tokens_per_s:,.0f} output tokens/s)"
        )

    def to_dict(self) -> dict[str, Any]:
        best = self.best
        return {
            "id": self.id,
            "created_at": self.created_at,
            "spec_name": self.spec_name,
            "candidate": self.candidate,
            "catalog_id": self.catalog_id,
            "endpoint": self.endpoint,
            "model": self.model,
            "hardware": self.hardware,
            "slo": asdict(self.slo),
            "workload": self.workload,
            "levels": [level.to_dict() for level in self.levels],
            "best_concurrency": best.concurrency if best else None,
            "requests_per_s": best.requests_per_s if best else None,
            "stop_reason": self.stop_reason,
            "summary": self.summary(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LoadTestResult:
        return cls(
            id=data["id"],
            created_at=data["created_at"],
            spec_name=data["spec_name"],
            candidate=data["candidate"],
            endpoint=data["endpoint"],
            model=data["model"],
            slo=Slo(**data["slo"]),
            workload=data["workload"],
            levels=[LevelResult.from_dict(level) for level in data["levels"]],
            stop_reason=data.get("stop_reason", ""),
            catalog_id=data.get("catalog_id"),
            hardware=data.get("hardware"),
        )
