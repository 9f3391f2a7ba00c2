"""Progress of long audit work on a terminal: events done, their rate, time left.

`audit verify`, `audit monitor` and `audit export` report through `progress(...)`. On a
terminal (standard error is a TTY) it draws one line with rich; otherwise it draws nothing, so
cron mails and pipes carry only the result lines. `rich` is imported only when drawing.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol, TextIO


class Advance(Protocol):
    def __call__(self, done: int = 0, *, events: int = 0) -> None:
        """`done` more units of the total (bytes, events, steps), `events` more events."""

    def set_total(self, total: int | None) -> None:
        """The total, once it is known (e.g. from the export's first response header)."""


class _Quiet:
    def __call__(self, done: int = 0, *, events: int = 0) -> None:
        return None

    def set_total(self, total: int | None) -> None:
        return None


@contextmanager
def progress(
    description: str, *, total: int | None, stream: TextIO | None = None
) -> Iterator[Advance]:
    """A progress line on `stream` (default standard error) while the block runs, if it is a
    terminal. `total` is in the units passed as `done` (None: unknown, no time left)."""
    out = stream if stream is not None else sys.stderr
    if not out.isatty():
        yield _Quiet()
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        Progress,
        ProgressColumn,
        Task,
        TextColumn,
        TimeRemainingColumn,
    )
    from rich.text import Text

    class EventsColumn(ProgressColumn):
        """Events done and their rate (the task's `events` field over its elapsed time)."""

        def render(self, task: Task) -> Text:
            events = int(task.fields.get("events", 0))
            elapsed = task.elapsed or 0.0
            rate = events / elapsed if elapsed > 0 else 0.0
            return Text(f"{events:,} events  {rate:,.0f} events/s")

    columns: list[Any] = [
        TextColumn("{task.description}"),
        BarColumn(),
        EventsColumn(),
        TextColumn("left"),
        TimeRemainingColumn(),
    ]
    console = Console(file=out, force_terminal=True)
    with Progress(*columns, console=console, transient=False) as bar:
        task = bar.add_task(description, total=total, events=0)

        class Bar:
            counted = 0
            pending = 0
            last = 0.0
            total_now = total

            def __call__(self, done: int = 0, *, events: int = 0) -> None:
                self.counted += events
                self.pending += done
                now = time.monotonic()
                # Updating rich costs more than a verifier's line: at most 20 times a second.
                if now - self.last >= 0.05:
                    self.last = now
                    bar.update(task, advance=self.pending, events=self.counted)
                    self.pending = 0

            def set_total(self, new_total: int | None) -> None:
                self.total_now = new_total
                bar.update(task, total=new_total)

        advance = Bar()
        yield advance
        bar.update(task, advance=advance.pending, events=advance.counted)
        if advance.total_now is not None:
            bar.update(task, completed=advance.total_now)
