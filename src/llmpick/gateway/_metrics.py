"""Prometheus metrics in the text exposition format, without a client library.

A gateway needs a handful of counters, gauges and one latency histogram; writing them takes a
few dozen lines, and keeps `prometheus-client` (and its global registry) out of the install.
"""

from __future__ import annotations

import bisect
import time
from collections import defaultdict

__all__ = ["Metrics"]

_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
Labels = tuple[tuple[str, str], ...]

_HELP = {
    "llmpick_gateway_requests_total": ("counter", "Requests answered, by route, backend, outcome."),
    "llmpick_gateway_attempts_total": ("counter", "Backend attempts, by backend and result."),
    "llmpick_gateway_redactions_total": ("counter", "Personal data values redacted, by type."),
    "llmpick_gateway_shadow_total": ("counter", "Shadow copies, by route and result."),
    "llmpick_gateway_tokens_total": ("counter", "Tokens, by backend and direction."),
    "llmpick_gateway_cost_usd_total": ("counter", "Cost at catalog or configured prices."),
    "llmpick_gateway_in_flight": ("gauge", "Requests being answered now."),
    "llmpick_gateway_breaker_open": ("gauge", "1 while a backend's circuit breaker is open."),
    "llmpick_gateway_ledger_queued": ("gauge", "Request rows recorded, not yet in the store."),
    "llmpick_gateway_ledger_failing": ("gauge", "1 while the store refuses the ledger's writes."),
    "llmpick_gateway_ledger_dropped_total": ("counter", "Rows the store could not take."),
    "llmpick_gateway_request_seconds": ("histogram", "Whole-request latency, by route."),
    "process_resident_memory_bytes": ("gauge", "Resident memory of the gateway process."),
    "process_cpu_seconds_total": ("counter", "CPU time of the gateway process, all threads."),
}


def resident_bytes() -> float | None:
    """This process's resident set size (Linux), for memory-growth checks."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            pages = int(statm.read().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    import os

    return float(pages * os.sysconf("SC_PAGE_SIZE"))


def _labels(labels: Labels) -> str:
    if not labels:
        return ""
    inner = ",".join(
        f'{k}="{v.replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"'
        for k, v in labels
    )
    return "{" + inner + "}"


class Metrics:
    """Counters, gauges and histograms keyed by name and label values."""

    def __init__(self) -> None:
        self.values: dict[str, dict[Labels, float]] = defaultdict(lambda: defaultdict(float))
        self._hist: dict[Labels, list[float]] = {}
        self._hist_sum: dict[Labels, float] = defaultdict(float)

    def inc(self, name: str, amount: float = 1.0, **labels: str) -> None:
        self.values[name][tuple(sorted(labels.items()))] += amount

    def add(self, name: str, key: Labels, amount: float = 1.0) -> None:
        """`inc` with the labels already a tuple of (name, value) sorted by name (hot paths)."""
        self.values[name][key] += amount

    def set(self, name: str, value: float, **labels: str) -> None:
        self.values[name][tuple(sorted(labels.items()))] = value

    def observe(self, seconds: float, **labels: str) -> None:
        self.observe_key(seconds, tuple(sorted(labels.items())))

    def observe_key(self, seconds: float, key: Labels) -> None:
        """`observe` with the labels already sorted (see `add`)."""
        counts = self._hist.get(key)
        if counts is None:
            counts = self._hist[key] = [0.0] * (len(_BUCKETS) + 1)
        counts[bisect.bisect_left(_BUCKETS, seconds)] += 1
        self._hist_sum[key] += seconds

    def render(self) -> str:
        rss = resident_bytes()
        if rss is not None:
            self.set("process_resident_memory_bytes", rss)
        self.set("process_cpu_seconds_total", time.process_time())
        lines: list[str] = []
        for name, (kind, text) in _HELP.items():
            lines += [f"# HELP {name} {text}", f"# TYPE {name} {kind}"]
            if kind == "histogram":
                for key, counts in self._hist.items():
                    total = 0.0
                    for bound, count in zip((*_BUCKETS, float("inf")), counts, strict=True):
                        total += count
                        le = "+Inf" if bound == float("inf") else f"{bound:g}"
                        lines.append(f"{name}_bucket{_labels((*key, ('le', le)))} {total:g}")
                    lines.append(f"{name}_sum{_labels(key)} {self._hist_sum[key]:.6f}")
                    lines.append(f"{name}_count{_labels(key)} {total:g}")
                continue
            for key, value in self.values.get(name, {}).items():
                lines.append(f"{name}{_labels(key)} {value:g}")
        return "\n".join(lines) + "\n"
