"""``flowdeck batch``: one run per input row, resumable (mechanics in ``flowdeck._batch``)."""

from __future__ import annotations

import functools
import shlex
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs
import typer
from rich.text import Text

from flowdeck._batch import BatchRow, BatchSummary, Journal, distinct_refs, fingerprint, read_rows
from flowdeck._cli import batch_options as opts
from flowdeck._cli.batch_run import batch_client, execute_batch
from flowdeck._cli.common import (
    EXIT_FAILED,
    EXIT_USAGE,
    Terminated,
    Verbose,
    current_ui,
    fail,
    interrupt_code,
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


def program() -> list[str]:
    """How to invoke this same flowdeck from a shell: ``flowdeck`` if that is the one on PATH."""
    script = Path(sys.executable).parent / "flowdeck"
    on_path = shutil.which("flowdeck")
    if script.exists():
        return ["flowdeck"] if on_path and Path(on_path).resolve() == script.resolve() else [str(script)]
    return [sys.executable, "-m", "flowdeck"]


def batch_argv(
    ref: str,
    input_file: Path,
    out_path: Path,
    options: Sequence[tuple[str, object, object]],
    mapping: Sequence[str],
    verbose: int = 0,
) -> list[str]:
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
        fail(
            "required inputs are missing, so nothing was started; fix the input file or --map its columns "
            "(flowdeck inputs REF lists them; --no-check skips this check)",
            EXIT_USAGE,
        )
    if report.progress.error:  # --out is another batch's
        fail(report.progress.error, EXIT_USAGE)
    for line in report.problems + report.warnings:  # the provider will say the rest
        ui.note(f"warning: {line}", "yellow")
    return False


def batch(
    ctx: typer.Context,
    ref: opts.Ref,
    input_name: opts.InputName,
    out_name: opts.OutName,
    concurrency: opts.Concurrency = 50,
    rate: opts.Rate = None,
    timeout: opts.Timeout = None,
    mapping: opts.ColumnMap = None,
    encoding: opts.Encoding = "utf-8",
    delimiter: opts.Delimiter = None,
    retry_unknown: opts.RetryUnknown = False,
    retry_rejected: opts.RetryRejected = False,
    retry_failed: opts.RetryFailed = False,
    reconcile: opts.Reconcile = False,
    bulk: opts.BulkSize = None,
    check_only: opts.CheckOnly = False,
    no_check: opts.NoCheck = False,
    adaptive_rate: opts.AdaptiveRate = False,
    as_json: opts.AsJson = False,
    verbose: Verbose = 0,
) -> None:
    """Run a workflow once per input row. Rerun the same command to resume after Ctrl-C, SIGTERM or a crash.

    Each row's outcome is one line of --out. A rerun skips finished rows, waits again on started
    ones and starts nothing twice; rows the provider refused (REJECTED) are tried again only with
    --retry-rejected, rows whose start may have happened (UNKNOWN) only with --retry-unknown, rows
    whose run ended FAILED at the provider only with --retry-failed (a new run each, paid again).
    --reconcile first looks for UNKNOWN rows' runs where the provider lists its runs: runs found are
    waited on, rows certainly never started are started; elsewhere it says where to look.

    First a pre-flight check compares the rows with the workflow's declared inputs (where the
    provider publishes them): a required input with no column, or empty in some rows, stops the
    batch before anything starts (exit 2). --check only reports (inputs, rows finished and left,
    credits) and exits 0 when ready, 1 when not.

    Where a provider runs many inputs as one task, rows run as bulk tasks (--bulk N rows each;
    --bulk 1 for one run per row); each row still gets its own result line, and a resumed batch
    never starts a task twice.

    A row's number, in --out and in every message, is its line in the input file: a CSV file's
    first row is 2 (its header is line 1), a JSON Lines file's first row is 1.

    \b
    Example:
      flowdeck batch gumloop:abc123 leads.csv --out results.jsonl --concurrency 20 --rate 5/s
    """
    ui = current_ui()
    ui.set_verbose(verbose)
    files = opts.check_files(input_name, out_name, delimiter, encoding, check_only=check_only, no_check=no_check)
    renames = opts.parse_map(mapping or [])
    starts_per_second = opts.parse_rate(rate)
    opts.check_ref(ref)
    retries = {"retry_unknown": retry_unknown, "retry_rejected": retry_rejected, "retry_failed": retry_failed}
    rows, report = _read_and_check(ref, files, renames, encoding, no_check=no_check, retries=retries)
    opts.check_bulk(bulk, rows)
    opts.check_reconcile(reconcile, check_only=check_only)
    if report is not None and preflight_verdict(ui, report, check_only=check_only, as_json=as_json):
        return
    options = opts.rerun_options(ctx)
    resume = batch_argv(ref, files.input, files.out, options, mapping or [], ui.verbose)
    # Never --retry-unknown: the command must not start a run twice.
    again_options = [*options, ("--retry-rejected", retry_rejected, False)]
    again = batch_argv(ref, files.input, files.out, again_options, mapping or [], ui.verbose)
    summary = _execute(
        ui,
        rows,
        files,
        again,
        as_json,
        adaptive_rate=adaptive_rate,
        concurrency=concurrency,
        rate=starts_per_second,
        timeout=timeout,
        bulk=bulk,
        reconcile=reconcile,
        **retries,
    )
    _print_summary(ui, summary, resume, files, as_json)


def _execute(
    ui: Ui,
    rows: Sequence[BatchRow],
    files: opts.Files,
    again: list[str],
    as_json: bool,
    *,
    adaptive_rate: bool,
    **settings: Any,
) -> BatchSummary:
    """Run the batch (``settings``: concurrency, rate, timeout, retries, bulk); a results file that cannot be
    written ends it with the command that resumes it."""
    try:
        return execute_batch(
            ui,
            functools.partial(batch_client, adaptive_rate=adaptive_rate),
            rows,
            files.out,
            on_interrupt=functools.partial(_interrupted, ui, rows, again, as_json),
            **settings,
        )
    except (ConfigurationError, InvalidRequestError) as exc:
        fail(explain(exc), EXIT_USAGE)
    except OSError as exc:  # results or state not written
        fail(
            f"cannot write {exc.filename or files.out}: {exc.strerror or exc}; once it can be written, resume "
            f"(no run is started twice): {shlex.join(again)}"
        )


def _read_and_check(
    ref: str, files: opts.Files, renames: dict[str, str], encoding: str, *, no_check: bool, retries: dict[str, bool]
) -> tuple[Sequence[BatchRow], Report | None]:
    """The rows, every provider's configuration checked, and (unless ``--no-check``) the pre-flight report."""
    report: Report | None = None
    try:
        rows = read_rows(files.input, ref, renames, encoding=encoding, delimiter=files.separator)
        with Client() as client:  # a missing key fails here
            for provider in sorted({ref.split(":", 1)[0] for ref in distinct_refs(rows)}):
                client.adapter(provider)
            if not no_check:  # reads only
                report = preflight_check(client, rows, Journal(files.out), **retries)
    except (ConfigurationError, InvalidRequestError) as exc:
        fail(explain(exc), EXIT_USAGE)
    except KeyboardInterrupt as exc:  # no start sent yet
        fail(
            f"interrupted {'before starting' if no_check else 'during the pre-flight check'}: "
            f"nothing was started and {files.out} was not written",
            interrupt_code(exc),
        )
    if report is not None and files.unwritable:
        report = attrs.evolve(report, unwritable=files.unwritable)
    return rows, report


def _interrupted(
    ui: Ui, rows: Sequence[BatchRow], again: list[str], as_json: bool, journal: Journal, exc: KeyboardInterrupt
) -> None:
    """What an interrupted batch left behind, and the command that resumes it."""
    where = Interruption.of(
        exc.signal_name if isinstance(exc, Terminated) else "SIGINT", rows, journal.peek(fingerprint(rows))
    )
    if as_json:
        ui.json({**where.to_json(), "results": str(journal.out), "resume": shlex.join(again)})
    lines = [
        "",
        where.line(),
        *where.unknown_lines(),
        f"Finished rows are in {shlex.quote(str(journal.out))}; started runs go on at the provider and are "
        f"recorded in {shlex.quote(str(journal.state))}.",
        f"To resume (no run is started twice), run:\n  {shlex.join(again)}",
    ]
    ui.note("\n".join(lines), "yellow")


def _print_summary(ui: Ui, summary: BatchSummary, resume: list[str], files: opts.Files, as_json: bool) -> None:
    """The summary, each group's next step, and one line per provider that refused the credential."""
    out_path = files.out
    steps: list[str | None] = [next_step(g, resume, out_path, summary.refused) for g in summary.failures]
    if as_json:
        ui.json(summary_json(summary, steps, str(out_path)))
    else:
        ui.out.print(summary_line(summary), soft_wrap=True)
        ui.out.print(summary_table(summary))
        print_failures(ui, summary.failures, steps)
        if summary.failures:  # numbers are lines: a CSV header is 1
            ui.out.print(Text(f"(a row's number is its line in {files.input})", style="dim"), soft_wrap=True)
        ui.out.print(Text(f"results: {out_path}"), soft_wrap=True)
    for refusal in sorted(summary.refused.values(), key=lambda r: r.provider):
        ui.error(refusal_line(refusal, credential_variables(refusal.provider)))
    if not summary.ok:
        raise typer.Exit(EXIT_FAILED)
