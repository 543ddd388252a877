"""`llmpick deploy`: serving artefacts for the chosen model, sized from the memory fit."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from llmpick.cli._output import console, fail

_TARGETS = "vllm, sglang, llamacpp, ollama, compose, kubernetes or helm"


def register(app: typer.Typer) -> None:
    """Add `deploy` to the root app."""
    app.command("deploy")(deploy_command)


def deploy_command(
    spec: Path | None = typer.Argument(
        None, help="A spec whose report folder holds decision.json (from `llmpick decide`)."
    ),
    model: str | None = typer.Option(None, "--model", help="Deploy this catalog model."),
    from_decision: Path | None = typer.Option(
        None, "--from-decision", help="Deploy the recommendation of this decision.json."
    ),
    hardware: str | None = typer.Option(
        None, "--hardware", "-H", help="Where it runs: 2xH100, 1xL4, cpu:8GB (default: placed)."
    ),
    target: str = typer.Option("vllm", "--target", "-t", help=f"One of {_TARGETS}."),
    context: int = typer.Option(4096, "--context", min=256, help="Max model length, tokens."),
    output: Path = typer.Option(Path("deploy"), "--output", "-o", help="Folder to write."),
) -> None:
    """Write serving artefacts whose flags come from the memory fit, with a README saying why.

    A closed API choice gets the gateway config only (routing, fallback to the runner-up).

    Example: llmpick deploy --model meta/llama-3.3-70b-instruct -H 2xH100 -t kubernetes -o k8s
    """
    from llmpick.deploy import DeployError, plan_deployment, write_deployment

    quantization = None
    if sum(x is not None for x in (spec, model, from_decision)) != 1:
        fail("give exactly one of SPEC, --model or --from-decision")
    if model is None:
        chosen, hardware_placed, quantization, gateway = _from_decision(spec, from_decision)
        if gateway is not None:
            from llmpick._files import write_text_atomic

            path = write_text_atomic(output / "gateway.yaml", gateway)
            console.print(
                f"The choice is a closed API model: nothing to host. Gateway config: {path} "
                "(llmpick gateway --config ...)"
            )
            return
        model = chosen
        hardware = hardware or hardware_placed
    if hardware is None:
        fail("give --hardware (the decision placed the model on none)")
    try:
        plan = plan_deployment(model, hardware, context_tokens=context, quantization=quantization)
        written = write_deployment(plan, target, output)
    except DeployError:
        raise
    console.print(
        f"{escape(plan.model_id)} at {plan.quantization} on {escape(plan.hardware)}: "
        f"{plan.max_sequences} sequences x {plan.context_tokens:,} tokens"
    )
    for path in written:
        console.print(f"  wrote {escape(str(path))}")


def _from_decision(
    spec: Path | None, decision_file: Path | None
) -> tuple[str, str | None, str | None, str | None]:
    """(model id, placed hardware, quantization, gateway config for a closed choice)."""
    from llmpick.decision import Decision
    from llmpick.spec import load_spec

    if decision_file is None:
        assert spec is not None
        loaded = load_spec(spec)
        decision_file = loaded.base_dir / loaded.spec.report.output_dir / "decision.json"
    if not decision_file.is_file():
        fail(f"{decision_file}: no decision.json; run `llmpick decide` first")
    try:
        decision = Decision.model_validate_json(decision_file.read_text(encoding="utf-8"))
    except ValueError as error:
        fail(f"{decision_file}: not a decision.json written by llmpick ({str(error)[:200]})")
    rec = decision.recommendation
    row = decision.candidate(rec.id)
    if row is None:
        fail(f"{decision_file}: {rec.headline}; there is no measured option to deploy")
    if rec.status != "chosen":
        console.print(
            f"[yellow]note:[/] {escape(rec.headline)}; deploying the best measured option"
        )
    if row.deployment == "api" or row.model_id is None:
        return row.id, None, None, _gateway_for(decision_file)
    serving = row.serving
    return (
        row.model_id,
        serving.hardware if serving else None,
        (serving.quantization if serving else None),
        None,
    )


def _gateway_for(decision_file: Path) -> str:
    """The gateway's own config from the decision: chosen model first, runner-up as fallback."""
    import yaml

    from llmpick.gateway import config_from_decision

    config = config_from_decision(decision_file)
    return yaml.safe_dump(config.model_dump(mode="json", exclude_none=True), sort_keys=False)
