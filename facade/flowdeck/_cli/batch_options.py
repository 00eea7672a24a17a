"""``flowdeck batch``'s options read and checked before anything is read or started."""

from __future__ import annotations

import codecs
import contextlib
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import attrs
import typer

from flowdeck._batch import BatchRow, Journal, distinct_refs
from flowdeck._cli.common import EXIT_USAGE, check_file_name, fail, positive
from flowdeck._errors import InvalidRequestError
from flowdeck._providers import get as provider_spec
from flowdeck._providers import parse_ref


def at_least_one(value: int | None) -> int | None:
    """A count option (``--concurrency``, ``--bulk``) in the words of the other options' checks."""
    if value is not None and value < 1:
        raise typer.BadParameter(f"{value} must be 1 or more")
    return value


Ref = Annotated[
    str, typer.Argument(metavar="REF", help="Workflow reference, or column:<name> to read it from each row")
]
InputName = Annotated[str, typer.Argument(metavar="INPUT_FILE", help="inputs.csv (with a header row) or inputs.jsonl")]
OutName = Annotated[str, typer.Option("--out", "-o", metavar="FILE", help="Results, one JSON line per row")]
Concurrency = Annotated[int, typer.Option(metavar="N", callback=at_least_one, help="Runs in flight at once")]
Rate = Annotated[
    str | None, typer.Option(metavar="R/s", help="Start at most R runs a second, minute or hour: 10/s, 300/m, 1000/h")
]
Timeout = Annotated[
    float | None, typer.Option(metavar="SECONDS", callback=positive, help="Seconds to wait for each run")
]
ColumnMap = Annotated[
    list[str] | None, typer.Option("--map", metavar="COLUMN=INPUT", help="Rename a column: 'CSV Header=input_name'")
]
Encoding = Annotated[str, typer.Option(metavar="NAME", help="The input file's text encoding (a UTF-8 BOM is fine)")]
Delimiter = Annotated[
    str | None,
    typer.Option(metavar="CHAR", help="The CSV file's field separator: , ; tab | (default: the one the file uses)"),
]
RetryUnknown = Annotated[
    bool, typer.Option("--retry-unknown", help="Start again rows whose start may have happened (may double-run)")
]
Reconcile = Annotated[
    bool,
    typer.Option(
        "--reconcile",
        help="First look for the runs of UNKNOWN rows at providers that list their runs, and wait on those found",
    ),
]
RetryRejected = Annotated[
    bool, typer.Option("--retry-rejected", help="Start again rows the provider refused (after a fix)")
]
RetryFailed = Annotated[
    bool,
    typer.Option(
        "--retry-failed", help="Start again rows whose run FAILED at the provider: each is a new run, paid again"
    ),
]
BulkSize = Annotated[
    int | None,
    typer.Option(
        metavar="N",
        callback=at_least_one,
        help="Rows per bulk task where the provider runs many inputs as one task (default: the provider's task "
        "size); 1: one run per row",
    ),
]
CheckOnly = Annotated[
    bool, typer.Option("--check", help="Check inputs, journal and credits; start nothing (exit 0 ready, 1 not)")
]
NoCheck = Annotated[bool, typer.Option("--no-check", help="Start without the pre-flight check of declared inputs")]
AdaptiveRate = Annotated[
    bool,
    typer.Option(
        "--adaptive-rate/--no-adaptive-rate",
        help="Slow starts down together when the provider's 429s show a quota (off by default)",
    ),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print the summary as one JSON object.")]


# Options a printed rerun command repeats where given.
RERUN = {
    "concurrency": "--concurrency",
    "rate": "--rate",
    "timeout": "--timeout",
    "encoding": "--encoding",
    "delimiter": "--delimiter",
    "bulk": "--bulk",
    "adaptive_rate": "--adaptive-rate",
    "no_check": "--no-check",
    "as_json": "--json",
}


def rerun_options(ctx: typer.Context) -> list[tuple[str, object, object]]:
    """(flag, value given, default) of each option a rerun repeats, read from the command's own parameters."""
    defaults = {param.name: param.default for param in ctx.command.params}
    return [(flag, ctx.params[name], defaults[name]) for name, flag in RERUN.items()]


@attrs.frozen
class Files:
    """The input and results files, checked: ``separator`` the CSV delimiter given, ``unwritable`` a
    warning for ``--check`` (which writes nothing) that the batch could not write its files."""

    input: Path
    out: Path
    separator: str | None
    unwritable: str | None


def check_files(
    input_name: str, out_name: str, delimiter: str | None, encoding: str, *, check_only: bool, no_check: bool
) -> Files:
    """The file options, refused (exit 2) before anything is read or written if they cannot work."""
    # An empty name would read as '.': say what was given.
    if not input_name.strip():
        fail(f"INPUT_FILE {input_name!r}: empty; give the input file, like leads.csv", EXIT_USAGE)
    if not out_name.strip():
        fail(f"--out {out_name!r}: empty; give a file name for the results, like results.jsonl", EXIT_USAGE)
    input_file, out_path = Path(input_name), Path(out_name)
    if input_name in ("-", "/dev/stdin") or (
        input_file.exists() and not input_file.is_dir() and not input_file.is_file()
    ):
        fail(
            f"INPUT_FILE {input_name}: batch reads a file, not stdin or a pipe, since a rerun reads it again to "
            "resume; save it first (... > leads.csv) and give that file",
            EXIT_USAGE,
        )
    separator = parse_delimiter(delimiter)
    if separator is not None and input_file.suffix.lower() in (".jsonl", ".ndjson"):
        fail(f"--delimiter: {input_name} is JSON Lines, which has no separator; it is for CSV files", EXIT_USAGE)
    check_encoding(encoding)
    if check_only and no_check:
        fail("--check and --no-check contradict each other; give one", EXIT_USAGE)
    unwritable = check_out(out_path, input_file, read_only=check_only)
    return Files(input_file, out_path, separator, unwritable)


def check_encoding(encoding: str) -> None:
    """Refuse (exit 2) an ``--encoding`` Python does not know, or one that does not read files of text.

    Codecs such as rot13, base64 or zlib turn bytes into bytes, and undefined or punycode refuse
    ordinary text: decoding a file with them fails in ways no line of the file explains.
    """
    advice = "try utf-8, latin-1 or cp1252"
    try:
        codecs.lookup(encoding)
    except LookupError:
        fail(f"--encoding {encoding!r}: unknown encoding; {advice}", EXIT_USAGE)
    try:
        "domain,a.com\n".encode(encoding)  # str.encode refuses bytes-to-bytes codecs
        b"domain,a.com\n".decode(encoding)
    except UnicodeDecodeError:  # bytes this encoding cannot hold: a file's problem, said with its line
        pass
    except (LookupError, UnicodeError):
        fail(f"--encoding {encoding!r}: not an encoding of text files; {advice}", EXIT_USAGE)


def check_ref(ref: str) -> None:
    """Refuse (exit 2) a workflow reference that cannot parse: the argument's mistake, not row 1's."""
    if not ref.startswith("column:"):
        try:
            parse_ref(ref)
        except InvalidRequestError as exc:
            fail(str(exc), EXIT_USAGE)


def check_reconcile(reconcile: bool, *, check_only: bool) -> None:
    """Refuse ``--reconcile`` with ``--check``: one records the runs it finds, the other writes nothing."""
    if reconcile and check_only:
        fail("--reconcile records the runs it finds, and --check writes nothing: give one of them", EXIT_USAGE)


def check_bulk(bulk: int | None, rows: Sequence[BatchRow]) -> None:
    """Refuse ``--bulk N`` (N > 1) where no row's provider runs many inputs as one task: it would be ignored."""
    if bulk is None or bulk == 1:
        return
    refs = {parse_ref(ref) for ref in distinct_refs(rows)}
    if not refs or any((b := provider_spec(r.provider).bulk) is not None and r.kind in b.kinds for r in refs):
        return
    which = " or ".join(sorted({r.provider for r in refs}))
    reason = f"no bulk tasks at {which} (each input is a run of its own), so it would be ignored; leave it out"
    fail(f"--bulk {bulk}: {reason}", EXIT_USAGE)


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
    try:
        return _check_out_path(out_path, input_file, read_only=read_only)
    except OSError as exc:  # a name too long, a loop of links: what the system said, in one line
        fail(f"--out {clipped_name(out_path)}: {exc.strerror or exc}", EXIT_USAGE)


def clipped_name(path: Path, keep: int = 80) -> str:
    """A path short enough for a one-line error (a name can be hundreds of characters)."""
    text = str(path)
    return text if len(text) <= keep else f"{text[: keep - 3]}..."


def _check_out_path(out_path: Path, input_file: Path, *, read_only: bool) -> str | None:
    folder = out_path.parent
    check_file_name(f"--out {out_path}", out_path, "results.jsonl")
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
            if not os.access(target, os.W_OK):  # also on a read-only file system
                return (
                    f"--out {out_path}: {target} is not writable here; the batch itself (without --check) "
                    f"writes {path.name} and will refuse to start until it can"
                )
        return None
    # Checked before any run starts: paid runs need somewhere to be recorded.
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
