"""How ``run``, ``status`` and ``cancel`` print a run (text or ``--json``)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import typer
from rich.text import Text

from flowdeck._cli.common import STOP_CODES, current_ui
from flowdeck._cli.output import (
    Ui,
)
from flowdeck._models import Run


def run_json(run: Run, *, workflow_known: bool = True) -> dict[str, Any]:
    """What is known about a run: nothing invented, no nulls."""
    data: dict[str, Any] = {"provider": run.provider, "run_id": run.id}
    if workflow_known:
        data["workflow"] = str(run.workflow)
    data |= {"status": run.status.value, "provider_status": run.provider_status}
    data |= {k: v for k, v in (("outputs", run.outputs), ("error", run.error), ("url", run.url)) if v is not None}
    return data


def show_run(run: Run, as_json: bool, *, workflow_known: bool = True, outputs_only: bool = False) -> None:
    """The run on stdout; ``outputs_only`` (``run``, which waited for it): only the outputs there, the
    status line, URL and error on stderr with the progress (as gh prints a finished run's summary)."""
    ui = current_ui()
    if as_json:
        ui.json(run_json(run, workflow_known=workflow_known))
        return
    colour = "green" if run.succeeded else "yellow" if not run.is_terminal else "red"
    what = str(run.workflow) if workflow_known else run.provider
    line = Text.assemble((what, "bold"), " run ", (run.id, "cyan"), ": ", (run.status.value, colour))
    if run.provider_status:
        line.append(f" ({run.provider_status})")
    about = ui.err if outputs_only else ui.out
    about.print(line, soft_wrap=True)
    for text, style in ((run.url, ""), (run.error, "red")):
        for part in (text or "").splitlines():
            about.print(Text(f"  {part}", style=style), soft_wrap=True)
    if run.outputs is not None:
        ui.json(run.outputs)


@contextlib.contextmanager
def json_always(ui: Ui, as_json: bool, known: dict[str, Any]) -> Iterator[None]:
    """With ``--json``, a command that ends without printing its JSON prints one error object instead
    (``error``, ``exit_code``, what is known), so ``| jq`` never reads empty input.

    ``known`` may be filled in while the command runs (the workflow, once parsed).
    """
    try:
        yield
    except typer.Exit as exc:
        if as_json and exc.exit_code != 0 and not ui.printed_json:
            error = {"error": ui.last_error or "failed", "exit_code": exc.exit_code}
            interrupted = {"interrupted": True} if exc.exit_code in STOP_CODES else {}
            ui.json({**known, **error, **interrupted})
        raise
