"""Progress of a run: one Rich bar per candidate on a terminal, plain lines elsewhere.

Piped (`llmpick eval spec.yaml | cat`) or in CI, Rich cannot redraw bars and would show nothing
until the end, so the same sink prints a line per candidate when it starts, at every tenth of
the way (or every 10 seconds, for slow local models) and when it finishes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
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

__all__ = ["PlainProgress", "RichProgress"]


class _RateColumn(TextColumn):
    def __init__(self) -> None:
        super().__init__("")

    def render(self, task):  # type: ignore[no-untyped-def]
        from rich.text import Text

        speed = task.finished_speed or task.speed
        unit = task.fields.get("unit", "items")
        return Text("" if speed is None else f"{speed:,.1f} {unit}/s", style="progress.data.speed")


class RichProgress:
    """`ProgressSink` drawing bars on stderr; use as a context manager around the run.

    When that console is not a terminal it prints plain lines instead (`PlainProgress`).
    """

    def __init__(self, console: Console | None = None) -> None:
        console = console or Console(stderr=True)
        self._plain = None if console.is_terminal else PlainProgress(console)
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            _RateColumn(),
            TimeRemainingColumn(),
            TextColumn("{task.fields[note]}"),
            console=console,
            refresh_per_second=8,
        )
        self._tasks: dict[str, TaskID] = {}

    def __enter__(self) -> RichProgress:
        if self._plain is None:
            self._progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._plain is None:
            self._progress.stop()

    def start(self, label: str, total: int, completed: int, unit: str = "items") -> None:
        if self._plain is not None:
            self._plain.start(label, total, completed, unit)
            return
        note = f"resumed at {completed}" if completed else ""
        # The description and note columns are Rich markup: a label like `q[4]` must show as is.
        self._tasks[label] = self._progress.add_task(
            escape(label), total=total, completed=completed, note=escape(note), unit=unit
        )

    def advance(self, label: str, amount: int = 1, note: str | None = None) -> None:
        if self._plain is not None:
            self._plain.advance(label, amount, note)
            return
        if note is None:
            self._progress.advance(self._tasks[label], amount)
        else:
            self._progress.update(self._tasks[label], advance=amount, note=escape(note))

    def finish(self, label: str, note: str) -> None:
        if self._plain is not None:
            self._plain.finish(label, note)
            return
        self._progress.update(self._tasks[label], note=escape(note))


@dataclass
class _Count:
    total: int
    done: int
    started: float
    resumed_at: int
    last_line: float
    last_tenth: int
    unit: str = "items"
    note: str | None = None


class PlainProgress:
    """`ProgressSink` printing plain lines (no cursor moves), for pipes, logs and CI.

    A candidate gets a line when it starts, each time it passes another tenth of its items or
    10 seconds after its last line, and when it finishes; each line is flushed at once.
    """

    interval_s = 10.0

    def __init__(self, console: Console | None = None) -> None:
        self._console = console or Console(stderr=True)
        self._counts: dict[str, _Count] = {}

    def start(self, label: str, total: int, completed: int, unit: str = "items") -> None:
        now = time.monotonic()
        self._counts[label] = _Count(
            total, completed, now, completed, now, self._tenth(completed, total), unit
        )
        resumed = f", resumed at {completed}" if completed else ""
        self._line(f"{label}: {completed}/{total} {unit}{resumed}")

    def advance(self, label: str, amount: int = 1, note: str | None = None) -> None:
        count = self._counts[label]
        count.done += amount
        if note is not None:
            count.note = note
        now = time.monotonic()
        tenth = self._tenth(count.done, count.total)
        if count.done >= count.total:
            return  # `finish` says it
        if tenth > count.last_tenth or now - count.last_line >= self.interval_s:
            count.last_tenth = tenth
            count.last_line = now
            said = f", {count.note}" if count.note else ""
            self._line(
                f"{label}: {count.done}/{count.total} {count.unit}{said}{self._pace(count, now)}"
            )

    def finish(self, label: str, note: str) -> None:
        count = self._counts[label]
        pace = self._pace(count, time.monotonic(), left=False)
        self._line(f"{label}: {count.done}/{count.total} {count.unit}, {note}{pace}")

    @staticmethod
    def _tenth(done: int, total: int) -> int:
        return 10 * done // total if total else 10

    @staticmethod
    def _pace(count: _Count, now: float, *, left: bool = True) -> str:
        elapsed = now - count.started
        fresh = count.done - count.resumed_at
        if elapsed <= 0 or fresh <= 0:
            return ""
        rate = fresh / elapsed
        text = f", {rate:,.1f} {count.unit}/s"
        remaining = count.total - count.done
        if left and remaining / rate >= 1:
            text += f", about {remaining / rate:,.0f} s left"
        return text

    def _line(self, text: str) -> None:
        self._console.print(text, markup=False, highlight=False, soft_wrap=True)
        self._console.file.flush()
