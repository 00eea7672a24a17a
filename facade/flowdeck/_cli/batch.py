"""``flowdeck batch``: one run per input row, resumable (mechanics in ``flowdeck._batch``)."""

from __future__ import annotations

import codecs
import functools
import shlex
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import attrs
import typer
from rich.text import Text

from flowdeck._batch import (
    Journal,
    fingerprint,
    read_rows,
)
from flowdeck._cli.batch_options import check_out, parse_delimiter, parse_map, parse_rate
from flowdeck._cli.batch_run import batch_client, execute_batch
from flowdeck._cli.common import (
    EXIT_FAILED,
    EXIT_USAGE,
    Terminated,
    Verbose,
    current_ui,
    fail,
    interrupt_code,
    positive,
)
from flowdeck._cli.explain import credential_variables, explain
from flowdeck._cli.next_steps import next_step
from flowdeck._cli.output import (
    Interruption,
    Ui,
    print_failures,
    refusal_line,
    summary_json,
    summary_line,
    summary_table,
)
from flowdeck._client import Client
from flowdeck._errors import (
    ConfigurationError,
    InvalidRequestError,
)
from flowdeck._preflight import Report
from flowdeck._preflight import check as preflight_check
from flowdeck._providers import parse_ref


def program() -> list[str]:
    """How to invoke this same flowdeck from a shell: ``flowdeck`` if that is the one on PATH."""
    script = Path(sys.executable).parent / "flowdeck"
    on_path = shutil.which("flowdeck")
    if script.exists():
        return ["flowdeck"] if on_path and Path(on_path).resolve() == script.resolve() else [str(script)]
    return [sys.executable, "-m", "flowdeck"]


def batch_argv(
    ref: str, input_file: Path, out_path: Path, options: Sequence[tuple[str, object, object]], mapping: Sequence[str],
    verbose: int = 0,
) -> list[str]:  # fmt: skip
    """The batch command as given (every option that differs from its default), to print for a rerun.

    ``verbose`` counts the -v given before and after ``batch``: the rerun shows what this run showed.
    """
    argv = [*program(), *([f"-{'v' * verbose}"] if verbose else []), "batch", ref, str(input_file)]
    argv += ["--out", str(out_path)]
    for flag, value, default in options:
        if value != default:
            argv += [flag] if value is True else [flag, str(value)]
    for item in mapping:
        argv += ["--map", item]
    return argv


def preflight_verdict(ui: Ui, report: Report, *, check_only: bool, as_json: bool) -> bool:
    """Print a pre-flight report; True if the command is done (``--check``), exit 2 if the batch may not start."""
    if check_only:
        if as_json:
            ui.json(report.to_json())
        else:
            for line in report.lines():
                ui.out.print(Text(line), soft_wrap=True)
            ui.out.print(Text("ready: nothing was started" if report.ready else "not ready: nothing was started"))
        if not report.ready:
            raise typer.Exit(EXIT_FAILED)
        return True
    if report.blocking:
        for line in report.problems:
            ui.note(f"problem: {line}", "red")
        fail("required inputs are missing, so nothing was started; fix the input file or --map its columns "
              "(flowdeck inputs REF lists them; --no-check skips this check)", EXIT_USAGE)  # fmt: skip
    if report.progress.error:  # this --out belongs to another batch: refused, as the batch itself would
        fail(report.progress.error, EXIT_USAGE)
    for line in report.problems + report.warnings:  # the batch goes on: the provider will say the rest
        ui.note(f"warning: {line}", "yellow")
    return False


