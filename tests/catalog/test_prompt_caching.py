"""Cached-input discounts only at or above each vendor's sourced minimum cacheable prefix.

A vendor caches a prompt's repeated prefix only from a minimum length (OpenAI 1,024 tokens;
Anthropic and Google per model); below it the tokens bill at the full input price. The bill is
computed by hand here: 1,000 requests/day, half the input cacheable, no output.
"""

from __future__ import annotations

import pytest

from llmpick.catalog import Catalog
from llmpick.catalog._schema import Pricing
from llmpick.costs import DAYS_PER_MONTH, api_monthly_cost
from llmpick.spec._models import VolumeNeed

REQUESTS_PER_DAY = 1000.0


def _volume(input_tokens: float, share: float = 0.5) -> VolumeNeed:
    return VolumeNeed(
        requests_per_day=REQUESTS_PER_DAY,
        mean_input_tokens=input_tokens,
        mean_output_tokens=0,
        cacheable_input_share=share,
        batchable_share=0,
    )


def _cached_bill(pricing: Pricing, input_tokens: float, price: float) -> float:
    """The cached half of the input at `price` per million tokens, per month."""
    return input_tokens * 0.5 * price * REQUESTS_PER_DAY * DAYS_PER_MONTH / 1e6


# One model per vendor with a sourced minimum, and that minimum.
VENDORS = [
    ("openai/gpt-6-luna", 1024),
    ("anthropic/claude-haiku-4-5", 4096),
    ("anthropic/claude-sonnet-4-5", 1024),
    ("google/gemini-3.8-flash", 4096),
]


@pytest.mark.parametrize(("model_id", "minimum"), VENDORS)
def test_below_the_minimum_the_cached_share_bills_at_the_full_input_price(
    bundled_catalog: Catalog, model_id: str, minimum: int
) -> None:
    pricing = bundled_catalog.get(model_id).pricing
    assert pricing is not None and pricing.min_cacheable_tokens == minimum
    input_tokens = 2 * (minimum - 1)  # half of it cacheable: one token short of the minimum
    cost = api_monthly_cost(pricing, _volume(input_tokens))
    assert not cost.cache_discount_applied
    full = _cached_bill(pricing, input_tokens, pricing.input_usd_per_mtok)
    assert cost.cached_input_usd_per_month == pytest.approx(full)
    assert f"minimum cacheable length of {minimum:,} tokens" in cost.cache_notes[0]
    assert pricing.prompt_caching is not None
    assert pricing.prompt_caching.source in cost.cache_notes[0]


@pytest.mark.parametrize(("model_id", "minimum"), VENDORS)
def test_at_the_minimum_the_cached_price_applies(
    bundled_catalog: Catalog, model_id: str, minimum: int
) -> None:
    pricing = bundled_catalog.get(model_id).pricing
    assert pricing is not None and pricing.cached_input_usd_per_mtok is not None
    input_tokens = 2 * minimum
    cost = api_monthly_cost(pricing, _volume(input_tokens))
    assert cost.cache_discount_applied and cost.cache_notes == ()
    cached = _cached_bill(pricing, input_tokens, pricing.cached_input_usd_per_mtok)
    assert cost.cached_input_usd_per_month == pytest.approx(cached)


@pytest.mark.parametrize(
    "model_id", ["deepseek/deepseek-v4-pro", "xai/grok-4.5", "mistral/mistral-large-4"]
)
def test_without_a_sourced_minimum_no_discount_is_assumed(
    bundled_catalog: Catalog, model_id: str
) -> None:
    pricing = bundled_catalog.get(model_id).pricing
    assert pricing is not None and pricing.min_cacheable_tokens is None
    cost = api_monthly_cost(pricing, _volume(100_000))
    assert not cost.cache_discount_applied
    if pricing.cached_input_usd_per_mtok is None:
        assert "no cached-input price in the catalog" in cost.cache_notes[0]
    else:
        assert "no sourced minimum cacheable prompt length" in cost.cache_notes[0]
    full = _cached_bill(pricing, 100_000, pricing.input_usd_per_mtok)
    assert cost.cached_input_usd_per_month == pytest.approx(full)


def test_a_model_without_a_cached_price_says_the_full_price_is_used(
    bundled_catalog: Catalog,
) -> None:
    entry = next(
        e
        for e in bundled_catalog
        if e.pricing is not None and e.pricing.cached_input_usd_per_mtok is None
    )
    assert entry.pricing is not None
    cost = api_monthly_cost(entry.pricing, _volume(10_000))
    assert cost.cache_notes == (
        "no cached-input price in the catalog: cached tokens are billed at the full input price",
    )


def test_no_cacheable_share_needs_no_note(bundled_catalog: Catalog) -> None:
    pricing = bundled_catalog.get("openai/gpt-4o-mini").pricing
    assert pricing is not None
    cost = api_monthly_cost(pricing, _volume(5000, share=0.0))
    assert cost.cache_notes == () and cost.cached_input_usd_per_month == 0


def test_the_quickstart_prompt_is_too_short_to_cache_anywhere(bundled_catalog: Catalog) -> None:
    # 350 tokens, 60% cacheable: a 210-token prefix is under every sourced minimum.
    volume = _volume(350, share=0.6)
    for entry in bundled_catalog:
        if entry.pricing is not None and entry.pricing.cached_input_usd_per_mtok is not None:
            assert not api_monthly_cost(entry.pricing, volume).cache_discount_applied, entry.id


def test_the_candidate_cost_states_why_the_cached_share_pays_full_price() -> None:
    from llmpick.constraints import check_spec
    from llmpick.costs import cost_candidate
    from llmpick.spec import Spec

    spec = Spec.model_validate(
        {
            "needs": {"volume": {"mean_input_tokens": 350, "cacheable_input_share": 0.6}},
            "candidates": ["openai/gpt-6-luna"],
        }
    )
    (verdict,) = check_spec(spec).verdicts
    cost = cost_candidate(verdict, spec)
    assert any("minimum cacheable length of 1,024 tokens" in a for a in cost.assumptions)
    assert not any("of input at the cached price" in a for a in cost.assumptions)
