"""Step 2 against the real bundled catalog: each exclusion with its reason in the JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from llmpick.catalog import UnknownModelError, load_catalog
from llmpick.catalog._schema import Status
from llmpick.cli import app
from llmpick.constraints import check_spec, serving_shape
from llmpick.spec import Spec

REPO = Path(__file__).resolve().parents[2]
runner = CliRunner()


def _spec(**sections: Any) -> Spec:
    return Spec.model_validate(sections)


def _verdicts(spec: Spec) -> dict[str, dict[str, Any]]:
    return {v["id"]: v for v in check_spec(spec).to_dict()["candidates"]}


def _reason(verdict: dict[str, Any], rule: str) -> dict[str, Any]:
    return next(r for r in verdict["reasons"] if r["rule"] == rule)


def _closed_models() -> list[Any]:
    catalog = load_catalog()
    closed = [e for e in catalog if not e.open_weights and e.about.status != Status.RETIRED]
    assert len(closed) >= 10
    return closed


def test_data_that_may_not_leave_excludes_every_closed_model_without_on_prem_offer() -> None:
    closed = _closed_models()
    spec = _spec(
        constraints={"data": {"may_leave_premises": False}},
        candidates=[e.id for e in closed] + ["meta/llama-3.1-8b-instruct"],
    )
    verdicts = _verdicts(spec)
    private_only = 0
    for entry in closed:
        reason = _reason(verdicts[entry.id], "data-leaves-premises")
        on_prem = entry.hosting is not None and bool(entry.hosting.on_prem)
        assert reason["passed"] is on_prem, (entry.id, reason)
        if on_prem:
            assert entry.hosting.source_of("on_prem").source in reason["message"]  # type: ignore[union-attr]
        else:
            assert not verdicts[entry.id]["eligible"]
            assert "may not leave our premises" in reason["message"]
            if entry.hosting is not None and entry.hosting.private_deployment:
                private_only += 1
                assert "accept_vendor_private_cloud" in reason["message"]
    assert private_only > 0  # the catalog has vendor private clouds: they no longer pass
    assert _reason(verdicts["meta/llama-3.1-8b-instruct"], "data-leaves-premises")["passed"]


def test_a_vendor_private_cloud_passes_only_when_the_spec_accepts_it() -> None:
    private = [
        e
        for e in _closed_models()
        if e.hosting is not None and e.hosting.private_deployment and not e.hosting.on_prem
    ]
    assert private
    spec = _spec(
        constraints={"data": {"may_leave_premises": False, "accept_vendor_private_cloud": True}},
        candidates=[e.id for e in private],
    )
    verdicts = _verdicts(spec)
    for entry in private:
        reason = _reason(verdicts[entry.id], "data-leaves-premises")
        assert reason["passed"] and reason["severity"] == "error", (entry.id, reason)
        assert "accepts as our premises" in reason["message"]


def test_accepting_a_private_cloud_is_off_by_default() -> None:
    assert _spec().constraints.data.accept_vendor_private_cloud is False


def test_commercial_use_required_excludes_non_commercial_licences() -> None:
    catalog = load_catalog()
    non_commercial = [e.id for e in catalog if e.licence.commercial_use == "no"]
    assert "cohere/command-r-08-2024" in non_commercial
    spec = _spec(
        constraints={"licence": {"commercial_use_required": True}},
        candidates=[*non_commercial, "qwen/qwen2.5-7b-instruct"],
    )
    verdicts = _verdicts(spec)
    for model_id in non_commercial:
        reason = _reason(verdicts[model_id], "licence")
        assert not reason["passed"] and "does not allow commercial use" in reason["message"]
        assert not verdicts[model_id]["eligible"]
    assert _reason(verdicts["qwen/qwen2.5-7b-instruct"], "licence")["passed"]
    relaxed = _spec(
        constraints={"licence": {"commercial_use_required": False}}, candidates=non_commercial
    )
    assert all(_reason(v, "licence")["passed"] for v in _verdicts(relaxed).values())


def test_user_cap_in_the_llama_licence() -> None:
    spec = _spec(
        constraints={"licence": {"monthly_active_users": 900_000_000}},
        candidates=["meta/llama-3.1-8b-instruct"],
    )
    reason = _reason(_verdicts(spec)["meta/llama-3.1-8b-instruct"], "licence")
    assert not reason["passed"] and "700,000,000" in reason["message"]


def test_one_l4_excludes_a_bf16_70b_model_and_says_what_would_fit() -> None:
    spec = _spec(
        constraints={"infrastructure": {"hardware": ["1xL4"], "may_rent_cloud_gpus": False}},
        candidates=[
            {"model": "meta/llama-3.1-70b-instruct", "quantization": "bf16"},
            "meta/llama-3.1-8b-instruct",
        ],
    )
    verdicts = _verdicts(spec)
    big = verdicts["meta/llama-3.1-70b-instruct"]
    reason = _reason(big, "hardware")
    assert not big["eligible"] and not reason["passed"]
    assert "bf16" in reason["message"] and "1xL4" in reason["message"]
    assert reason["details"]["suggested_hardware"]  # a bigger configuration is named
    small = _reason(verdicts["meta/llama-3.1-8b-instruct"], "hardware")
    assert small["passed"] and small["details"]["quantization"] in {"bf16", "fp16", "fp8", "q8_0"}


def test_two_l4_suggests_the_quantization_that_fits() -> None:
    spec = _spec(
        constraints={"infrastructure": {"hardware": ["2xL4"], "may_rent_cloud_gpus": False}},
        needs={"volume": {"requests_per_day": 100}},
        candidates=[{"model": "meta/llama-3.1-70b-instruct", "quantization": "bf16"}],
    )
    reason = _reason(_verdicts(spec)["meta/llama-3.1-70b-instruct"], "hardware")
    assert not reason["passed"]
    suggested = reason["details"]["suggested_quantization"]
    assert suggested in {"awq", "gptq", "q4_k_m", "q4_0", "mxfp4", "q4_1"}
    assert f"quantization: {suggested}" in reason["message"]


def test_renting_finds_a_configuration_when_allowed() -> None:
    spec = _spec(
        constraints={"infrastructure": {"hardware": ["1xL4"], "may_rent_cloud_gpus": True}},
        candidates=[{"model": "meta/llama-3.1-70b-instruct", "quantization": "bf16"}],
    )
    reason = _reason(_verdicts(spec)["meta/llama-3.1-70b-instruct"], "hardware")
    assert reason["passed"] and reason["details"]["rented"]


def test_context_modalities_and_closed_weights() -> None:
    spec = _spec(
        needs={"control": {"needs_weights_access": True}},
        constraints={"min_context_tokens": 100_000, "modalities": ["text", "image"]},
        candidates=["local/smollm2-135m-instruct", "openai/gpt-4o-mini"],
    )
    verdicts = _verdicts(spec)
    smol = verdicts["local/smollm2-135m-instruct"]
    assert not _reason(smol, "context-window")["passed"]
    assert not _reason(smol, "modalities")["passed"]
    assert _reason(smol, "control")["passed"]
    gpt = verdicts["openai/gpt-4o-mini"]
    assert not _reason(gpt, "control")["passed"]
    assert _reason(gpt, "context-window")["passed"]


def test_budget_rule_uses_list_prices_at_volume() -> None:
    entry = load_catalog().get("openai/gpt-4o-mini")
    assert entry.pricing is not None
    spec = _spec(
        needs={
            "budget": {"usd_per_month": 10},
            "volume": {
                "requests_per_day": 100_000,
                "mean_input_tokens": 1000,
                "mean_output_tokens": 100,
            },
        },
        candidates=["openai/gpt-4o-mini"],
    )
    reason = _reason(_verdicts(spec)["openai/gpt-4o-mini"], "budget")
    expected = (
        100_000
        * 365
        / 12
        * (1000 * entry.pricing.input_usd_per_mtok + 100 * entry.pricing.output_usd_per_mtok)
        / 1e6
    )
    assert not reason["passed"]
    assert reason["details"]["usd_per_month"] == pytest.approx(expected)


def test_serving_shape_follows_littles_law() -> None:
    spec = _spec(
        needs={
            "volume": {"requests_per_day": 86_400, "peak_to_average": 2},
            "latency": {"ttft_p95_ms": 500, "e2e_p95_ms": 3000},
        }
    )
    assert serving_shape(spec) == (2048, 6)  # 2 req/s at peak x 3 s in flight


def test_unknown_candidate_suggests_close_ids() -> None:
    with pytest.raises(UnknownModelError) as info:
        check_spec(_spec(candidates=["openai/gpt4o-mini"]))
    assert "openai/gpt-4o-mini" in str(info.value)


def test_check_cli_json_and_errors(tmp_path: Path) -> None:
    result = runner.invoke(app, ["check", str(REPO / "examples/quickstart/llmpick.yaml"), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    ids = [c["id"] for c in data["candidates"]]
    assert "local/smollm2-135m-instruct" in ids
    for candidate in data["candidates"]:
        assert set(candidate) >= {"id", "eligible", "reasons"}
        for reason in candidate["reasons"]:
            assert set(reason) >= {"rule", "passed", "message"}

    bad = tmp_path / "spec.yaml"
    bad.write_text("candidates: [openai/gpt4o-mini]\n")
    result = runner.invoke(app, ["check", str(bad)])
    assert result.exit_code == 2
    assert "gpt-4o-mini" in result.output and "Traceback" not in result.output


def test_without_a_pinned_quantization_the_best_fitting_one_is_used() -> None:
    spec = _spec(
        constraints={"infrastructure": {"hardware": ["2xL4"], "may_rent_cloud_gpus": False}},
        needs={"volume": {"requests_per_day": 100}},
        candidates=["mistral/mistral-small-24b-instruct-2501"],
    )
    reason = _reason(_verdicts(spec)["mistral/mistral-small-24b-instruct-2501"], "hardware")
    assert reason["passed"], reason
    assert reason["details"]["quantization"] not in {"bf16", "fp16"}  # 48 GB of bf16 weights
    assert reason["details"]["quantization"] in reason["message"]