def batch(
    ref: Annotated[
        str, typer.Argument(metavar="REF", help="Workflow reference, or column:<name> to read it from each row")
    ],
    input_name: Annotated[
        str, typer.Argument(metavar="INPUT_FILE", help="inputs.csv (with a header row) or inputs.jsonl")
    ],
    out_name: Annotated[str, typer.Option("--out", "-o", metavar="FILE", help="Results, one JSON line per row")],
    concurrency: Annotated[int, typer.Option(min=1, metavar="N", help="Runs in flight at once")] = 50,
    rate: Annotated[
        str | None,
        typer.Option(metavar="R/s", help="Start at most R runs a second, minute or hour: 10/s, 300/m, 1000/h"),
    ] = None,
    timeout: Annotated[
        float | None, typer.Option(metavar="SECONDS", callback=positive, help="Seconds to wait for each run")
    ] = None,
    mapping: Annotated[
        list[str] | None, typer.Option("--map", metavar="COLUMN=INPUT", help="Rename a column: 'CSV Header=input_name'")
    ] = None,
    encoding: Annotated[
        str, typer.Option(metavar="NAME", help="The input file's text encoding (a UTF-8 BOM is fine)")
    ] = "utf-8",
    delimiter: Annotated[
        str | None,
        typer.Option(metavar="CHAR", help="The CSV file's field separator: , ; tab | (default: the one the file uses)"),
    ] = None,
    retry_unknown: Annotated[
        bool, typer.Option("--retry-unknown", help="Start again rows whose start may have happened (may double-run)")
    ] = False,
    retry_rejected: Annotated[
        bool, typer.Option("--retry-rejected", help="Start again rows the provider refused (after a fix)")
    ] = False,
    retry_failed: Annotated[
        bool,
        typer.Option(
            "--retry-failed",
            help="Start again rows whose run FAILED at the provider: each is a new run, paid again",
        ),
    ] = False,
    bulk: Annotated[
        int | None,
        typer.Option(
            min=1,
            metavar="N",
            help="Rows per bulk task where the provider runs many inputs as one task (Databar; default 500); "
            "1: one run per row",
        ),
    ] = None,
    check_only: Annotated[
        bool, typer.Option("--check", help="Check inputs, journal and credits; start nothing (exit 0 ready, 1 not)")
    ] = False,
    no_check: Annotated[
        bool, typer.Option("--no-check", help="Start without the pre-flight check of declared inputs")
    ] = False,
    adaptive_rate: Annotated[
        bool,
        typer.Option(
            "--adaptive-rate/--no-adaptive-rate",
            help="Slow starts down together when the provider's 429s show a quota (off by default)",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as one JSON object.")] = False,
    verbose: Verbose = 0,
) -> None:
    """Run a workflow once per input row. Rerun the same command to resume after Ctrl-C, SIGTERM or a crash.

    Each row's outcome is one line of --out. A rerun skips finished rows, waits again on started
    ones and starts nothing twice; rows the provider refused (REJECTED) are tried again only with
    --retry-rejected, rows whose start may have happened (UNKNOWN) only with --retry-unknown, rows
    whose run ended FAILED at the provider only with --retry-failed (a new run each, paid again).

    First a pre-flight check compares the rows with the workflow's declared inputs (where the
    provider publishes them): a required input with no column, or empty in some rows, stops the
    batch before anything starts (exit 2). --check only reports (inputs, rows finished and left,
    credits) and exits 0 when ready, 1 when not.

    Databar rows run as bulk tasks (--bulk N rows each; --bulk 1 for one run per row); each row
    still gets its own result line, and a resumed batch never starts a task twice.

    \b
    Example:
      flowdeck batch gumloop:abc123 leads.csv --out results.jsonl --concurrency 20 --rate 5/s
    """
    ui = current_ui()
    ui.set_verbose(verbose)
    # An empty name would read as the current folder ('.'): say what was given instead.
    if not input_name.strip():
        fail(f"INPUT_FILE {input_name!r}: empty; give the input file, like leads.csv", EXIT_USAGE)
    if not out_name.strip():
        fail(f"--out {out_name!r}: empty; give a file name for the results, like results.jsonl", EXIT_USAGE)
    input_file, out_path = Path(input_name), Path(out_name)
    separator = parse_delimiter(delimiter)
    if separator is not None and input_file.suffix.lower() in (".jsonl", ".ndjson"):
        fail(f"--delimiter: {input_name} is JSON Lines, which has no separator; it is for CSV files", EXIT_USAGE)
    renames = parse_map(mapping or [])
    try:
        codecs.lookup(encoding)
    except LookupError:
        fail(f"--encoding {encoding!r}: unknown encoding; try utf-8, latin-1 or cp1252", EXIT_USAGE)
    if check_only and no_check:
        fail("--check and --no-check contradict each other; give one", EXIT_USAGE)
    unwritable = check_out(out_path, input_file, read_only=check_only)
    starts_per_second = parse_rate(rate)
    if not ref.startswith("column:"):
        try:
            parse_ref(ref)  # a mistake in the argument is the argument's, not the input file's first row's
        except InvalidRequestError as exc:
            fail(str(exc), EXIT_USAGE)
    report: Report | None = None
    try:
        rows = read_rows(input_file, ref, renames, encoding=encoding, delimiter=separator)
        with Client() as client:  # a missing credential is reported before anything starts
            for provider in sorted({r.ref.split(":", 1)[0] for r in rows}):
                client.adapter(provider)
            if not no_check:  # a few reads; the progress display is the only thing drawn on stderr
                report = preflight_check(
                    client, rows, Journal(out_path), retry_unknown=retry_unknown, retry_rejected=retry_rejected,
                    retry_failed=retry_failed,
                )  # fmt: skip
    except (ConfigurationError, InvalidRequestError) as exc:
        fail(explain(exc), EXIT_USAGE)
    except KeyboardInterrupt as exc:  # reading the file, or the pre-flight's reads: no start was sent yet
        fail(
            f"interrupted {'before starting' if no_check else 'during the pre-flight check'}: "
            f"nothing was started and {out_path} was not written",
            interrupt_code(exc),
        )
    if report is not None and unwritable:
        report = attrs.evolve(report, unwritable=unwritable)
    if report is not None and preflight_verdict(ui, report, check_only=check_only, as_json=as_json):
        return
    options = [("--concurrency", concurrency, 50), ("--rate", rate, None), ("--timeout", timeout, None),
               ("--encoding", encoding, "utf-8"), ("--delimiter", delimiter, None), ("--bulk", bulk, None),
               ("--adaptive-rate", adaptive_rate, False), ("--no-check", no_check, False),
               ("--json", as_json, False)]  # fmt: skip
    resume = batch_argv(ref, input_file, out_path, options, mapping or [], ui.verbose)
    # Never --retry-unknown: the printed command promises that no run is started twice.
    again = batch_argv(
        ref, input_file, out_path, [*options, ("--retry-rejected", retry_rejected, False)], mapping or [], ui.verbose
    )

    def interrupted(journal: Journal, exc: KeyboardInterrupt) -> None:
        where = Interruption.of(
            "SIGTERM" if isinstance(exc, Terminated) else "SIGINT", rows, journal.peek(fingerprint(rows))
        )
        if as_json:
            ui.json({**where.to_json(), "results": str(journal.out), "resume": shlex.join(again)})
        lines = [
            "", where.line(), *where.unknown_lines(),
            f"Finished rows are in {shlex.quote(str(journal.out))}; started runs go on at the provider and are "
            f"recorded in {shlex.quote(str(journal.state))}.",
            f"To resume (no run is started twice), run:\n  {shlex.join(again)}",
        ]  # fmt: skip
        ui.note("\n".join(lines), "yellow")

    try:
        factory = functools.partial(batch_client, adaptive_rate=adaptive_rate)
        summary = execute_batch(
            ui, factory, rows, out_path, concurrency=concurrency, rate=starts_per_second, timeout=timeout,
            retry_unknown=retry_unknown, retry_rejected=retry_rejected, on_interrupt=interrupted, bulk=bulk,
            retry_failed=retry_failed,
        )  # fmt: skip
    except (ConfigurationError, InvalidRequestError) as exc:
        fail(explain(exc), EXIT_USAGE)
    except OSError as exc:  # the results or state file could not be written (disk full, permissions)
        fail(
            f"cannot write {exc.filename or out_path}: {exc.strerror or exc}; once it can be written, resume "
            f"(no run is started twice): {shlex.join(again)}"
        )
    steps: list[str | None] = [next_step(g, resume, out_path, summary.refused) for g in summary.failures]
    if as_json:
        ui.json(summary_json(summary, steps, str(out_path)))
    else:
        ui.out.print(summary_line(summary), soft_wrap=True)
        ui.out.print(summary_table(summary))
        print_failures(ui, summary.failures, steps)
        ui.out.print(Text(f"results: {out_path}"), soft_wrap=True)
    for refusal in sorted(summary.refused.values(), key=lambda r: r.provider):
        ui.error(refusal_line(refusal, credential_variables(refusal.provider)))
    if not summary.ok:
        raise typer.Exit(EXIT_FAILED)
