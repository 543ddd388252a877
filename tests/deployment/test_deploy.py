"""`llmpick deploy`: manifests that validate offline and agree with `llmpick fit`; the llama.cpp
target for a bundled model is started and answers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from importlib.resources import files
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from llmpick.cli import app
from llmpick.testing import free_port

runner = CliRunner()


def _fit(model: str, hardware: str) -> dict[str, object]:
    result = runner.invoke(app, ["fit", model, "--hardware", hardware, "--json"])
    assert result.exit_code == 0, result.output
    data: dict[str, object] = json.loads(result.stdout)
    return data


def test_kubernetes_manifests_validate_and_match_the_fit(tmp_path: Path) -> None:
    import kubernetes_validate

    model, hardware = "meta/llama-3.3-70b-instruct", "2xH100"
    result = runner.invoke(
        app, ["deploy", "--model", model, "-H", hardware, "-t", "kubernetes", "-o", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    documents = list(yaml.safe_load_all((tmp_path / "kubernetes.yaml").read_text()))
    version = kubernetes_validate.latest_version()
    for document in documents:
        kubernetes_validate.validate(document, version, strict=True)
    fit = _fit(model, hardware)
    (server,) = [d for d in documents if d["kind"] == "Deployment" and "gateway" not in
                 d["metadata"]["name"]]  # fmt: skip
    container = server["spec"]["template"]["spec"]["containers"][0]
    args = container["args"]
    flag = {args[i]: args[i + 1] for i in range(len(args) - 1) if args[i].startswith("--")}
    assert container["resources"]["limits"]["nvidia.com/gpu"] == fit["device_count"] == 2
    assert int(flag["--tensor-parallel-size"]) == fit["device_count"]
    assert int(flag["--max-model-len"]) == fit["context_tokens"]
    assert fit["quantization"] == "bf16" and "--quantization" not in flag  # bf16: no flag
    kinds = sorted(d["kind"] for d in documents)
    assert kinds == ["ConfigMap", "Deployment", "Deployment", "PersistentVolumeClaim",
                     "Service", "Service"]  # fmt: skip
    volumes = server["spec"]["template"]["spec"]["volumes"]
    assert {"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": "16Gi"}} in volumes
    assert {"startupProbe", "readinessProbe", "livenessProbe"} <= set(container)
    readme = (tmp_path / "README.md").read_text()
    assert "max concurrent sequences" in readme and "tensor parallel size | 2" in readme


def test_a_quantized_fit_is_deployed_at_that_quantization(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        ["deploy", "--model", "meta/llama-3.3-70b-instruct", "-H", "1xH100", "-t", "vllm",
         "-o", str(tmp_path)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    fit = _fit("meta/llama-3.3-70b-instruct", "1xH100")
    script = (tmp_path / "serve.sh").read_text()
    assert fit["best_quantization"] == "fp8"  # bf16 needs 149 GB per card
    assert "--quantization fp8" in script and "--tensor-parallel-size 1" in script


def test_compose_validates_against_the_compose_specification(tmp_path: Path) -> None:
    import jsonschema

    result = runner.invoke(
        app, ["deploy", "--model", "meta/llama-3.1-8b-instruct", "-H", "1xL4", "-t", "compose",
              "-o", str(tmp_path)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    schema_file = files("check_jsonschema.builtin_schemas.vendor").joinpath("compose-spec.json")
    schema = json.loads(schema_file.read_text())
    compose = yaml.safe_load((tmp_path / "compose.yaml").read_text())
    jsonschema.validate(compose, schema)
    devices = compose["services"]["model"]["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["count"] == 1
    assert yaml.safe_load((tmp_path / "gateway.yaml").read_text())["backends"][0]["endpoint"]


def test_a_model_that_does_not_fit_is_refused_with_the_smallest_hardware(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["deploy", "--model", "meta/llama-3.1-405b-instruct", "-H", "1xL4", "-t", "vllm",
              "-o", str(tmp_path / "out")],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "does not fit" in result.output and "smallest that fits" in result.output
    assert not (tmp_path / "out").exists()


def test_an_api_model_has_nothing_to_host(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["deploy", "--model", "openai/gpt-5-mini", "-H", "1xL4", "-o", str(tmp_path)]
    )
    assert result.exit_code == 2 and "closed API model" in result.output


@pytest.mark.local_model
@pytest.mark.slow
def test_the_llamacpp_target_for_a_bundled_model_starts_and_answers(tmp_path: Path) -> None:
    import urllib.request

    result = runner.invoke(
        app, ["deploy", "--model", "local/smollm2-135m-instruct", "-H", "cpu:8GB", "-t",
              "llamacpp", "--context", "512", "-o", str(tmp_path)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    port = free_port()
    env = dict(os.environ, PORT=str(port), LLMPICK=str(Path(sys.executable).parent / "llmpick"))
    process = subprocess.Popen(
        ["sh", str(tmp_path / "serve.sh")],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        body = json.dumps(
            {"model": "smollm2-135m-instruct", "max_tokens": 4,
             "messages": [{"role": "user", "content": "Say hi"}]}
        ).encode()  # fmt: skip
        answer = None
        for _ in range(240):
            try:
                request = urllib.request.Request(
                    f"http://127.0.0.1:{port}/v1/chat/completions",
                    data=body,
                    headers={"Content-Type": "application/json"},
                )
                with urllib.request.urlopen(request, timeout=30) as response:
                    answer = json.loads(response.read())
                break
            except OSError:
                if process.poll() is not None:
                    raise AssertionError("the server exited") from None
                time.sleep(0.5)
        assert answer is not None and answer["choices"][0]["message"]["content"] is not None
    finally:
        process.terminate()
        process.wait(timeout=20)
