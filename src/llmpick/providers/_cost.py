"""What one call cost at API list prices."""

from __future__ import annotations

from typing import Protocol

from llmpick.providers._types import Usage

__all__ = ["PriceSheet", "cost_usd"]


class PriceSheet(Protocol):
    """USD per million tokens; the catalog's `Pricing` section satisfies it."""

    @property
    def input_usd_per_mtok(self) -> float: ...
    @property
    def output_usd_per_mtok(self) -> float: ...
    @property
    def cached_input_usd_per_mtok(self) -> float | None: ...


def cost_usd(usage: Usage, pricing: PriceSheet | None) -> float | None:
    """USD for `usage` at `pricing`; None when the price is unknown (never a guessed 0).

    Cached input tokens are charged at the cached price when the sheet has one.
    """
    if pricing is None:
        return None
    cached = usage.cached_input_tokens or 0
    cached_price = pricing.cached_input_usd_per_mtok
    if cached_price is None:
        cached_price, cached = pricing.input_usd_per_mtok, 0
    fresh = max(0, usage.input_tokens - cached)
    total = (
        fresh * pricing.input_usd_per_mtok
        + cached * cached_price
        + usage.output_tokens * pricing.output_usd_per_mtok
    )
    return total / 1_000_000
