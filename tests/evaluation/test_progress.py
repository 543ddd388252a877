"""Plain progress lines (pipes, CI): what is counted, how it goes, and the pace."""

from __future__ import annotations

import io

from rich.console import Console

from llmpick.evaluation import PlainProgress


def _sink() -> tuple[PlainProgress, io.StringIO]:
    out = io.StringIO()
    return PlainProgress(Console(file=out, width=200)), out


def test_items_are_counted_by_default_and_a_resumed_run_says_where_it_resumed() -> None:
    sink, out = _sink()
    sink.start("local/a", 20, 5)
    for _ in range(15):
        sink.advance("local/a")
    sink.finish("local/a", "done")
    lines = out.getvalue().splitlines()
    assert lines[0] == "local/a: 5/20 items, resumed at 5"
    assert lines[-1].startswith("local/a: 20/20 items, done, ")
    assert lines[-1].endswith(" items/s")


def test_training_steps_show_the_latest_loss() -> None:
    sink, out = _sink()
    sink.start("tuned/t (training)", 10, 0, unit="steps")
    for step in range(1, 10):
        sink.advance("tuned/t (training)", note=f"loss {1 / step:.3f}")
    sink.finish("tuned/t (training)", "trained")
    lines = out.getvalue().splitlines()
    assert lines[0] == "tuned/t (training): 0/10 steps"
    assert lines[1].startswith("tuned/t (training): 1/10 steps, loss 1.000, ")
    assert lines[-2].startswith("tuned/t (training): 9/10 steps, loss 0.111, ")
    assert "steps/s" in lines[-2] and "items" not in out.getvalue()
