"""``flowdeck demo``: a real batch over the embedded mock providers."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from flowdeck._batch import (
    read_rows,
)
from flowdeck._cli.batch_run import execute_batch
from flowdeck._cli.common import EXIT_USAGE, current_ui, fail, interrupt_code
from flowdeck._cli.output import (
    Ui,
    print_failures,
    summary_line,
    summary_table,
)
from flowdeck._client import AsyncClient
from flowdeck._extras import install_hint
from flowdeck._lifecycle import PollPolicy

# The demo's rows are made in memory and run against mocks on this machine: a bound keeps a
# mistyped count from taking the machine's memory before the first row starts.
DEMO_MAX_ROWS = 100_000
INTERRUPTED = (
    "\nInterrupted. The demo's mock providers and files are gone with it; run `flowdeck demo` again to start over."
)


def demo(
    rows: Annotated[
        int,
        typer.Option(min=1, max=DEMO_MAX_ROWS, metavar="N", help=f"How many input rows (at most {DEMO_MAX_ROWS:,})"),
    ] = 300,
    seed: Annotated[int, typer.Option(metavar="N", help="Seed of the mocks' random choices")] = 7,
) -> None:
    """Serve the embedded mock providers and run a real batch over all four (what `make demo` does)."""
    try:
        from flowdeck.testing._demo import DEMO_OVER
    except ImportError as exc:  # pragma: no cover - only without the testing extra
        fail(install_hint("flowdeck demo", "testing", exc.name), EXIT_USAGE)
    ui = current_ui()
    try:
        ui.out.print(Text(f"flowdeck demo: {rows} rows over {DEMO_OVER}"), soft_wrap=True)
        _run_demo(ui, rows, seed)
    except KeyboardInterrupt as exc:  # before the batch began (making rows, starting the mocks)
        ui.note(INTERRUPTED, "yellow")
        raise typer.Exit(interrupt_code(exc)) from None


def _run_demo(ui: Ui, rows: int, seed: int) -> None:
    from flowdeck.testing import MockConfig, MockProviders
    from flowdeck.testing._demo import DEMO_SCRIPTED, demo_rows

    with (
        tempfile.TemporaryDirectory(prefix="flowdeck-demo-") as work,
        MockProviders(MockConfig(seed=seed, run_seconds=(0.5, 4.0), failure_rate=0.03)) as mocks,
    ):
        inputs, results = Path(work) / "inputs.jsonl", Path(work) / "results.jsonl"
        inputs.write_text("".join(json.dumps(r) + "\n" for r in demo_rows(rows)), encoding="utf-8")

        def factory() -> AsyncClient:
            return AsyncClient(env=mocks.env, poll_policy=PollPolicy(initial=0.25, factor=1.5, max_interval=2.0))

        summary = execute_batch(
            ui,
            factory,
            read_rows(inputs, "column:workflow"),
            results,
            concurrency=100,
            rate=150.0,
            timeout=120.0,
            retry_unknown=False,
            retry_rejected=False,
            on_interrupt=lambda _journal, _exc: ui.note(INTERRUPTED, "yellow"),
        )
        ui.out.print(summary_line(summary), soft_wrap=True)
        ui.out.print(summary_table(summary))
        print_failures(ui, summary.failures, [None] * len(summary.failures))
        ui.out.print(Text(DEMO_SCRIPTED, style="cyan"), soft_wrap=True)
        dupes = sum(len(d) for d in mocks.duplicate_starts().values())
        ui.out.print(Text(f"runs started at the mocks: {mocks.start_count}; duplicate starts: {dupes}"))
        first_ok = next((json.loads(x) for x in results.read_text().splitlines() if '"SUCCEEDED"' in x), None)
    if first_ok:
        ui.out.print(Text("a result line (the demo's files were temporary and are removed):"), soft_wrap=True)
        ui.json(first_ok)
