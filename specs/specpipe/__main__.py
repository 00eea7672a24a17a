"""``specpipe`` (or ``python -m specpipe``): flowdeck's spec pipeline from the command line."""

from __future__ import annotations

import os
import sys

EXIT_CLOSED_PIPE = 141  # 128 + SIGPIPE, as a shell reports it
_MISSING_DEPS = "specpipe needs flowdeck's development dependencies: pip install 'flowdeck[dev]' ({})"


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code.

    The pipeline's libraries (PyYAML, python-jsonpath, openapi-spec-validator, the generator) come
    with the ``[dev]`` extra, not with flowdeck itself; without them this says so in one line.
    """
    try:
        from specpipe._cli import run
    except ImportError as exc:
        print(_MISSING_DEPS.format(f"missing: {exc.name or exc}"), file=sys.stderr)
        return 1
    try:
        code = run(argv)
        sys.stdout.flush()  # a closed pipe fails here, not at exit
    except BrokenPipeError:
        _quiet_stdout()
        return EXIT_CLOSED_PIPE
    return code


def _quiet_stdout() -> None:
    """The reader went away (``specpipe report A B | head -1``): end without a traceback.

    Python flushes stdout again at exit, which would fail the same way and print "Exception ignored";
    pointing the descriptor at /dev/null makes that last flush succeed (the recipe of Python's docs,
    "Note on SIGPIPE" in the signal module).
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


if __name__ == "__main__":
    sys.exit(main())
