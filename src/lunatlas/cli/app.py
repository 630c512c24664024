"""The ``lunatlas`` click group and the helpers its commands share.

Every command catches :class:`lunatlas.errors.LunatlasError`, prints its message (which names
the file/field at fault) and exits with status 1; usage errors exit with status 2.
"""

from __future__ import annotations

import shlex
import sys
import time
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from lunatlas import __version__
from lunatlas.errors import LunatlasError

DEFAULT_OUT = Path("lunatlas-out")
DEFAULT_ATLAS = DEFAULT_OUT / "atlas.gpkg"
console = Console(stderr=True)
stdout = Console()


def handle_errors(func: Callable) -> Callable:
    """Turn Lunatlas errors into one clear line on stderr and exit status 1."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except LunatlasError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)

    return wrapper


class PlainProgress:
    """What :func:`steps_progress` gives when stderr is not a terminal (logs, CI, pipes):
    one plain, timestamped line per step instead of a redrawn bar."""

    def __init__(self) -> None:
        self._started = time.monotonic()
        self._tasks: dict[int, dict] = {}

    def __enter__(self) -> PlainProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def add_task(self, description: str, total: int | None = None) -> int:
        task = len(self._tasks)
        self._tasks[task] = {"description": description, "total": total, "done": 0}
        return task

    def update(self, task: int, description: str | None = None, **_ignored: object) -> None:
        if description and description != self._tasks[task]["description"]:
            self._tasks[task]["description"] = description
            self._line(task)

    def advance(self, task: int, amount: int = 1) -> None:
        self._tasks[task]["done"] += amount

    def _line(self, task: int) -> None:
        info = self._tasks[task]
        counter = f"{info['done'] + 1}/{info['total']} " if info["total"] else ""
        click.echo(f"[{time.monotonic() - self._started:6.1f} s] {counter}"
                   f"{info['description']}", err=True)


def steps_progress(total: int) -> Progress | PlainProgress:
    """A progress display for a fixed number of named steps (on stderr): a bar on a
    terminal, plain lines otherwise."""
    if not console.is_terminal:
        return PlainProgress()
    return Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                    TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(),
                    console=console, transient=False)


def command_line(ctx: click.Context) -> str:
    """The command with every non-default parameter spelled out, recorded in each edition so
    that it can be replayed."""
    parts = [ctx.command_path]
    for param in ctx.command.params:
        value = ctx.params.get(param.name)
        if value is None or value is False or value == () or value == param.default:
            continue
        if isinstance(param, click.Argument):
            parts.append(shlex.quote(str(value)))
        elif getattr(param, "is_flag", False):
            parts.append(param.opts[0])
        else:
            parts += [param.opts[0], shlex.quote(str(value))]
    if ctx.obj and ctx.obj.get("data_dir"):
        parts.insert(1, f"--data-dir {shlex.quote(str(ctx.obj['data_dir']))}")
    return " ".join(parts)


PLOT_SUFFIXES = (".png", ".svg", ".pdf")


def _plot_path(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
    """A plot file: not a folder, and a suffix that names the format (else matplotlib would
    quietly write PATH.png beside what was asked)."""
    if value is None:
        return None
    if value.is_dir():
        raise click.BadParameter(f"{value} is a folder; give a file name ending in "
                                 f"{', '.join(PLOT_SUFFIXES)}", ctx, param)
    if value.suffix.lower() not in PLOT_SUFFIXES:
        raise click.BadParameter(f"{value}: the name must end in {', '.join(PLOT_SUFFIXES)} "
                                 "(the suffix chooses the format)", ctx, param)
    return value


def plot_option(help_text: str):
    """``--plot PATH`` for a figure (PNG, SVG or PDF by suffix)."""
    return click.option("--plot", "plot_path", type=click.Path(path_type=Path), default=None,
                        callback=_plot_path, help=help_text)


atlas_option = click.option("--atlas", "atlas_path", type=click.Path(path_type=Path),
                            default=DEFAULT_ATLAS, show_default=True,
                            help="Atlas GeoPackage file.")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="lunatlas")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              envvar="LUNATLAS_DATA_DIR",
              help="Local data folder searched first (default: $LUNATLAS_DATA_DIR).")
@click.pass_context
def cli(ctx: click.Context, data_dir: Path | None) -> None:
    """Lunatlas: lunar geologic atlas, chronology, terrain and station siting."""
    ctx.obj = {"data_dir": data_dir}
