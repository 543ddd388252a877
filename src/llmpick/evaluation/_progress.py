"""Rich progress bars for a run: one bar per candidate, with items/s and time left."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)

__all__ = ["RichProgress"]


class _RateColumn(TextColumn):
    def __init__(self) -> None:
        super().__init__("")

    def render(self, task):  # type: ignore[no-untyped-def]
        from rich.text import Text

        speed = task.finished_speed or task.speed
        return Text("" if speed is None else f"{speed:,.1f} items/s", style="progress.data.speed")


class RichProgress:
    """`ProgressSink` drawing to stderr; use as a context manager around the run."""

    def __init__(self, console: Console | None = None) -> None:
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            _RateColumn(),
            TimeRemainingColumn(),
            TextColumn("{task.fields[note]}"),
            console=console or Console(stderr=True),
            refresh_per_second=8,
        )
        self._tasks: dict[str, TaskID] = {}

    def __enter__(self) -> RichProgress:
        self._progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._progress.stop()

    def start(self, label: str, total: int, completed: int) -> None:
        note = f"resumed at {completed}" if completed else ""
        # The description and note columns are Rich markup: a label like `q[4]` must show as is.
        self._tasks[label] = self._progress.add_task(
            escape(label), total=total, completed=completed, note=escape(note)
        )

    def advance(self, label: str, amount: int = 1) -> None:
        self._progress.advance(self._tasks[label], amount)

    def finish(self, label: str, note: str) -> None:
        self._progress.update(self._tasks[label], note=escape(note))
