"""``flowdeck run``: start a run, follow it, print its outputs."""

from __future__ import annotations

import json
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.status import Status as Spinner
from rich.text import Text

from flowdeck._batch import (
    InputFileError,
    loads_json,
    read_text,
)
from flowdeck._cli.common import (
    EXIT_FAILED,
    EXIT_USAGE,
    REF_HELP,
    Verbose,
    current_ui,
    fail,
    interrupt_code,
    positive,
)
from flowdeck._cli.explain import explain
from flowdeck._cli.output import Ui
from flowdeck._cli.show import json_always, run_json, show_run
from flowdeck._client import Client
from flowdeck._errors import (
    ConfigurationError,
    FlowdeckError,
    InvalidRequestError,
    WaitTimeout,
)
from flowdeck._models import Run, WorkflowRef
from flowdeck._providers import get as provider_spec
from flowdeck._providers import parse_ref


def clipped(text: str, keep: int = 60) -> str:
    """``text`` short enough for a one-line error (a pasted value can be megabytes)."""
    return text if len(text) <= keep else f"{text[: keep - 3]}..."


def _read_inputs(inputs_file: Path) -> str:
    """``--inputs``' text: the file's, or stdin's for ``-`` (``... | flowdeck run REF --inputs -``)."""
    if str(inputs_file) != "-":
        return read_text(inputs_file, hint="a JSON file must be UTF-8", option=None)
    try:
        return sys.stdin.buffer.read().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        fail(
            f"--inputs -: byte 0x{exc.object[exc.start]:02x} on stdin is not utf-8; a JSON text must be UTF-8",
            EXIT_USAGE,
        )


def parse_inputs(pairs: Sequence[str] | None, inputs_file: Path | None) -> dict[str, Any]:
    """``--inputs file.json``, then each ``-i key=value`` (a string) or ``-i key:=<json>`` (any JSON value)."""
    inputs: dict[str, Any] = {}
    if inputs_file is not None:
        try:
            loaded = loads_json(_read_inputs(inputs_file))
        except InputFileError as exc:
            fail(f"--inputs {exc}", EXIT_USAGE)
        except json.JSONDecodeError as exc:
            fail(f"--inputs {inputs_file} line {exc.lineno}: not valid JSON ({exc.msg})", EXIT_USAGE)
        if not isinstance(loaded, dict):
            fail(f"--inputs {inputs_file}: must hold a JSON object, got {type(loaded).__name__}", EXIT_USAGE)
        inputs.update(loaded)
    given: dict[str, str] = {}  # each -i's input name: the pair that gave it
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key or key == ":":
            fail(f"-i {clipped(pair)!r}: expected key=value (a string) or key:=<json>", EXIT_USAGE)
        is_json, key = key.endswith(":"), key.removesuffix(":")
        if given.get(key, pair) != pair:  # neither value wins silently
            fail(
                f"-i: input {clipped(key)!r} given twice ({clipped(given[key], 30)!r} and {clipped(pair, 30)!r}); "
                f"give it once",
                EXIT_USAGE,
            )
        given[key] = pair
        if is_json:
            try:
                inputs[key] = loads_json(value)
            except json.JSONDecodeError as exc:
                fail(
                    f"-i {clipped(pair)!r}: the value after := is not JSON ({exc.msg}); "
                    f"quote strings: {key}:='\"text\"'",
                    EXIT_USAGE,
                )
        else:
            inputs[key] = value
    return inputs


def follow_hint(run: Run) -> str:
    runs = provider_spec(run.provider).runs
    lines = [f"  flowdeck status {run.provider} {shlex.quote(run.id)}"] if runs.no_status is None else []
    if runs.no_cancel is None:
        lines.append(f"  flowdeck cancel {run.provider} {shlex.quote(run.id)}")
    return "\n".join(lines)


