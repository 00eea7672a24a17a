"""The ``flowdeck`` command (console script and ``python -m flowdeck``).

Without the ``[cli]`` extra it prints one line saying what to install and exits 2, the command
line's code for "cannot run as configured" (1 means the work itself failed), instead of a traceback.
"""

from __future__ import annotations

import sys

from flowdeck import _startup
from flowdeck._extras import extra_for, install_hint

EXIT_NOT_INSTALLED = 2
EXIT_INTERRUPTED = 130  # the shell's code for SIGINT, as the commands use


def main() -> None:
    """Run the command line, or say which extra is missing."""
    try:
        _startup.guard(command=True)
        try:
            from flowdeck._cli import app
        finally:
            _startup.release()
        app(prog_name="flowdeck")
    except KeyboardInterrupt:
        # Before any command's work: nothing sent. Commands that send say
        # what an interruption left behind.
        print("flowdeck: interrupted while starting up; nothing was sent", file=sys.stderr)
        sys.exit(EXIT_INTERRUPTED)
    except ModuleNotFoundError as exc:
        extra = extra_for(exc)
        if extra is None:
            raise
        what = "the flowdeck command" if extra == "cli" else "this command"
        print(f"flowdeck: {install_hint(what, extra, exc.name)}", file=sys.stderr)
        sys.exit(EXIT_NOT_INSTALLED)


if __name__ == "__main__":
    main()
