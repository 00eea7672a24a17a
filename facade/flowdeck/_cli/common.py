"""The command line's frame: the typer app, exit codes, one-line errors, and SIGTERM as Ctrl-C."""

from __future__ import annotations

import contextlib
import math
import os
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import FrameType
from typing import Annotated, Any, NoReturn

import typer
from typer.core import TyperGroup

import flowdeck
from flowdeck._cli.output import (
    Ui,
    quiet_closed_pipe,
)
from flowdeck._providers import names as provider_names

EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED, EXIT_TERMINATED = 1, 2, 130, 143
EXIT_HUNG_UP = 129  # 128 + SIGHUP, as a shell reports it
STOP_CODES = (EXIT_HUNG_UP, EXIT_INTERRUPTED, EXIT_TERMINATED)


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where Ctrl-C raises KeyboardInterrupt, so that every command stops the same way."""

    signal_name, exit_code = "SIGTERM", EXIT_TERMINATED


class HungUp(Terminated):
    """SIGHUP (the terminal closed, an ssh session dropped): stops as SIGTERM does, exit 129."""

    signal_name, exit_code = "SIGHUP", EXIT_HUNG_UP


def interrupt_code(exc: BaseException) -> int:
    return exc.exit_code if isinstance(exc, Terminated) else EXIT_INTERRUPTED


def stop_for(signum: int) -> type[Terminated]:
    """The exception a stop signal raises in the command."""
    return HungUp if signum == signal.SIGHUP else Terminated


def _raise_stop(signum: int, _frame: FrameType | None) -> None:
    raise stop_for(signum)


def stop_signals() -> list[signal.Signals]:
    """SIGTERM and SIGHUP, less one the command was started ignoring (``nohup`` ignores SIGHUP)."""
    return [s for s in (signal.SIGTERM, signal.SIGHUP) if signal.getsignal(s) is not signal.SIG_IGN]


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM and SIGHUP raise :class:`Terminated` for the command's duration (only the main thread has
    signals)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.signal(s, _raise_stop) for s in stop_signals()}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


# Commands whose --json prints one JSON object whatever happens, an option's error included.
JSON_ALWAYS = ("run", "status", "cancel")


def _known_params(params: dict[str, Any]) -> dict[str, Any]:
    """What a command's error object says it was given, where parsing got that far."""
    names = {"ref": "workflow", "provider": "provider", "run_id": "run_id"}
    return {names[k]: v for k, v in params.items() if k in names and isinstance(v, str)}


class _Group(TyperGroup):
    """Usage errors as one line (``error: ...``) with exit 2, instead of a usage block."""

    def main(  # type: ignore[override]
        self, args: Sequence[str] | None = None, prog_name: str | None = None, **extra: Any
    ) -> Any:
        if not extra.pop("standalone_mode", True):  # an embedding program handles errors itself
            return super().main(args, prog_name, standalone_mode=False, **extra)
        try:
            code = super().main(args, prog_name, standalone_mode=False, **extra)
        except typer.TyperException as exc:  # the base of click's usage and parameter errors
            ctx = getattr(exc, "ctx", None)
            where = f" (see {ctx.command_path} --help)" if ctx is not None and exc.exit_code == EXIT_USAGE else ""
            ui = Ui.for_streams()
            ui.error(f"{exc.format_message()}{where}")
            if (
                ctx is not None
                and ctx.command.name in JSON_ALWAYS
                and "--json" in (sys.argv[1:] if args is None else args)
            ):
                ui.json({**_known_params(ctx.params), "error": ui.last_error, "exit_code": exc.exit_code})
            sys.exit(exc.exit_code)
        except typer.Abort as exc:  # an interruption no command handled
            Ui.for_streams().error("interrupted")
            sys.exit(interrupt_code(exc.__cause__ or exc))
        try:
            sys.stdout.flush()  # a closed pipe fails here, not at exit
        except BrokenPipeError:
            quiet_closed_pipe()
        sys.exit(code if isinstance(code, int) else 0)

    def invoke(self, ctx: Any) -> Any:  # click's Context, under typer's private path
        # Typer would exit 130 in silence on any interruption a command left unhandled, and 1 on a
        # closed pipe; both are said here, with the codes a shell uses.
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            quiet_closed_pipe()
        except KeyboardInterrupt as exc:
            Ui.for_streams().error("interrupted")
            raise typer.Exit(interrupt_code(exc)) from None


