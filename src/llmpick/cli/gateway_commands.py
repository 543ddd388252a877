"""`llmpick gateway`: the OpenAI-compatible gateway, its schema, key hashing and shadow reports."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from llmpick.cli._output import DB_HELP, console, fail, print_json

gateway_app = typer.Typer(
    help="Serve the OpenAI-compatible gateway (routing, fallback, guardrails, accounting).",
    invoke_without_command=True,
)


def register(app: typer.Typer) -> None:
    """Add the `gateway` group to the root app."""
    app.add_typer(gateway_app, name="gateway")


@gateway_app.callback()
def gateway(
    ctx: typer.Context,
    config: Path | None = typer.Option(
        None, "--config", "-c", help="The gateway config (gateway.yaml)."
    ),
    from_decision: Path | None = typer.Option(
        None,
        "--from-decision",
        help="Start from a decision.json: the chosen model primary, the runner-up fallback.",
    ),
    host: str | None = typer.Option(
        None, "--host", help="Address to bind (default: the config's, else 127.0.0.1)."
    ),
    port: int | None = typer.Option(
        None, "--port", "-p", min=0, max=65535, help="Port (default: the config's, else 8080)."
    ),
    db: Path | None = typer.Option(None, "--db", help=DB_HELP),
    check: bool = typer.Option(False, "--check", help="Validate the config and exit."),
) -> None:
    """Serve an OpenAI-compatible gateway in front of the configured backends, until Ctrl-C.

    Example: llmpick gateway --config gateway.yaml --port 8080
    """
    if ctx.invoked_subcommand is not None:
        return
    import logging

    from llmpick.gateway import load_gateway_config, run_gateway

    if (config is None) == (from_decision is None):
        fail("give --config gateway.yaml or --from-decision llmpick-report/decision.json")
    if config is not None:
        loaded = load_gateway_config(config)
    else:
        from llmpick.gateway import config_from_decision

        assert from_decision is not None
        loaded = config_from_decision(from_decision)
    if check:
        routes = ", ".join(r.model for r in loaded.routes)
        console.print(f"config OK: {len(loaded.backends)} backend(s), routes: {routes}")
        return
    # One line per request, written in batches by a thread of its own: the event loop only
    # appends the record (see llmpick.gateway.BatchedLogHandler for the measurement).
    from llmpick.gateway import BatchedLogHandler

    handler = BatchedLogHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler])
    try:
        run_gateway(
            loaded,
            host=host,
            port=port,
            db_path=db,
            on_ready=lambda url: print(f"gateway on {url} (Ctrl-C stops it)", flush=True),
        )
    finally:
        handler.close()


@gateway_app.command("schema")
def schema(
    output: Path | None = typer.Option(None, "--output", "-o", help="Write to this file."),
) -> None:
    """Print the JSON Schema of gateway.yaml (for editor completion and checks).

    Example: llmpick gateway schema -o gateway.schema.json
    """
    from llmpick.gateway import gateway_json_schema

    text = json.dumps(gateway_json_schema(), indent=2) + "\n"
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        console.print(f"wrote {output}")


@gateway_app.command("hash-key")
def hash_key_command(
    name: str = typer.Option("default", "--name", help="Who holds the key (for the config)."),
) -> None:
    """Read a virtual key from stdin and print the config entry holding only its SHA-256.

    Example: openssl rand -hex 24 | tee key.txt | llmpick gateway hash-key --name team-a
    """
    from llmpick.gateway import hash_key

    key = sys.stdin.readline().strip()
    if len(key) < 16:
        fail("a key needs at least 16 characters (e.g. `openssl rand -hex 24`)")
    print(f"auth:\n  keys:\n    - name: {name}\n      sha256: {hash_key(key)}")


@gateway_app.command("shadow-report")
def shadow_report(
    scorer: list[str] = typer.Option(
        ["json_valid"], "--scorer", "-s", help="Scorer type from the evaluation registry."
    ),
    options: str | None = typer.Option(
        None, "--options", help='JSON options for the scorers, e.g. \'{"pattern": "^yes"}\'.'
    ),
    route: str | None = typer.Option(None, "--route", help="Only this route's pairs."),
    reference: str = typer.Option(
        "none",
        "--reference",
        help="none, or primary: the route's answer is the expected one (agreement).",
    ),
    limit: int = typer.Option(10_000, "--limit", min=1, help="Newest pairs to score."),
    db: Path | None = typer.Option(None, "--db", help=DB_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Score stored shadow pairs with evaluation scorers and compare them, paired, as a run.

    Example: llmpick gateway shadow-report --scorer exact --reference primary
    """
    from llmpick.gateway import ShadowScorer, score_shadow_pairs
    from llmpick.store import default_db_path

    if reference not in ("none", "primary"):
        fail("--reference is none or primary")
    parsed = json.loads(options) if options else None
    report = score_shadow_pairs(
        db or default_db_path(),
        [ShadowScorer(kind, options=parsed) for kind in scorer],
        route=route,
        reference=reference,  # type: ignore[arg-type]
        limit=limit,
    )
    summary = report.summary
    if as_json:
        print_json({"run_id": report.run_id, "pairs": report.pairs, **summary.to_dict()})
        return
    console.print(
        f"{report.pairs} shadow pair(s) scored as run [bold]{report.run_id}[/] "
        f"({report.challenger_errors} challenger error(s)); `llmpick runs show {report.run_id}`"
    )
    for c in summary.candidates:
        for metric, m in c.metrics.items():
            if m.mean is not None:
                console.print(
                    f"  {c.label}: {metric} {m.mean:.3f} [{m.ci_low:.3f}, {m.ci_high:.3f}] n={m.n}"
                )
    for comp in summary.comparisons:
        p = f", p={comp.p_value:.3g}" if comp.p_value is not None else ""
        console.print(
            f"  {comp.metric}: {comp.a} - {comp.b} = {comp.diff:+.3f} "
            f"[{comp.ci_low:+.3f}, {comp.ci_high:+.3f}] ({comp.method}{p})"
        )
