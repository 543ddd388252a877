"""`llmpick serve MODEL`: an OpenAI-compatible server for a bundled or local GGUF model."""

from __future__ import annotations

import os
import sys

import typer

from llmpick.cli._output import console


def register(app: typer.Typer) -> None:
    """Add `serve` to the root app."""
    app.command("serve")(serve)


def serve(
    model: str = typer.Argument(
        ..., help="A bundled model id (local/smollm2-135m-instruct) or a .gguf file."
    ),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", "-p", min=1, max=65535, help="Port to listen on."),
    threads: int | None = typer.Option(
        None, "--threads", min=1, help="CPU threads (default: llama.cpp's choice)."
    ),
    context: int = typer.Option(2048, "--context", min=256, help="Context window, tokens."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the command; start nothing."),
) -> None:
    """Serve a GGUF model over the OpenAI API with llama.cpp, until Ctrl-C.

    The server answers one request at a time on CPU: enough to try the self-hosted path offline
    (point a candidate's `endpoint` at it, then `llmpick loadtest`), not to size production.

    Example: llmpick serve local/smollm2-135m-instruct --port 8000
    """
    from llmpick.serving import llamacpp_server_command, served_model

    served = served_model(model)  # errors name the bundled models; the CLI wrapper prints them
    command = llamacpp_server_command(
        model, host=host, port=port, threads=threads, context_tokens=context
    )
    if dry_run:
        typer.echo(" ".join(command))
        return
    catalog_line = f"\n    catalog_id: {served.catalog_id}" if served.catalog_id else ""
    console.print(
        f"Serving {model} at [bold]http://{host}:{port}/v1[/] as model {served.name!r}; "
        "Ctrl-C stops it. In a spec:\n"
        f"  - name: {served.name}-served\n"
        f'    endpoint: {{base_url: "http://{host}:{port}/v1", model: {served.name}}}'
        f"{catalog_line}",
        highlight=False,
        soft_wrap=True,
    )
    sys.stdout.flush()
    # Become the server: Ctrl-C and signals reach it directly, and no Python wrapper lingers.
    os.execv(command[0], command)