# The registry's providers, a registered one included.
REF_HELP = (
    f"Workflow: <provider>:<workflow id>, the provider one of {', '.join(provider_names())} "
    "(a reference of the wrong form is answered with the right one)"
)


app = typer.Typer(
    cls=_Group,
    help=f"Run workflows on hosted workflow providers: {', '.join(provider_names())}.",
    invoke_without_command=True,  # bare `flowdeck` prints the help (see _options)
    add_completion=False,
    pretty_exceptions_enable=False,  # its locals would show credentials
    rich_markup_mode=None,
)


_current: list[Ui] = []


def current_ui() -> Ui:
    if not _current:  # called without the app callback
        _current.append(Ui.for_streams())
    return _current[-1]


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"flowdeck {flowdeck.__version__}")
        raise typer.Exit()


def positive(value: float | None) -> float | None:
    if value is not None and not math.isfinite(value):  # `inf` and `nan` parse as floats
        raise typer.BadParameter(f"{value:g} must be a finite number of seconds")
    if value is not None and value <= 0:
        raise typer.BadParameter(f"{value:g} must be more than 0 seconds")
    return value


Verbose = Annotated[
    int, typer.Option("-v", "--verbose", count=True, help="-v: show each retry; -vv: every request and poll.")
]


@app.callback()
def _options(
    ctx: typer.Context,
    version: Annotated[
        bool, typer.Option("--version", callback=_show_version, is_eager=True, help="Print the version and exit.")
    ] = False,
    verbose: Verbose = 0,
    record: Annotated[
        str | None,
        typer.Option(
            "--record",
            metavar="FILE",
            help="Append every HTTP exchange to this HAR file, credentials removed (as FLOWDECK_RECORD).",
        ),
    ] = None,
) -> None:
    if ctx.invoked_subcommand is None:
        typer.echo(ctx.get_help())
        raise typer.Exit()
    ui = Ui.for_streams()
    _current[:] = [ui]
    ctx.with_resource(ui.logging_routed())
    ctx.with_resource(_sigterm_as_interrupt())
    ui.set_verbose(verbose)
    if record is not None:
        ctx.with_resource(_recording_to(record))


def _record_path(name: str) -> Path:
    """``--record``'s file, refused in the words ``batch --out`` uses where it cannot be one."""
    if not name.strip():  # an empty name would read as '.'
        fail(f"--record {name!r}: empty; give a file name, like traffic.har", EXIT_USAGE)
    path = Path(name)
    check_file_name(f"--record {name}", path, "traffic.har")
    return path


def check_file_name(option: str, path: Path, example: str) -> None:
    """Refuse, in one line, a file option whose folder is missing or whose name is a folder.

    ``option`` is how the message names it (``--out results.jsonl``); ``example`` a file name to
    suggest inside a folder given by mistake.
    """
    folder = path.parent
    if not folder.is_dir():
        what = "is a file, not a folder" if folder.exists() else "does not exist; create it first"
        fail(f"{option}: folder {folder} {what}", EXIT_USAGE)
    if path.is_dir():
        fail(f"{option}: is a folder; give a file name, like {path / example}", EXIT_USAGE)


@contextlib.contextmanager
def _recording_to(name: str) -> Iterator[None]:
    """Every client the command makes records to ``name``: checked here, before anything is sent."""
    from flowdeck._har import HarError, Recorder

    try:
        path = _record_path(name)
        Recorder(path)
    except (OSError, HarError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        fail(f"--record: cannot record to {name}: {reason.removeprefix(f'{name}: ')}", EXIT_USAGE)
    saved = os.environ.get("FLOWDECK_RECORD")
    os.environ["FLOWDECK_RECORD"] = str(path)
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("FLOWDECK_RECORD", None)
        else:
            os.environ["FLOWDECK_RECORD"] = saved


def fail(message: str, code: int = EXIT_FAILED) -> NoReturn:
    current_ui().error(message)
    raise typer.Exit(code)
