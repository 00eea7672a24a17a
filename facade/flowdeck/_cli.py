"""The ``flowdeck`` command line: run, status, cancel, batch, mock, doctor, demo."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from flowdeck._batch import BatchRow, BatchSummary, InputFileError, Journal, read_rows, run_batch
from flowdeck._client import AsyncClient, Client
from flowdeck._errors import ConfigurationError, FlowdeckError, InvalidRequestError, RunError
from flowdeck._lifecycle import PollPolicy
from flowdeck._models import Run, Status, WorkflowRef
from flowdeck._providers import names as provider_names

app = typer.Typer(
    help="Run workflows on Databar, StackAI, Gumloop and SuperAI Flows.", no_args_is_help=True, add_completion=False
)
out = Console()
err = Console(stderr=True)

EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 1, 2, 130


def _fail(message: str, code: int = EXIT_FAILED) -> NoReturn:
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def _parse_inputs(pairs: list[str] | None, inputs_file: Path | None) -> dict[str, Any]:
    inputs: dict[str, Any] = {}
    if inputs_file is not None:
        try:
            loaded = json.loads(inputs_file.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            _fail(f"--inputs {inputs_file}: {exc}", EXIT_USAGE)
        if not isinstance(loaded, dict):
            _fail(f"--inputs {inputs_file}: must hold a JSON object", EXIT_USAGE)
        inputs.update(loaded)
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            _fail(f"-i {pair!r}: expected key=value", EXIT_USAGE)
        inputs[key] = value
    return inputs


def _run_json(run: Run) -> dict[str, Any]:
    return {
        "provider": run.provider, "workflow": str(run.workflow), "run_id": run.id, "status": run.status.value,
        "provider_status": run.provider_status, "outputs": run.outputs, "error": run.error, "url": run.url,
    }  # fmt: skip


def _show(run: Run, as_json: bool) -> None:
    if as_json:
        out.print_json(json.dumps(_run_json(run), default=str))
        return
    colour = "green" if run.succeeded else "yellow" if not run.is_terminal else "red"
    out.print(f"[bold]{run.workflow}[/] run [cyan]{run.id}[/]: [{colour}]{run.status.value}[/] ({run.provider_status})")
    if run.url:
        out.print(f"  {run.url}")
    if run.error:
        out.print(f"  [red]{run.error}[/]", highlight=False)
    if run.outputs is not None:
        out.print_json(json.dumps(run.outputs, default=str))


def _client(**options: Any) -> Client:
    return Client(**options)


@app.command()
def run(
    ref: Annotated[
        str, typer.Argument(help="Workflow: databar:flow/<id>, stackai:<org>/<flow>, gumloop:<id>, superai:<uuid>")
    ],
    inputs: Annotated[
        list[str] | None, typer.Option("-i", "--input", help="An input as key=value (repeatable).")
    ] = None,
    inputs_file: Annotated[Path | None, typer.Option("--inputs", help="A JSON file with an object of inputs.")] = None,
    no_wait: Annotated[bool, typer.Option("--no-wait", help="Start the run and print its id.")] = False,
    timeout: Annotated[float, typer.Option(help="Seconds to wait before giving up (the run goes on).")] = 3600.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Start a run, show its status while it runs, and print its outputs.

    Example: flowdeck run databar:flow/123 -i domain=stripe.com
    """
    values = _parse_inputs(inputs, inputs_file)
    try:
        with _client() as client:
            started = client.start(ref, values)
            if no_wait or started.is_terminal:
                _show(started, as_json)
                if started.is_terminal and not started.succeeded:
                    raise typer.Exit(EXIT_FAILED)
                return
            with err.status(f"{started.workflow}: {started.status.value}", spinner="dots") as status:
                client._on_change = lambda _old, new: status.update(
                    f"{new.workflow}: {new.status.value} ({new.provider_status})"
                )
                final = client.wait(started, timeout=timeout, raise_on_failure=False)
    except RunError as exc:  # WaitTimeout
        _show(exc.run, as_json)
        _fail(str(exc))
    except (ConfigurationError, InvalidRequestError) as exc:
        _fail(str(exc), EXIT_USAGE)
    except FlowdeckError as exc:
        _fail(str(exc))
    _show(final, as_json)
    if not final.succeeded:
        raise typer.Exit(EXIT_FAILED)


