"""``flowdeck batch``'s options read and checked before anything is read or started."""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Sequence
from pathlib import Path

from flowdeck._batch import (
    Journal,
)
from flowdeck._cli.common import EXIT_USAGE, fail

RATE_UNITS = {"s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}


def parse_rate(rate: str | None) -> float | None:
    """``--rate``: starts per second, minute or hour (``10/s``, ``300/m``, ``1000/h``; a bare number is per
    second), as starts per second.

    >>> parse_rate("30/m"), parse_rate("2")
    (0.5, 2.0)
    """
    if rate is None:
        return None
    number, per, unit = rate.strip().partition("/")
    forms = "like 10/s, 300/m or 1000/h"
    if per and unit.strip().lower() not in RATE_UNITS:  # a bare number is per second
        fail(f"--rate {rate!r}: expected starts per second, minute or hour, {forms}", EXIT_USAGE)
    try:
        value = float(number)
    except ValueError:
        fail(f"--rate {rate!r}: expected a number of starts, {forms}", EXIT_USAGE)
    if not math.isfinite(value):
        fail(f"--rate {rate!r}: must be a finite number of starts (leave --rate out for no limit)", EXIT_USAGE)
    if value <= 0:
        fail(f"--rate {rate!r}: must be more than 0 starts", EXIT_USAGE)
    return value / RATE_UNITS.get(unit.strip().lower(), 1.0)


def parse_map(items: Sequence[str]) -> dict[str, str]:
    """``--map COLUMN=INPUT`` options: each column mapped once, each input from one column (else exit 2).

    The same ``--map`` given twice is harmless; two answers for one column or input are refused rather
    than one kept silently.
    """
    renames: dict[str, str] = {}
    for item in items:
        src, sep, dst = item.partition("=")
        if not sep or not src or not dst:
            fail(f"--map {item!r}: expected 'column=input_name'", EXIT_USAGE)
        if renames.get(src, dst) != dst:
            fail(f"--map: column {src!r} given twice ({src}={renames[src]} and {item}); map it once", EXIT_USAGE)
        other = next((column for column, name in renames.items() if name == dst and column != src), None)
        if other is not None:
            fail(
                f"--map: input {dst!r} given twice (from columns {other!r} and {src!r}); map one column to it",
                EXIT_USAGE,
            )
        renames[src] = dst
    return renames


def parse_delimiter(value: str | None) -> str | None:
    """``--delimiter``: one character, or ``tab`` (a tab is hard to type into a shell)."""
    if value is None:
        return None
    separator = "\t" if value.lower() in ("tab", "\\t") else value
    if len(separator) != 1 or separator in '"\r\n' or separator.isalnum():
        fail(f"--delimiter {value!r}: expected one separator character, like ';', '|' or tab", EXIT_USAGE)
    return separator


def check_out(out_path: Path, input_file: Path, *, read_only: bool = False) -> str | None:
    """Refuse an --out that cannot work, before anything is read or written.

    ``read_only`` (``--check``, which writes nothing): whether the files could be written is asked,
    not tried, and a no is returned as a warning for the batch that will write them.
    """
    if str(out_path) == "-":
        fail("--out -: results go to a file, which is also what a rerun resumes from; give a file name", EXIT_USAGE)
    folder = out_path.parent
    if not folder.is_dir():
        fail(f"--out {out_path}: folder {folder} does not exist; create it first", EXIT_USAGE)
    if out_path.is_dir():
        fail(f"--out {out_path}: is a folder; give a file name, like {out_path / 'results.jsonl'}", EXIT_USAGE)
    if out_path.resolve() == input_file.resolve() or (
        out_path.exists() and input_file.exists() and out_path.samefile(input_file)
    ):
        fail(f"--out {out_path}: is the input file; write results to another file, like results.jsonl", EXIT_USAGE)
    if out_path.exists() and not out_path.is_file():
        fail(f"--out {out_path}: is not a regular file; results need a file a rerun can read back", EXIT_USAGE)
    if read_only:
        for path in (out_path, Journal(out_path).state):
            with contextlib.suppress(OSError, ValueError):  # a limit the file system does not say is no limit
                if len(os.fsencode(path.name)) > os.pathconf(folder, "PC_NAME_MAX"):  # no file of that name can be
                    fail(f"--out {out_path}: {path.name} is too long a file name; choose a shorter --out", EXIT_USAGE)
            target = path if path.exists() else folder
            if not os.access(target, os.W_OK):  # says no on a read-only file system too, root or not
                return (
                    f"--out {out_path}: {target} is not writable here; the batch itself (without --check) "
                    f"writes {path.name} and will refuse to start until it can"
                )
        return None
    # Both files must be writable before any run starts: finding out at the first result would leave
    # paid runs going with nowhere to record them.
    for path in (out_path, Journal(out_path).state):
        try:
            existed = path.exists()
            with path.open("a", encoding="utf-8"):
                pass
        except OSError as exc:
            fail(f"--out {out_path}: cannot write {path}: {exc.strerror or exc}", EXIT_USAGE)
        if not existed:
            path.unlink()
    return None
