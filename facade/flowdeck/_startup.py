"""Ctrl-C while the ``flowdeck`` command is still starting: one line and exit 130, never a traceback.

The package's first import, before anything heavy, so the command's start-up (its imports) is
covered from its first moment: importing this module calls :func:`guard`, and the package
calls :func:`release` at its end. It imports nothing a program importing flowdeck would pay for.
"""

# _signal is loaded with the interpreter; `import signal` imports enum,
# time in which Ctrl-C would still print a traceback. No type stubs.
import _signal  # type: ignore[import-not-found]
import os
import sys

EXIT_INTERRUPTED = 130  # the shell's code for SIGINT, as the commands use
MESSAGE = b"flowdeck: interrupted while starting up; nothing was sent\n"
_installed: list[bool] = []


def is_command() -> bool:
    """Whether this process is the ``flowdeck`` command (its console script or ``python -m flowdeck``).

    Only then may an import change what Ctrl-C does: a program that imports flowdeck keeps its own.

    >>> is_command()  # pytest, not the command
    False
    """
    if sys.argv[:1] == ["-m"]:  # `python -m X` while X is being located: is X this package?
        args: list[str] = list(getattr(sys, "orig_argv", []))
        for i, arg in enumerate(args):
            if arg == "-m":
                return args[i + 1 : i + 2] == ["flowdeck"]
            if arg.startswith("-m"):
                return arg == "-mflowdeck"
        return False
    return bool(sys.argv) and os.path.basename(sys.argv[0]).removesuffix(".exe") == "flowdeck"


def _leave(_signum: int, _frame: object) -> None:
    # Nothing sent or written yet. Exiting from the handler also covers
    # places where Python only prints an exception and goes on.
    try:
        os.write(2, MESSAGE)
    finally:  # even with stderr closed
        os._exit(EXIT_INTERRUPTED)


def guard(*, command: bool = False) -> None:
    """From here until :func:`release`, Ctrl-C prints one line and exits 130 at once.

    A no-op outside the command (``command``: the caller knows it is), off the main thread, or where
    SIGINT has a handler of its own.

    >>> guard(); release()  # pytest is not the command: nothing changes
    """
    if _installed or not (command or is_command()):
        return
    if _signal.getsignal(_signal.SIGINT) is _signal.default_int_handler:
        try:
            _signal.signal(_signal.SIGINT, _leave)
        except ValueError:  # not the main thread: not ours to handle
            return
        _installed.append(True)


def release() -> None:
    """Ctrl-C raises KeyboardInterrupt again, for the commands to say what an interruption left behind."""
    if _installed:
        _signal.signal(_signal.SIGINT, _signal.default_int_handler)
        _installed.clear()


guard()
