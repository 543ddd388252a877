"""Serving artefacts per target, one registry entry each: a plan in, files (name -> text) out.

- vllm / sglang: the server command (`serve.sh`)
- llamacpp: llama.cpp's server command (and, for a bundled model, `llmpick serve`)
- ollama: a Modelfile and the commands to create and run it
- compose: one host, the model server and the gateway in front
- kubernetes: Deployment + Service (GPU limits, /dev/shm, model cache, probes) and the gateway
- helm: values for the vLLM production stack chart
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import yaml

from llmpick.deploy._plan import DeploymentPlan

__all__ = ["TARGETS", "Files", "render_target"]

Files = dict[str, str]


class _PlainDumper(yaml.SafeDumper):
    """YAML without anchors and aliases: manifests are read by people and many tools."""

    def ignore_aliases(self, data: object) -> bool:
        return True


def _yaml(data: object) -> str:
    return yaml.dump(data, Dumper=_PlainDumper, sort_keys=False)


def _yaml_all(documents: Sequence[object]) -> str:
    return yaml.dump_all(documents, Dumper=_PlainDumper, sort_keys=False)


_PORT = 8000
_GATEWAY_PORT = 8080


def _name(plan: DeploymentPlan) -> str:
    return plan.model_id.split("/")[-1].lower().replace(".", "-").replace("_", "-")[:40]


def _vllm_args(plan: DeploymentPlan) -> list[str]:
    args = [
        "--model", plan.served_model,
        "--served-model-name", plan.model_id,
        "--tensor-parallel-size", str(plan.device_count),
        "--max-model-len", str(plan.context_tokens),
        "--max-num-seqs", str(plan.max_sequences),
        "--gpu-memory-utilization", f"{plan.gpu_memory_utilization:g}",
        "--enable-prefix-caching",
        "--port", str(_PORT),
    ]  # fmt: skip
    if plan.quantization in ("awq", "gptq", "fp8", "mxfp4"):
        args += ["--quantization", plan.quantization]
    if plan.kv_cache_dtype in ("fp8",):
        args += ["--kv-cache-dtype", plan.kv_cache_dtype]
    return args


def _script(lines: list[str]) -> str:
    head = "#!/usr/bin/env sh\n# Written by `llmpick deploy`; README.md says why each flag.\n"
    return head + "set -eu\n" + "\n".join(lines) + "\n"


def vllm(plan: DeploymentPlan) -> Files:
    args = _vllm_args(plan)[2:]  # `vllm serve` takes the model as its first argument
    return {"serve.sh": _script([f"exec vllm serve {plan.served_model} " + " ".join(args)])}


def sglang(plan: DeploymentPlan) -> Files:
    args = [
        "--model-path", plan.served_model, "--served-model-name", plan.model_id,
        "--tp", str(plan.device_count), "--context-length", str(plan.context_tokens),
        "--max-running-requests", str(plan.max_sequences),
        "--mem-fraction-static", f"{plan.gpu_memory_utilization:g}", "--port", str(_PORT),
    ]  # fmt: skip
    if plan.quantization in ("awq", "gptq", "fp8"):
        args += ["--quantization", plan.quantization]
    return {"serve.sh": _script(["exec python -m sglang.launch_server " + " ".join(args)])}


def llamacpp(plan: DeploymentPlan) -> Files:
    gpu_layers = "999" if plan.device_kind in ("gpu", "apple") else "0"
    lines = [
        'PORT="${PORT:-8000}"',
        'HOST="${HOST:-127.0.0.1}"',
    ]
    if plan.bundled:
        lines += [
            "# The bundled GGUF, served by llama.cpp through llmpick (offline):",
            f'exec "${{LLMPICK:-llmpick}}" serve {plan.model_id} --host "$HOST" --port "$PORT" '
            f"--context {plan.context_tokens * plan.max_sequences}",
        ]
    else:
        lines += [
            f'MODEL="${{MODEL:-{plan.model_id.split("/")[-1]}.{plan.quantization}.gguf}}"',
            f'exec llama-server -m "$MODEL" --host "$HOST" --port "$PORT" '
            f"-c {plan.context_tokens * plan.max_sequences} --parallel {plan.max_sequences} "
            f"-ngl {gpu_layers} --cont-batching",
        ]
    return {"serve.sh": _script(lines)}


def ollama(plan: DeploymentPlan) -> Files:
    modelfile = (
        f"# llmpick deploy: {plan.model_id} at {plan.quantization}\n"
        f"FROM ./{plan.model_id.split('/')[-1]}.{plan.quantization}.gguf\n"
        f"PARAMETER num_ctx {plan.context_tokens}\n"
        "PARAMETER temperature 0\n"
    )
    run = _script(
        [
            f"ollama create {_name(plan)} -f Modelfile",
            f"OLLAMA_NUM_PARALLEL={plan.max_sequences} exec ollama serve",
        ]
    )
    return {"Modelfile": modelfile, "serve.sh": run}


def _gateway_config(plan: DeploymentPlan, upstream: str) -> str:
    config = {
        "listen": {"host": "0.0.0.0", "port": _GATEWAY_PORT},
        "auth": {"keys_env": "LLMPICK_GATEWAY_KEYS"},
        "backends": [
            {
                "name": "primary",
                "endpoint": {"base_url": upstream, "model": plan.model_id},
                "external": False,
            }
        ],
        "routes": [{"model": plan.model_id, "primary": "primary"}],
    }
    return _yaml(config)


def compose(plan: DeploymentPlan) -> Files:
    server: dict[str, object] = {
        "image": "vllm/vllm-openai:latest"
        if plan.runtime == "vllm"
        else ("ghcr.io/ggml-org/llama.cpp:server"),
        "command": _vllm_args(plan)
        if plan.runtime == "vllm"
        else [
            "-m",
            "/models/model.gguf",
            "--host",
            "0.0.0.0",
            "--port",
            str(_PORT),
            "-c",
            str(plan.context_tokens * plan.max_sequences),
            "--parallel",
            str(plan.max_sequences),
        ],
        "ports": [f"{_PORT}:{_PORT}"],
        "volumes": ["model-cache:/root/.cache/huggingface", "./models:/models"],
        "shm_size": "16gb",
        "healthcheck": {
            "test": ["CMD", "curl", "-fsS", f"http://localhost:{_PORT}/health"],
            "interval": "30s",
            "timeout": "5s",
            "retries": 10,
            "start_period": "600s",
        },
        "restart": "unless-stopped",
    }
    if plan.gpus:
        server["deploy"] = {
            "resources": {
                "reservations": {
                    "devices": [{"driver": "nvidia", "count": plan.gpus, "capabilities": ["gpu"]}]
                }
            }
        }
    document = {
        "services": {
            "model": server,
            "gateway": {
                "image": "llmpick:latest",
                "command": ["llmpick", "gateway", "--config", "/etc/llmpick/gateway.yaml"],
                "ports": [f"{_GATEWAY_PORT}:{_GATEWAY_PORT}"],
                "volumes": ["./gateway.yaml:/etc/llmpick/gateway.yaml:ro"],
                "environment": {"LLMPICK_GATEWAY_KEYS": "${LLMPICK_GATEWAY_KEYS}"},
                "depends_on": {"model": {"condition": "service_healthy"}},
                "restart": "unless-stopped",
            },
        },
        "volumes": {"model-cache": {}},
    }
    return {
        "compose.yaml": _yaml(document),
        "gateway.yaml": _gateway_config(plan, f"http://model:{_PORT}/v1"),
    }


def _probe(path: str, initial: int, period: int, failures: int) -> dict[str, object]:
    return {
        "httpGet": {"path": path, "port": _PORT},
        "initialDelaySeconds": initial,
        "periodSeconds": period,
        "failureThreshold": failures,
    }


def kubernetes(plan: DeploymentPlan) -> Files:
    name = _name(plan)
    labels = {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "llmpick"}
    limits: dict[str, object] = {"memory": "64Gi"}
    requests: dict[str, object] = {"cpu": "4", "memory": "32Gi"}
    if plan.gpus:
        limits["nvidia.com/gpu"] = plan.gpus
        requests["nvidia.com/gpu"] = plan.gpus
    container = {
        "name": "model",
        "image": "vllm/vllm-openai:latest",
        "args": _vllm_args(plan),
        "ports": [{"name": "http", "containerPort": _PORT}],
        "resources": {"limits": limits, "requests": requests},
        "volumeMounts": [
            {"name": "dshm", "mountPath": "/dev/shm"},
            {"name": "model-cache", "mountPath": "/root/.cache/huggingface"},
        ],
        "startupProbe": _probe("/health", 30, 10, 90),  # weights can take minutes to load
        "readinessProbe": _probe("/health", 0, 10, 3),
        "livenessProbe": _probe("/health", 0, 30, 3),
    }
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "containers": [container],
                    "volumes": [
                        {"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": "16Gi"}},
                        {
                            "name": "model-cache",
                            "persistentVolumeClaim": {"claimName": f"{name}-model-cache"},
                        },
                    ],
                },
            },
        },
    }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "selector": labels,
            "ports": [{"name": "http", "port": _PORT, "targetPort": "http"}],
        },
    }
    claim = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": f"{name}-model-cache", "labels": labels},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": "200Gi"}},
        },
    }
    gateway_labels = {
        "app.kubernetes.io/name": f"{name}-gateway",
        "app.kubernetes.io/part-of": "llmpick",
    }
    gateway = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": f"{name}-gateway", "labels": gateway_labels},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": gateway_labels},
            "template": {
                "metadata": {"labels": gateway_labels},
                "spec": {
                    "containers": [
                        {
                            "name": "gateway",
                            "image": "llmpick:latest",
                            "args": ["gateway", "--config", "/etc/llmpick/gateway.yaml"],
                            "ports": [{"name": "http", "containerPort": _GATEWAY_PORT}],
                            "readinessProbe": {
                                "httpGet": {"path": "/ready", "port": _GATEWAY_PORT},
                                "periodSeconds": 10,
                            },
                            "livenessProbe": {
                                "httpGet": {"path": "/health", "port": _GATEWAY_PORT},
                                "periodSeconds": 30,
                            },
                            "resources": {"requests": {"cpu": "500m", "memory": "512Mi"}},
                            "volumeMounts": [{"name": "config", "mountPath": "/etc/llmpick"}],
                        }
                    ],
                    "volumes": [{"name": "config", "configMap": {"name": f"{name}-gateway"}}],
                },
            },
        },
    }
    config_map = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": f"{name}-gateway", "labels": gateway_labels},
        "data": {"gateway.yaml": _gateway_config(plan, f"http://{name}:{_PORT}/v1")},
    }
    gateway_service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": f"{name}-gateway", "labels": gateway_labels},
        "spec": {
            "selector": gateway_labels,
            "ports": [{"name": "http", "port": _GATEWAY_PORT, "targetPort": "http"}],
        },
    }
    documents = [deployment, service, claim, config_map, gateway, gateway_service]
    return {"kubernetes.yaml": _yaml_all(documents)}


def helm(plan: DeploymentPlan) -> Files:
    values = {
        "servingEngineSpec": {
            "modelSpec": [
                {
                    "name": _name(plan),
                    "repository": "vllm/vllm-openai",
                    "tag": "latest",
                    "modelURL": plan.served_model,
                    "replicaCount": 1,
                    "requestCPU": 4,
                    "requestMemory": "32Gi",
                    "requestGPU": plan.gpus,
                    "pvcStorage": "200Gi",
                    "vllmConfig": {
                        "tensorParallelSize": plan.device_count,
                        "maxModelLen": plan.context_tokens,
                        "gpuMemoryUtilization": plan.gpu_memory_utilization,
                        "enablePrefixCaching": True,
                        "extraArgs": ["--max-num-seqs", str(plan.max_sequences)],
                    },
                }
            ]
        }
    }
    return {"values.yaml": _yaml(values)}


TARGETS: dict[str, Callable[[DeploymentPlan], Files]] = {
    "vllm": vllm,
    "sglang": sglang,
    "llamacpp": llamacpp,
    "ollama": ollama,
    "compose": compose,
    "kubernetes": kubernetes,
    "helm": helm,
}


def render_target(target: str, plan: DeploymentPlan) -> Files:
    """The files of one target, plus README.md with every choice and its reason."""
    from llmpick.deploy._plan import DeployError

    try:
        writer = TARGETS[target]
    except KeyError:
        raise DeployError(f"unknown target {target!r}; available: {', '.join(TARGETS)}") from None
    if target in ("vllm", "sglang", "kubernetes", "helm") and plan.device_kind != "gpu":
        raise DeployError(
            f"{target} serves on GPUs; {plan.hardware} has none: use --target llamacpp, ollama "
            "or compose"
        )
    files = writer(plan)
    files["README.md"] = _readme(plan, target, files)
    return files


def _readme(plan: DeploymentPlan, target: str, files: Files) -> str:
    lines = [
        f"# {plan.model_id} on {plan.hardware} ({target})",
        "",
        "Written by `llmpick deploy`. Every flag below comes from the memory-fit estimate that "
        f"`llmpick fit {plan.model_id} --hardware {plan.hardware} --context "
        f"{plan.context_tokens}` prints; it is an estimate: load-test the running server "
        "(`llmpick loadtest`) before sizing production on it.",
        "",
        "| Setting | Value | Why |",
        "|---|---|---|",
        *[f"| {s.name} | {s.value} | {s.reason} |" for s in plan.settings],
        "",
        "Files: " + ", ".join(f"`{name}`" for name in files) + ".",
    ]
    return "\n".join(lines) + "\n"
