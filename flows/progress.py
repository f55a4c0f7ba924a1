"""How far a command has come, on stderr: a bar on a terminal, a line every few seconds
otherwise (a log file, CI, a pipe), nothing with --no-progress.

Both take the same two calls: `stage(name)` when a `run` comes to harvest, extract, store or
export, and `update(done, total)` with the documents extracted so far.
"""

from __future__ import annotations

import sys
import time

LINE_EVERY = 5.0  # seconds between two progress lines when stderr is not a terminal


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class Bar:
    """rich's progress bar: the stage, documents done of all, time elapsed and time left."""

    def __init__(self, first: str, working: str = "extracting"):
        from rich.console import Console
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                                   TimeElapsedColumn, TimeRemainingColumn)

        self._bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                             TextColumn("elapsed"), TimeElapsedColumn(),
                             TextColumn("left"), TimeRemainingColumn(), console=Console(stderr=True))
        self._task = self._bar.add_task(first, total=None)
        self._working = working

    def start(self) -> None:
        global _running
        self._bar.start()
        _running = self

    def stop(self) -> None:
        global _running
        _running = None
        self._bar.stop()

    def stage(self, name: str) -> None:
        self._working = name
        self._bar.reset(self._task, description=name, total=None)  # each stage times itself

    def update(self, done: int, total: int) -> None:
        self._bar.update(self._task, description=self._working, completed=done, total=total)


class Lines:
    """A line on stderr at each stage and every LINE_EVERY seconds of extraction."""

    def __init__(self, command: str, every: float = LINE_EVERY):
        self._command = command
        self._every = every
        self._started = self._last = time.monotonic()
        self._first: float | None = None  # the first update: the time left is reckoned from it

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass

    def stage(self, name: str) -> None:
        self._say(f"{name}…")

    def update(self, done: int, total: int) -> None:
        now = time.monotonic()
        if not total:
            return
        if self._first is None:
            self._first = now
        if now - self._last < self._every:
            return
        self._last = now
        rate = done / (now - self._first) if done and now > self._first else 0
        left = f", left ~{_clock((total - done) / rate)}" if rate else ""
        self._say(f"extracting: {done}/{total} documents (elapsed {_clock(now - self._started)}{left})")

    def _say(self, text: str) -> None:
        print(f"nianbao {self._command}: {text}", file=sys.stderr, flush=True)


_running: Bar | None = None  # the bar on the terminal now


def stop_bar() -> None:
    """Stop the bar on the terminal, if one runs (a command interrupted): its thread would
    draw it again under the last line said. rich's locks are reentrant, so this is safe from
    a signal handler of the thread that may hold them."""
    if _running is not None:
        _running.stop()


def display(command: str, asked: bool | None, first: str = "starting Prefect"):
    """The display --progress asks for (None: a bar on a terminal, lines otherwise)."""
    if asked is False:
        return None
    if asked or sys.stderr.isatty():
        return Bar(first)
    return Lines(command)
