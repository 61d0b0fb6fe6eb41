"""Progress bars for long steps, on stderr, for the CLI (the pure core only calls back).

``task_progress`` yields a callback ``update(what, done, total)`` matching
:data:`aidc.planner.pipeline.ProgressCallback`; other long commands (simulation,
validation, benchmarks) can pass the same callback to their loops. The bar is
transient (it disappears when the step ends) and is drawn only on an interactive
terminal, so pipes, files and ``--quiet``/``--json`` runs print nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

Update = Callable[[str, int, int], None]


def _ignore(what: str, done: int, total: int) -> None:
    return None


@contextmanager
def task_progress(label: str, console: Console, *, enabled: bool = True) -> Iterator[Update]:
    if not enabled or not console.is_terminal:
        yield _ignore
        return
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[what]}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task(label, total=None, what="")

        def update(what: str, done: int, total: int) -> None:
            progress.update(task, completed=done, total=total, what=what)

        yield update
