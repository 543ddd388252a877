"""The data types, derived metrics, registry and cost helper."""

from __future__ import annotations

import pytest

import llmpick.providers as providers
from llmpick.providers import (
    GenerateParams,
    ProviderSetupError,
    Response,
    Timings,
    Usage,
    cost_usd,
    create_provider,
    provider_class,
    provider_kinds,
)


def _response(chunks: list[float], output_tokens: int) -> Response:
    timings = Timings(request_sent=10.0)
    for t in chunks:
        timings.mark_content(t)
    timings.completed = chunks[-1] + 0.5 if chunks else 11.0
    return Response("x", "stop", Usage(5, output_tokens, "server"), timings, "m", "openai")


def test_derived_metrics_follow_vllm_definitions() -> None:
    r = _response([10.2, 10.3, 10.5, 10.6], output_tokens=4)
    assert r.ttft_s == pytest.approx(0.2)
    assert r.e2e_s == pytest.approx(0.6)  # to the last token, not to completion
    assert r.tpot_s == pytest.approx((0.6 - 0.2) / 3)
    assert r.itl_s == pytest.approx([0.1, 0.2, 0.1])
    assert r.median_itl_s == pytest.approx(0.1)
    assert r.output_tokens_per_s == pytest.approx(4 / 0.6)
    assert r.metrics()["usage_source"] == "server"


def test_single_token_and_empty_answers_have_no_tpot() -> None:
    assert _response([10.2], 1).tpot_s is None
    empty = _response([], 0)
    assert empty.ttft_s is None and empty.tpot_s is None and empty.itl_s == []
    assert empty.e2e_s == pytest.approx(1.0)


def test_cache_key_fields_leave_out_streaming() -> None:
    a = GenerateParams(stream=True).output_affecting()
    b = GenerateParams(stream=False).output_affecting()
    assert a == b and "stream" not in a


def test_cost_uses_cached_price_and_unknown_price_is_none() -> None:
    from llmpick.catalog._schema import Pricing

    pricing = Pricing(
        provider="openai",
        input_usd_per_mtok=2.0,
        output_usd_per_mtok=8.0,
        cached_input_usd_per_mtok=0.5,
        source="https://example.com/pricing",
        as_of="2026-11-28",
    )
    usage = Usage(1_000_000, 500_000, "server", cached_input_tokens=400_000)
    assert cost_usd(usage, pricing) == pytest.approx(0.6 * 2 + 0.4 * 0.5 + 0.5 * 8)
    assert cost_usd(usage, None) is None


def test_registry_lists_kinds_and_rejects_unknown() -> None:
    assert {"openai", "anthropic", "gemini", "llamacpp"} <= set(provider_kinds())
    with pytest.raises(ProviderSetupError, match="available: anthropic, gemini, llamacpp"):
        provider_class("nope")
    p = create_provider({"kind": "openai", "model": "m", "base_url": "http://127.0.0.1:9/v1"})
    assert p.kind == "openai" and p.config.max_retries == 4


def test_bad_config_field_is_a_validation_error() -> None:
    with pytest.raises(ValueError, match="max_concurrency"):
        create_provider({"kind": "openai", "model": "m", "max_concurrency": 0})


def test_public_api_is_complete() -> None:
    exported = set(providers.__all__)
    public = {n for n in dir(providers) if not n.startswith("_") and n not in {"annotations"}}
    assert public - exported == set()
