"""`llmpick tune SPEC --candidate NAME`: LoRA-tune a local model on the spec's training split."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    """Add the `tune` command to the root app."""
    app.command("tune")(tune)


def tune(
    spec: Path = typer.Argument(..., help="The decision spec (llmpick.yaml) with a dataset."),
    candidate: str = typer.Option(
        ...,
        "--candidate",
        "-c",
        help="The spec candidate to tune: a tuned/<name> (its `tune` settings) or a local model.",
    ),
    epochs: int | None = typer.Option(
        None, "--epochs", min=1, help="Passes over the training split (default: the spec's, 1)."
    ),
    rank: int | None = typer.Option(None, "--rank", min=1, help="LoRA rank r (default 8)."),
    lr: float | None = typer.Option(
        None, "--lr", min=1e-9, help="AdamW learning rate (default 5e-4)."
    ),
    max_steps: int | None = typer.Option(
        None, "--max-steps", min=1, help="Stop after this many optimizer steps."
    ),
    batch_size: int | None = typer.Option(
        None, "--batch-size", min=1, help="Examples per step (default 4)."
    ),
    max_length: int | None = typer.Option(
        None,
        "--max-length",
        min=8,
        help="Tokens per example, the prompt cut from the left (default 256).",
    ),
    seed: int | None = typer.Option(
        None, "--seed", help="Seed of the shuffling and initial weights (default 0)."
    ),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Folder for adapters (default: $LLMPICK_HOME/adapters)."
    ),
) -> None:
    """Train a LoRA adapter for one local candidate on the spec's dataset (the `tune` extra).

    The split is the spec's: `dataset.path` cut by id with `dataset.split` (70/15/15, seed 0)
    or the given `dataset.train_path`; the test items are never trained on. A tuned/<name>
    candidate trains with its `tune` settings, which the flags override. Prints the loss per
    step and the validation loss per epoch; the same base, data and settings reuse the adapter
    already trained (as `eval` and `decide` do). Ctrl-C stops after the step under way and saves
    a checkpoint (exit status 130); the same command again resumes from it.

    Example: llmpick tune llmpick.yaml --candidate tuned/smollm2-135m-instruct --epochs 2
    """
    from llmpick.spec import load_spec
    from llmpick.tuning import EpochRecord, StepRecord, TuneSettings
    from llmpick.tuning import tune as run_tune

    loaded = load_spec(spec)
    block = next((c.tune for c in loaded.spec.candidates if c.label == candidate), None)
    settings = TuneSettings.of(
        block,
        epochs=epochs,
        rank=rank,
        learning_rate=lr,
        max_steps=max_steps,
        batch_size=batch_size,
        max_length=max_length,
        seed=seed,
    )

    def on_step(step: StepRecord) -> None:
        typer.echo(f"step {step.step} epoch {step.epoch} loss {step.loss:.4f}")

    def on_epoch(epoch: EpochRecord) -> None:
        typer.echo(
            f"epoch {epoch.epoch} train loss {epoch.train_loss:.4f} "
            f"validation loss {epoch.validation_loss:.4f}"
        )

    def on_resume(steps: int) -> None:
        typer.echo(f"resuming from the checkpoint saved after step {steps}")

    typer.echo(f"tuning {candidate}: reading the data, loading the base weights (slow on a CPU)")
    result = run_tune(
        loaded,
        candidate,
        settings,
        output_root=output,
        on_step=on_step,
        on_epoch=on_epoch,
        on_resume=on_resume,
    )
    m = result.manifest
    sizes = ", ".join(f"{k} {v}" for k, v in m.split_sizes.items())
    if result.reused:
        typer.echo(f"reused the adapter trained before (same base, data and settings): {sizes}")
    else:
        after = ", ".join(map(str, m.resumed_after))
        resumed = f" (resumed after step {after})" if after else ""
        typer.echo(f"trained {len(m.steps)} steps in {m.wall_time_s:.1f} s{resumed}: {sizes}")
    typer.echo(f"adapter: {result.adapter_dir}")
