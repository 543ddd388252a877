"""The `llmpick` command line: a thin shell over the library.

Each command group lives in its own module and exposes ``register(app)``; this module only
assembles them, so adding a command never means editing another command's file. Command modules
import the library inside their commands, so `llmpick --help` does not load pydantic, numpy or
the catalog.
"""

from __future__ import annotations

import functools
import importlib
import os
from collections.abc import Callable
from typing import Any

import typer

from llmpick import __version__
from llmpick._errors import LlmpickError
from llmpick.cli._output import fail

app = typer.Typer(
    name="llmpick",
    help="Choose between a self-hosted open-weight LLM and a closed API model, with evidence.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)

# Modules under llmpick.cli that define commands; each has `register(app: typer.Typer) -> None`.
_COMMAND_MODULES: tuple[str, ...] = (
    "spec_commands",
    "catalog_commands",
    "check_commands",
    "fit_commands",
    "provider_commands",
    "eval_commands",
    "runs_commands",
    "scorer_commands",
    "serve_commands",
    "loadtest_commands",
    "decide_commands",
    "probe_commands",
    "regress_commands",
    "deploy_commands",
    "gateway_commands",
    "tune_commands",
)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"llmpick {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version_callback, is_eager=True, help="Print the version."
    ),
    verbose: bool = typer.Option(
        False,
        "--verbose",
        help="Also print llama.cpp's own log lines (always kept in $LLMPICK_HOME/logs).",
    ),
) -> None:
    """Choose between a self-hosted open-weight LLM and a closed API model, with evidence.

    Example: llmpick init --preset on-prem-secure -o llmpick.yaml
    """
    if verbose:
        from llmpick._logs import VERBOSE_ENV

        os.environ[VERBOSE_ENV] = "1"  # read where llama.cpp is loaded, in this process


def _report_user_errors(callback: Callable[..., Any]) -> Callable[..., Any]:
    """Turn an `LlmpickError` into a one-line message and its exit status (2; 130 for an
    interrupt), never a traceback."""

    @functools.wraps(callback)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return callback(*args, **kwargs)
        except LlmpickError as exc:
            # A spec error carries every problem (FILE:LINE:COL each); print them all first,
            # except those the message already lists (a dataset error's bad rows).
            message = str(exc)
            for problem in getattr(exc, "problems", ()):
                if str(problem) not in message:
                    typer.echo(str(problem), err=True)
            fail(message, exc.exit_code)

    return wrapper


def _wrap_commands(typer_app: typer.Typer) -> None:
    for command in typer_app.registered_commands:
        if command.callback is not None:
            command.callback = _report_user_errors(command.callback)
    for group in typer_app.registered_groups:
        if group.typer_instance is not None:
            # A group that acts when called bare (`llmpick gateway --config ...`) does so in
            # its callback, which reports user errors the same way.
            info = group.typer_instance.registered_callback
            if info is not None and info.callback is not None:
                info.callback = _report_user_errors(info.callback)
            _wrap_commands(group.typer_instance)


for _name in _COMMAND_MODULES:
    importlib.import_module(f"llmpick.cli.{_name}").register(app)
_wrap_commands(app)


def main() -> None:
    """Entry point of the `llmpick` script."""
    app()
