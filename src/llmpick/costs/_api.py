"""Monthly cost of calling a vendor API at the spec's volume, from catalog list prices.

    requests/month = requests/day x 365/12
    per request    = input x (1 - cached share) x input price
                   + input x cached share x cached-input price (input price if none is listed)
                   + output x output price
    batch          = the batchable share of requests gets the batch discount, when one is listed

The cached share gets the cached-input price only when the cached prefix (input x cached share)
reaches the vendor's sourced minimum cacheable length (`pricing.prompt_caching`); below it, or
with no sourced minimum, or with no cached price listed, those tokens bill at the full input
price and `cache_notes` says why.

Prices are USD per million tokens. The result keeps the inputs it used, so a report can show
where each figure came from.
"""

from __future__ import annotations

from dataclasses import dataclass

from llmpick.catalog._schema import Pricing
from llmpick.spec._models import VolumeNeed

DAYS_PER_MONTH = 365 / 12


@dataclass(frozen=True)
class ApiCost:
    """A monthly API bill and how it was computed."""

    usd_per_month: float
    requests_per_month: float
    usd_per_request: float
    input_usd_per_month: float
    cached_input_usd_per_month: float
    output_usd_per_month: float
    batch_savings_usd_per_month: float
    price_source: str
    price_as_of: str
    cache_discount_applied: bool = False
    cache_notes: tuple[str, ...] = ()


def _cache_discount(pricing: Pricing, volume: VolumeNeed) -> tuple[float | None, tuple[str, ...]]:
    """The cached-input price the bill may use (None: full input price) and why not, if not."""
    share = volume.cacheable_input_share
    if share <= 0:
        return None, ()
    if pricing.cached_input_usd_per_mtok is None:
        return None, (
            "no cached-input price in the catalog: cached tokens are billed at the full input "
            "price",
        )
    rule = pricing.prompt_caching
    prefix = volume.mean_input_tokens * share
    if rule is None:
        return None, (
            "no sourced minimum cacheable prompt length for this vendor: no cached-input "
            "discount assumed (full input price)",
        )
    if prefix < rule.min_cacheable_tokens:
        return None, (
            f"the cached prefix (~{prefix:,.0f} tokens) is under the vendor's minimum cacheable "
            f"length of {rule.min_cacheable_tokens:,} tokens (source: {rule.source}, as of "
            f"{rule.as_of}): billed at the full input price",
        )
    return pricing.cached_input_usd_per_mtok, ()


def api_monthly_cost(pricing: Pricing, volume: VolumeNeed) -> ApiCost:
    """The monthly bill at `volume` for a model sold at `pricing`."""
    requests = volume.requests_per_day * DAYS_PER_MONTH
    cached_share = volume.cacheable_input_share
    discounted, cache_notes = _cache_discount(pricing, volume)
    cached_price = discounted if discounted is not None else pricing.input_usd_per_mtok
    per_mtok = requests / 1e6
    input_cost = volume.mean_input_tokens * (1 - cached_share) * pricing.input_usd_per_mtok
    cached_cost = volume.mean_input_tokens * cached_share * cached_price
    output_cost = volume.mean_output_tokens * pricing.output_usd_per_mtok
    gross = (input_cost + cached_cost + output_cost) * per_mtok
    savings = gross * volume.batchable_share * (pricing.batch_discount or 0.0)
    total = gross - savings
    source = pricing.source_of("input_usd_per_mtok")
    return ApiCost(
        usd_per_month=total,
        requests_per_month=requests,
        usd_per_request=total / requests if requests else 0.0,
        input_usd_per_month=input_cost * per_mtok,
        cached_input_usd_per_month=cached_cost * per_mtok,
        output_usd_per_month=output_cost * per_mtok,
        batch_savings_usd_per_month=savings,
        price_source=source.source,
        price_as_of=source.as_of.isoformat(),
        cache_discount_applied=discounted is not None,
        cache_notes=cache_notes,
    )