def _lookup(provider: str, run_id: str) -> Run:
    if provider not in provider_names():
        _fail(f"unknown provider {provider!r}; expected one of {', '.join(provider_names())}", EXIT_USAGE)
    return Run(provider, WorkflowRef(provider, "run", run_id), run_id, Status.PENDING, "")


def _on_run(provider: str, run_id: str, as_json: bool, action: str) -> None:
    try:
        with _client() as client:
            run = _lookup(provider, run_id)
            _show(client.refresh(run) if action == "status" else client.cancel(run), as_json)
    except (ConfigurationError, InvalidRequestError) as exc:
        _fail(str(exc), EXIT_USAGE)
    except FlowdeckError as exc:
        _fail(str(exc))


@app.command()
def status(
    provider: Annotated[str, typer.Argument(help="databar, gumloop or superai")],
    run_id: Annotated[str, typer.Argument(help="The run (task, execution) id")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Show a run's current status and outputs.  Example: flowdeck status databar a1b2c3"""
    _on_run(provider, run_id, as_json, "status")


@app.command()
def cancel(
    provider: Annotated[str, typer.Argument(help="databar or gumloop")],
    run_id: Annotated[str, typer.Argument()],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Ask the provider to stop a run.  Example: flowdeck cancel gumloop 8f3a..."""
    _on_run(provider, run_id, as_json, "cancel")


class _ProgressObserver:
    """A rich progress bar: done, failed, running, ETA."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task: TaskID | None = None
        self.counts: Counter[str] = Counter()

    def begin(self, total: int, already_done: int) -> None:
        self.task = self.progress.add_task("batch", total=total, completed=already_done, failed=0, running=0)

    def _update(self, advance: int = 0) -> None:
        assert self.task is not None
        failed = sum(n for s, n in self.counts.items() if s not in ("SUCCEEDED", "running"))
        self.progress.update(self.task, advance=advance, failed=failed, running=self.counts["running"])

    def started(self, row: BatchRow) -> None:
        self.counts["running"] += 1
        self._update()

    def finished(self, row: BatchRow, status: str) -> None:
        if self.counts["running"] and status not in ("NOT_STARTED", "UNKNOWN"):
            self.counts["running"] -= 1
        self.counts[status] += 1
        self._update(advance=1)


def _progress() -> Progress:
    return Progress(
        SpinnerColumn(), TextColumn("[bold]{task.description}"), BarColumn(),
        TextColumn("{task.completed}/{task.total} done"), TextColumn("[red]{task.fields[failed]} failed"),
        TextColumn("[cyan]{task.fields[running]} running"), TimeElapsedColumn(), TextColumn("ETA"),
        TimeRemainingColumn(), console=err,
    )  # fmt: skip


def _summary_table(summary: BatchSummary) -> Table:
    statuses = sorted({s for c in summary.by_provider.values() for s in c})
    table = Table(title=f"{summary.total} rows in {summary.seconds:.1f}s ({summary.started_now} runs started now)")
    table.add_column("provider")
    for s in statuses:
        table.add_column(s, justify="right", style="green" if s == "SUCCEEDED" else "red")
    for provider, counts in sorted(summary.by_provider.items()):
        table.add_row(provider, *(str(counts.get(s, 0)) for s in statuses))
    table.add_row("[bold]all", *(f"[bold]{summary.statuses.get(s, 0)}" for s in statuses))
    return table


def _parse_rate(rate: str | None) -> float | None:
    if rate is None:
        return None
    try:
        value = float(rate.removesuffix("/s"))
    except ValueError:
        _fail(f"--rate {rate!r}: expected a number of starts per second, like 10/s", EXIT_USAGE)
    if value <= 0:
        _fail("--rate must be positive", EXIT_USAGE)
    return value


def _execute_batch(
    client_factory: Any, rows: list[BatchRow], out_path: Path, *, concurrency: int, rate: float | None,
    timeout: float | None, retry_unknown: bool, command: str,
) -> BatchSummary:  # fmt: skip
    journal = Journal(out_path)

    async def main() -> BatchSummary:
        async with client_factory() as client:
            with _progress() as progress:
                return await run_batch(
                    client, rows, journal, concurrency=concurrency, rate=rate, timeout=timeout,
                    retry_unknown=retry_unknown, observer=_ProgressObserver(progress),
                )  # fmt: skip

    try:
        return asyncio.run(main())
    except KeyboardInterrupt:
        err.print(
            f"\n[yellow]Interrupted.[/] Finished rows are in {out_path}; started runs are recorded in "
            f"{journal.state}.\nTo resume (no run is started twice), rerun:\n  {command}"
        )
        raise typer.Exit(EXIT_INTERRUPTED) from None


@app.command()
def batch(
    ref: Annotated[str, typer.Argument(help="Workflow reference, or column:<name> to read it from each row")],
    input_file: Annotated[Path, typer.Argument(help="inputs.csv (with a header row) or inputs.jsonl")],
    out_path: Annotated[Path, typer.Option("--out", "-o", help="Results, one JSON line per row")],
    concurrency: Annotated[int, typer.Option(help="Runs in flight at once")] = 50,
    rate: Annotated[str | None, typer.Option(help="Start at most R runs per second, e.g. 10/s")] = None,
    timeout: Annotated[float | None, typer.Option(help="Seconds to wait for each run")] = None,
    mapping: Annotated[list[str] | None, typer.Option("--map", help="Rename a column: 'CSV Header=input_name'")] = None,
    retry_unknown: Annotated[
        bool, typer.Option("--retry-unknown", help="Start again rows interrupted mid-start (may double-run)")
    ] = False,
) -> None:
    """Run a workflow once per input row. Rerun the same command to resume after Ctrl-C or a crash.

    Example: flowdeck batch gumloop:abc123 leads.csv --out results.jsonl --concurrency 20 --rate 5/s
    """
    renames: dict[str, str] = {}
    for item in mapping or []:
        src, sep, dst = item.partition("=")
        if not sep or not src or not dst:
            _fail(f"--map {item!r}: expected 'column=input_name'", EXIT_USAGE)
        renames[src] = dst
    try:
        rows = read_rows(input_file, ref, renames)
        for provider in sorted({r.ref.split(":", 1)[0] for r in rows}):
            Client().adapter(provider)  # a missing credential is reported before anything starts
    except (ConfigurationError, InvalidRequestError) as exc:
        _fail(str(exc), EXIT_USAGE)
    command = " ".join(["flowdeck", *sys.argv[1:]]) if sys.argv[1:2] == ["batch"] else "the same command"
    try:
        summary = _execute_batch(
            AsyncClient, rows, out_path, concurrency=concurrency, rate=_parse_rate(rate), timeout=timeout,
            retry_unknown=retry_unknown, command=command,
        )  # fmt: skip
    except InputFileError as exc:
        _fail(str(exc), EXIT_USAGE)
    out.print(_summary_table(summary))
    if not summary.ok:
        raise typer.Exit(EXIT_FAILED)


@app.command()
def mock(
    seed: Annotated[int, typer.Option(help="Seed for the mocks' outcomes")] = 0,
    port: Annotated[int, typer.Option(help="First port (four in a row); 0 picks free ports")] = 0,
    run_seconds: Annotated[float, typer.Option(help="How long mock runs take at most")] = 2.0,
    min_run_seconds: Annotated[float | None, typer.Option(help="...and at least (default: half the most)")] = None,
) -> None:
    """Serve the four mock providers on 127.0.0.1 until Ctrl-C, printing the environment to use them."""
    from flowdeck.testing import MockConfig, MockProviders

    ports = {p: port + i for i, p in enumerate(provider_names())} if port else None
    shortest = run_seconds / 2 if min_run_seconds is None else min_run_seconds
    mocks = MockProviders(MockConfig(seed=seed, run_seconds=(shortest, run_seconds)), ports=ports)
    with mocks:
        out.print("[bold]Mock providers are serving.[/] Point flowdeck at them with:")
        for key, value in mocks.env.items():
            out.print(f"export {key}={value}", highlight=False)
        out.print("Press Ctrl-C to stop.")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            out.print("stopped")


@app.command()
def doctor(
    check_network: Annotated[
        bool, typer.Option("--network/--no-network", help="Also try to reach each base URL (no credentials sent)")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the diagnosis as JSON.")] = False,
) -> None:
    """Show whether each provider is ready, not configured or misconfigured (never a credential's value).

    Exits 1 when no provider is usable. Example: flowdeck doctor --json
    """
    from flowdeck import _doctor

    diagnoses = _doctor.diagnose()
    if check_network:
        diagnoses = _doctor.reach(diagnoses)
    if as_json:
        print(json.dumps({"providers": [d.to_json() for d in diagnoses], "summary": _doctor.summary(diagnoses)}))
    else:
        out.print(_doctor.table(diagnoses))
        out.print(_doctor.summary(diagnoses), highlight=False, soft_wrap=True)
    if not any(d.state is _doctor.State.READY for d in diagnoses):
        raise typer.Exit(EXIT_FAILED)


DEMO_FLOW = "7c9e6679-7425-40de-944b-e07fc1f90ae7"


def demo_rows(n: int) -> list[dict[str, Any]]:
    """A few hundred input rows spread over the four providers, some bound to fail."""
    rows = []
    for i in range(n):
        fail = i % 9 == 4
        kind = i % 4
        if kind == 0:
            rows.append(
                {"workflow": f"databar:flow/{'fail-' if fail else ''}enrich-company", "domain": f"company{i}.com"}
            )
        elif kind == 1:
            rows.append({"workflow": f"stackai:acme/{'fail-' if fail else ''}summarize", "in-0": f"ticket #{i}"})
        elif kind == 2:
            rows.append({"workflow": f"gumloop:{'fail-' if fail else ''}weekly-digest", "topic": f"topic {i}"})
        else:
            flow = "00000000-0000-4000-8000-000000000404" if fail else DEMO_FLOW  # unknown flow: refused at start
            rows.append({"workflow": f"superai:{flow}", "file_key": f"invoices/{i}.pdf"})
    return rows


@app.command()
def demo(
    rows: Annotated[int, typer.Option(help="How many input rows")] = 300,
    seed: Annotated[int, typer.Option()] = 7,
) -> None:
    """Serve the embedded mock providers and run a real batch over all four (what `make demo` does)."""
    from flowdeck.testing import MockConfig, MockProviders

    work = Path(tempfile.mkdtemp(prefix="flowdeck-demo-"))
    inputs = work / "inputs.jsonl"
    inputs.write_text("".join(json.dumps(r) + "\n" for r in demo_rows(rows)), encoding="utf-8")
    results = work / "results.jsonl"
    out.print(f"[bold]flowdeck demo[/]: {rows} rows over Databar, StackAI, Gumloop and SuperAI mocks -> {results}")
    with MockProviders(MockConfig(seed=seed, run_seconds=(0.5, 4.0), failure_rate=0.03)) as mocks:
        os.environ.update(mocks.env)

        def factory() -> AsyncClient:
            return AsyncClient(env=mocks.env, poll_policy=PollPolicy(initial=0.25, factor=1.5, max_interval=2.0))

        summary = _execute_batch(
            factory, read_rows(inputs, "column:workflow"), results, concurrency=100, rate=150.0, timeout=120.0,
            retry_unknown=False, command=f"flowdeck demo --rows {rows} --seed {seed}",
        )  # fmt: skip
        out.print(_summary_table(summary))
        dupes = mocks.duplicate_starts()
        out.print(
            f"runs started at the mocks: {mocks.start_count}; duplicate starts: {sum(len(d) for d in dupes.values())}"
        )
    first_ok = next((json.loads(line) for line in results.read_text().splitlines() if '"SUCCEEDED"' in line), None)
    if first_ok:
        out.print("a result line:")
        out.print_json(json.dumps(first_ok))


def main() -> None:  # pragma: no cover - the console script
    """Entry point of the ``flowdeck`` console script."""
    app()
