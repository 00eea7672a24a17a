"""``specpipe`` (or ``python -m specpipe``): flowdeck's spec pipeline from the command line."""

from __future__ import annotations

import sys

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
    return run(argv)


if __name__ == "__main__":
    sys.exit(main())