def run(
    ref: Annotated[
        str,
        typer.Argument(metavar="REF", help=REF_HELP),
    ],
    inputs: Annotated[
        list[str] | None,
        typer.Option(
            "-i", "--input", metavar="KEY=VALUE", help="An input: key=value (a string) or key:=<json> (repeatable)."
        ),
    ] = None,
    inputs_file: Annotated[
        Path | None,
        typer.Option("--inputs", metavar="FILE", help="A JSON file with an object of inputs (- reads it from stdin)."),
    ] = None,
    no_wait: Annotated[
        bool, typer.Option("--no-wait", help="Start the run and return at once (the id alone: --json | jq -r .run_id).")
    ] = False,
    timeout: Annotated[
        float,
        typer.Option(
            metavar="SECONDS",
            callback=positive,
            help="Seconds to wait for the started run to end (it goes on after); the start request has its own "
            "timeout and retries",
        ),
    ] = 3600.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the run as one JSON object.")] = False,
    verbose: Verbose = 0,
) -> None:
    """Start a run, show its status while it runs, and print its outputs.

    \b
    Examples:
      flowdeck run databar:flow/123 -i domain=stripe.com
      flowdeck run superai:<uuid> -i pages:=3 -i 'tags:=["a", "b"]' --json | jq .outputs
    """
    ui = current_ui()
    ui.set_verbose(verbose)
    known: dict[str, Any] = {"workflow": ref}  # for the JSON error object: as given, until parsed
    with json_always(ui, as_json, known):
        values = parse_inputs(inputs, inputs_file)
        try:
            workflow = parse_ref(ref)
        except InvalidRequestError as exc:
            fail(explain(exc), EXIT_USAGE)
        known["workflow"] = str(workflow)
        _Run(ui, workflow, as_json, known).execute(values, no_wait=no_wait, timeout=timeout)


class _Run:
    """One ``flowdeck run``: start, follow on stderr, and say what an early stop left going on."""

    def __init__(self, ui: Ui, workflow: WorkflowRef, as_json: bool, known: dict[str, Any]) -> None:
        self.ui, self.workflow, self.as_json, self.known = ui, workflow, as_json, known
        self.spinner: list[Spinner] = []
        self.latest: list[Run] = []  # what an interruption reports
        self.started: Run | None = None

    def on_change(self, _old: Run, new: Run) -> None:
        self.latest[:] = [new]
        for s in self.spinner:
            s.update(Text(f"{new.workflow}: {new.status.value} ({new.provider_status})"))

    def execute(self, values: dict[str, Any], *, no_wait: bool, timeout: float) -> None:
        try:
            final = self._start_and_wait(values, no_wait=no_wait, timeout=timeout)
        except KeyboardInterrupt as exc:
            self._interrupted(exc)
        except WaitTimeout as exc:
            if self.as_json:  # for jq; a person reads the error line
                show_run(exc.run, self.as_json)
            follow = shlex.join(["flowdeck", "status", exc.run.provider, exc.run.id])
            fail(
                f"run {exc.run.id} still {exc.run.status.value} after --timeout {timeout:g}s; it goes on at "
                f"{exc.run.provider}: follow it with `{follow}`"
            )
        except (ConfigurationError, InvalidRequestError) as exc:
            fail(explain(exc), EXIT_USAGE)
        except FlowdeckError as exc:
            fail(explain(exc))
        if final is None:  # shown already
            return
        show_run(final, self.as_json, outputs_only=True)
        if not final.succeeded:
            raise typer.Exit(EXIT_FAILED)

    def _start_and_wait(self, values: dict[str, Any], *, no_wait: bool, timeout: float) -> Run | None:
        ui, workflow, as_json = self.ui, self.workflow, self.as_json
        provider = provider_spec(workflow.provider)
        with Client(on_status_change=self.on_change) as client:
            doing = (
                f"running ({provider.title} answers when the run ends)" if provider.runs.start_blocks else "starting"
            )
            with ui.err.status(Text(f"{workflow}: {doing}"), spinner="dots"):
                self.started = started = client.start(workflow, values)
            self.known.update(provider=started.provider, run_id=started.id)
            if no_wait or started.is_terminal:
                show_run(started, as_json, outputs_only=not no_wait)  # a run that ended (blocking start) was waited for
                if started.is_terminal and not started.succeeded:
                    raise typer.Exit(EXIT_FAILED)
                if not as_json and not started.is_terminal:  # an ended run has nothing to follow
                    ui.note(f"The run goes on at {started.provider}. Follow it with:\n{follow_hint(started)}")
                return None
            with ui.err.status(Text(f"{workflow}: {started.status.value}"), spinner="dots") as status:
                self.spinner.append(status)
                return client.wait(started, timeout=timeout, raise_on_failure=False)

    def _interrupted(self, exc: KeyboardInterrupt) -> NoReturn:
        if self.started is None:
            fail(
                f"interrupted while starting {self.workflow}: the run may or may not have started; "
                f"check at {self.workflow.provider}",
                interrupt_code(exc),
            )
        last = self.latest[-1] if self.latest else self.started
        if self.as_json:
            self.ui.json({**run_json(last), "interrupted": True})
        self.ui.note(
            f"Interrupted. Run {last.id} ({last.status.value}) goes on at {last.provider}. "
            f"Follow it with:\n{follow_hint(last)}",
            "yellow",
        )
        raise typer.Exit(interrupt_code(exc)) from None
