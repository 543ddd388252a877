"""`llmpick fit ...` through Typer's CliRunner, on the bundled catalog."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner, Result

from llmpick.catalog import load_catalog
from llmpick.cli import _output, app

runner = CliRunner()


# The real app: the same error handling (exit 2, one line) users get.
APP = app


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_output.console, "width", 250)


def _run(*args: str) -> Result:
    return runner.invoke(APP, ["fit", *args])


def _an_api_model() -> str:
    return next(entry.id for entry in load_catalog() if not entry.open_weights)


def test_table_over_all_quantizations_marks_the_best() -> None:
    # Llama 3.1 8B at 32k tokens on an L4 (23,034 MiB, 90% usable): bf16 needs 16 GB of weights
    # + 4.3 GB of KV + ~1.8 GB of runtime, too much; vLLM's next format, fp8, fits.
    result = _run("meta/llama-3.1-8b-instruct", "--hardware", "1xL4", "--context", "32768")
    assert result.exit_code == 0, result.output
    assert "fp8 *" in result.output
    assert "best quantization that fits: fp8" in result.output
    for quant in ("bf16", "fp8", "awq"):
        assert quant in result.output
    assert "q8_0" not in result.output  # a llama.cpp format: not what vLLM serves on a GPU
    assert "estimate" in result.output


def test_on_a_cpu_the_table_ranks_llama_cpp_formats() -> None:
    # On 16 GB of RAM the 16 GB of bf16 weights do not fit; llama.cpp's q8_0 (8.5 GB) does.
    result = _run("meta/llama-3.1-8b-instruct", "--hardware", "cpu:16GB")
    assert result.exit_code == 0, result.output
    assert "best quantization that fits: q8_0" in result.output
    assert "fp8" not in result.output.split("best quantization")[0]


def test_one_quantization_as_json() -> None:
    result = _run(
        "meta/llama-3.1-70b-instruct",
        "--hardware",
        "2xL4",
        "--context",
        "8192",
        "--concurrency",
        "8",
        "--quant",
        "q4_k_m",
        "--kv-dtype",
        "fp8",
        "--json",
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["model_id"] == "meta/llama-3.1-70b-instruct"
    assert data["quantization"] == "q4_k_m" and data["hardware"] == "2xL4"
    assert data["context_tokens"] == 8192 and data["concurrency"] == 8
    assert data["fits"] is False
    assert data["per_card"]["available_gb"] < 24
    assert "estimate" in data["decode_estimate_label"]


def test_local_gguf_model_is_judged_in_its_shipped_format() -> None:
    result = _run("local/gemma-3-270m", "--hardware", "cpu:2GB", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["quantization"] == "q4_k_m" and data["fits"] is True


def test_unknown_model_exits_2_with_suggestions() -> None:
    result = _run("meta/llama-3.1-70b-instrukt", "--hardware", "2xL4")
    assert result.exit_code == 2
    assert "did you mean" in result.output and "Traceback" not in result.output


def test_api_model_exits_2() -> None:
    result = _run(_an_api_model(), "--hardware", "2xL4")
    assert result.exit_code == 2
    assert "API model, nothing to host" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--hardware", "3xL5"), "did you mean L4"),
        (("--quant", "q3_zz"), "unknown quantization"),
        (("--kv-dtype", "int3"), "unknown KV-cache dtype"),
    ],
)
def test_bad_options_exit_2(args: tuple[str, ...], message: str) -> None:
    result = _run("meta/llama-3.1-8b-instruct", *args)
    assert result.exit_code == 2
    assert message in result.output


def test_list_devices() -> None:
    result = _run("--list-devices", "--json")
    assert result.exit_code == 0
    ids = {device["id"] for device in json.loads(result.stdout)}
    assert {"H200", "L4", "MI300X", "M3-Max", "CPU"} <= ids
