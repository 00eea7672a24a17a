"""The ``flowdeck`` command line: run, status, cancel, inputs, batch, mock, doctor, demo.

Exit codes: 0 done, 1 a run or row did not succeed (or the provider refused; ``cancel``: the run had
already ended; ``batch --check``: not ready; ``doctor``: a provider misconfigured, or with
``--verify`` or ``--network`` a key rejected, a provider unreachable), 2 usage or configuration
(``cancel`` or ``status`` where the provider has no such endpoint), or a batch its pre-flight check
refused (nothing was started, nothing written), 130 interrupted (Ctrl-C), 143 terminated (SIGTERM).
SIGTERM stops a command as Ctrl-C does (a batch flushes its journal and prints how to resume); the
code differs so a supervisor can tell them apart, 128 + the signal's number, as a shell reports a
process the signal ended.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import functools
import importlib.util
import json
import math
import os
import shlex
import shutil
import signal
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from types import FrameType
from typing import Annotated, Any, NoReturn

import attrs
import httpx
import typer
from rich.status import Status as Spinner
from rich.text import Text
from typer.core import TyperGroup

import flowdeck
from flowdeck._batch import (
    BatchRow,
    BatchSummary,
    CredentialRefusal,
    FailureGroup,
    InputFileError,
    Journal,
    fingerprint,
    loads_json,
    read_rows,
    read_text,
    run_batch,
)
from flowdeck._cli_output import (
    Interruption,
    ProgressDisplay,
    Ui,
    print_failures,
    refusal_line,
    summary_json,
    summary_line,
    summary_table,
    unknown_means,
)
from flowdeck._client import AsyncClient, Client
from flowdeck._config import shown_url
from flowdeck._errors import (
    ApiError,
    ConfigurationError,
    ConflictError,
    FlowdeckError,
    InsecureTransportError,
    InvalidRequestError,
    MissingCredentialError,
    TransportError,
    WaitTimeout,
)
from flowdeck._extras import install_hint
from flowdeck._lifecycle import PollPolicy
from flowdeck._models import Run, Status, WorkflowRef
from flowdeck._preflight import Report
from flowdeck._preflight import check as preflight_check
from flowdeck._providers import get as provider_spec
from flowdeck._providers import names as provider_names
from flowdeck._providers import parse_ref
from flowdeck._providers._base import check_id

EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED, EXIT_TERMINATED = 1, 2, 130, 143
CANCELLABLE = ("databar", "gumloop")
NO_STATUS = {"stackai": "a StackAI run ends inside the call that starts it, so there is no run to look up later"}
NO_CANCEL = {
    "stackai": "a StackAI run ends inside the call that starts it, so there is no run left to cancel",
    "superai": "SuperAI Flows documents no endpoint to cancel an execution",
}


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where Ctrl-C raises KeyboardInterrupt, so that every command stops the same way."""


def _interrupt_code(exc: BaseException) -> int:
    return EXIT_TERMINATED if isinstance(exc, Terminated) else EXIT_INTERRUPTED


def _raise_terminated(_signum: int, _frame: FrameType | None) -> None:
    raise Terminated


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM raises :class:`Terminated` for the command's duration (only the main thread has signals)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class _Group(TyperGroup):
    """Usage errors as one line (``error: ...``) with exit 2, instead of a usage block."""

    def main(  # type: ignore[override]
        self, args: Sequence[str] | None = None, prog_name: str | None = None, **extra: Any
    ) -> Any:
        if not extra.pop("standalone_mode", True):  # an embedding program handles errors itself
            return super().main(args, prog_name, standalone_mode=False, **extra)
        try:
            code = super().main(args, prog_name, standalone_mode=False, **extra)
        except typer.TyperException as exc:  # the base of click's usage and parameter errors
            ctx = getattr(exc, "ctx", None)
            where = f" (see {ctx.command_path} --help)" if ctx is not None and exc.exit_code == EXIT_USAGE else ""
            Ui.for_streams().error(f"{exc.format_message()}{where}")
            sys.exit(exc.exit_code)
        except typer.Abort as exc:  # click's word for an interruption no command handled itself
            Ui.for_streams().error("interrupted")
            sys.exit(_interrupt_code(exc.__cause__ or exc))
        sys.exit(code if isinstance(code, int) else 0)


app = typer.Typer(
    cls=_Group,
    help="Run workflows on Databar, StackAI, Gumloop and SuperAI Flows.",
    invoke_without_command=True,  # bare `flowdeck` prints the help (see _options)
    add_completion=False,
    pretty_exceptions_enable=False,  # a rich traceback would print locals: credentials among them
    rich_markup_mode=None,
)
_current: list[Ui] = []


def _ui() -> Ui:
    if not _current:  # a command invoked without the app callback (a direct call in a test)
        _current.append(Ui.for_streams())
    return _current[-1]


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"flowdeck {flowdeck.__version__}")
        raise typer.Exit()


def _positive(value: float | None) -> float | None:
    if value is not None and not math.isfinite(value):  # `inf` and `nan` parse as floats
        raise typer.BadParameter(f"{value:g} must be a finite number of seconds")
    if value is not None and value <= 0:
        raise typer.BadParameter(f"{value:g} must be more than 0 seconds")
    return value


Verbose = Annotated[
    int, typer.Option("-v", "--verbose", count=True, help="-v: show each retry; -vv: every request and poll.")
]


@app.callback()
def _options(
    ctx: typer.Context,
    version: Annotated[
        bool, typer.Option("--version", callback=_show_version, is_eager=True, help="Print the version and exit.")
    ] = False,
    verbose: Verbose = 0,
) -> None:
    if ctx.invoked_subcommand is None:
        typer.echo(ctx.get_help())
        raise typer.Exit()
    ui = Ui.for_streams()
    _current[:] = [ui]
    ctx.with_resource(ui.logging_routed())
    ctx.with_resource(_sigterm_as_interrupt())
    ui.set_verbose(verbose)


def _fail(message: str, code: int = EXIT_FAILED) -> NoReturn:
    _ui().error(message)
    raise typer.Exit(code)


# The one call that goes to a provider's second URL (SuperAI's token grant, to SUPERAI_AUTH_URL).
URL_OF_OPERATION = {("superai", "get_token"): "auth"}
_NO_SUCH_HOST = ("name or service not known", "nodename nor servname", "getaddrinfo", "no address associated",
                 "name resolution", "no such host")  # fmt: skip


def _url_of(provider: str, operation: str) -> tuple[str, str]:
    """Where ``operation`` of ``provider`` connects (``host:port``), and what set that URL, to check.

    >>> _url_of("gumloop", "start_pipeline")  # doctest: +SKIP
    ('127.0.0.1:1', 'set by GUMLOOP_BASE_URL=http://127.0.0.1:1/api/v1: check it')
    """
    spec = provider_spec(provider)
    config = spec.config.configure(provider, os.environ)
    key = URL_OF_OPERATION.get((provider, operation), spec.config.urls[0].key)
    setting = next(u for u in spec.config.urls if u.key == key)
    url = httpx.URL(config.urls[key])
    where = f"{url.host}:{url.port or (443 if url.scheme == 'https' else 80)}"
    doctor = " (flowdeck doctor --network tries it)" if key == spec.config.urls[0].key else ""
    if config.url_sources[key] == setting.variable:
        return where, f"set by {setting.variable}={shown_url(str(url))}: check it{doctor}"
    return where, f"{spec.title}'s own URL ({setting.variable} is not set): check the network{doctor}"


def _unreachable(exc: TransportError) -> str | None:
    """The line for a connection that could not be made: the host and port, why, and the variable that
    set that URL (the HTTP library's own text says none of it); None for other transport failures.

    >>> import httpx
    >>> try:
    ...     raise TransportError("ConnectError: ...", provider="databar", operation="get_task") from httpx.ConnectError(
    ...         "[Errno 111] Connection refused")
    ... except TransportError as exc:
    ...     print(_unreachable(exc))  # doctest: +ELLIPSIS
    databar: cannot connect to ... (connection refused), ...; nothing was sent
    """
    cause = exc.__cause__
    if not isinstance(cause, httpx.ConnectError | httpx.ConnectTimeout) or exc.provider not in provider_names():
        return None
    text = str(cause).lower()
    if isinstance(cause, httpx.ConnectTimeout):
        why = "no answer in time"
    elif any(words in text for words in _NO_SUCH_HOST):
        why = "no such host"
    elif "refused" in text or "connect call failed" in text:
        why = "connection refused"
    else:
        why = "no connection"
    where, source = _url_of(exc.provider, exc.operation)
    sent = "; nothing was sent" + (", so no run was started" if "never sent" in str(exc) else "")
    return f"{exc.provider}: cannot connect to {where} ({why}), {source}{sent}"


def _explain(exc: FlowdeckError) -> str:
    """The one line a user reads for ``exc``: what to do, in the command line's terms."""
    if isinstance(exc, TransportError) and (line := _unreachable(exc)) is not None:
        return line
    if isinstance(exc, MissingCredentialError):
        return f"{exc.provider}: no credential; set {exc.variable} (flowdeck doctor shows what is set)"
    if isinstance(exc, InsecureTransportError):
        # The library's advice is a keyword argument; the command line sends credentials over https only.
        from flowdeck._doctor import insecure_advice

        return f"{exc.provider}: {insecure_advice(exc)}"
    if (
        isinstance(exc, ApiError)
        and exc.provider in provider_names()
        and provider_spec(exc.provider).checks.rejects(exc)
    ):
        # The provider says no to the credential (SuperAI's login answers a wrong password with 400):
        # name where it came from, never what it is.
        spec = provider_spec(exc.provider)
        how = "flowdeck doctor --verify asks the provider" if spec.checks.verify else spec.checks.unverifiable
        return f"{exc}; check {' / '.join(_credential_variables(exc.provider))} ({how})"
    return str(exc)


def _clipped(text: str, keep: int = 60) -> str:
    """``text`` short enough for a one-line error (a pasted value can be megabytes)."""
    return text if len(text) <= keep else f"{text[: keep - 3]}..."


def _parse_inputs(pairs: Sequence[str] | None, inputs_file: Path | None) -> dict[str, Any]:
    """``--inputs file.json``, then each ``-i key=value`` (a string) or ``-i key:=<json>`` (any JSON value)."""
    inputs: dict[str, Any] = {}
    if inputs_file is not None:
        try:
            loaded = loads_json(read_text(inputs_file, hint="a JSON file must be UTF-8", option=None))
        except InputFileError as exc:
            _fail(f"--inputs {exc}", EXIT_USAGE)
        except json.JSONDecodeError as exc:
            _fail(f"--inputs {inputs_file} line {exc.lineno}: not valid JSON ({exc.msg})", EXIT_USAGE)
        if not isinstance(loaded, dict):
            _fail(f"--inputs {inputs_file}: must hold a JSON object, got {type(loaded).__name__}", EXIT_USAGE)
        inputs.update(loaded)
    given: dict[str, str] = {}  # each -i's input name: the pair that gave it
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key or key == ":":
            _fail(f"-i {_clipped(pair)!r}: expected key=value (a string) or key:=<json>", EXIT_USAGE)
        is_json, key = key.endswith(":"), key.removesuffix(":")
        if given.get(key, pair) != pair:  # keeping the last would send a value nobody saw chosen over the other
            _fail(
                f"-i: input {_clipped(key)!r} given twice ({_clipped(given[key], 30)!r} and {_clipped(pair, 30)!r}); "
                f"give it once",
                EXIT_USAGE,
            )
        given[key] = pair
        if is_json:
            try:
                inputs[key] = loads_json(value)
            except json.JSONDecodeError as exc:
                _fail(
                    f"-i {_clipped(pair)!r}: the value after := is not JSON ({exc.msg}); "
                    f"quote strings: {key}:='\"text\"'",
                    EXIT_USAGE,
                )
        else:
            inputs[key] = value
    return inputs


def _run_json(run: Run, *, workflow_known: bool = True) -> dict[str, Any]:
    """What is known about a run: nothing invented, no nulls."""
    data: dict[str, Any] = {"provider": run.provider, "run_id": run.id}
    if workflow_known:
        data["workflow"] = str(run.workflow)
    data |= {"status": run.status.value, "provider_status": run.provider_status}
    data |= {k: v for k, v in (("outputs", run.outputs), ("error", run.error), ("url", run.url)) if v is not None}
    return data


def _show(run: Run, as_json: bool, *, workflow_known: bool = True, outputs_only: bool = False) -> None:
    """The run on stdout; ``outputs_only`` (``run``, which waited for it): only the outputs there, the
    status line, URL and error on stderr with the progress (as gh prints a finished run's summary)."""
    ui = _ui()
    if as_json:
        ui.json(_run_json(run, workflow_known=workflow_known))
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
def _json_always(ui: Ui, as_json: bool, known: dict[str, Any]) -> Iterator[None]:
    """With ``--json``, a command that ends without printing its JSON prints one error object instead
    (``error``, ``exit_code``, what is known), so ``| jq`` never reads empty input.

    ``known`` may be filled in while the command runs (the workflow, once parsed).
    """
    try:
        yield
    except typer.Exit as exc:
        if as_json and exc.exit_code != 0 and not ui.printed_json:
            error = {"error": ui.last_error or "failed", "exit_code": exc.exit_code}
            interrupted = {"interrupted": True} if exc.exit_code in (EXIT_INTERRUPTED, EXIT_TERMINATED) else {}
            ui.json({**known, **error, **interrupted})
        raise


def _follow_hint(run: Run) -> str:
    lines = [f"  flowdeck status {run.provider} {shlex.quote(run.id)}"]
    if run.provider in CANCELLABLE:
        lines.append(f"  flowdeck cancel {run.provider} {shlex.quote(run.id)}")
    return "\n".join(lines)


@app.command()
def run(
    ref: Annotated[
        str,
        typer.Argument(
            metavar="REF", help="Workflow: databar:flow/<id>, stackai:<org>/<flow>, gumloop:<id>, superai:<uuid>"
        ),
    ],
    inputs: Annotated[
        list[str] | None,
        typer.Option(
            "-i", "--input", metavar="KEY=VALUE", help="An input: key=value (a string) or key:=<json> (repeatable)."
        ),
    ] = None,
    inputs_file: Annotated[
        Path | None, typer.Option("--inputs", metavar="FILE", help="A JSON file with an object of inputs.")
    ] = None,
    no_wait: Annotated[
        bool, typer.Option("--no-wait", help="Start the run and return at once (the id alone: --json | jq -r .run_id).")
    ] = False,
    timeout: Annotated[
        float,
        typer.Option(metavar="SECONDS", callback=_positive, help="Seconds to wait before giving up (the run goes on)."),
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
    ui = _ui()
    ui.set_verbose(verbose)
    known: dict[str, Any] = {}  # what the JSON error object says, as it becomes known
    with _json_always(ui, as_json, known):
        values = _parse_inputs(inputs, inputs_file)
        try:
            workflow = parse_ref(ref)
        except InvalidRequestError as exc:
            _fail(_explain(exc), EXIT_USAGE)
        known["workflow"] = str(workflow)
        spinner: list[Spinner] = []
        latest: list[Run] = []  # the last state a poll saw: what an interruption reports

        def on_change(_old: Run, new: Run) -> None:
            latest[:] = [new]
            for s in spinner:
                s.update(Text(f"{new.workflow}: {new.status.value} ({new.provider_status})"))

        started: Run | None = None
        try:
            with Client(on_status_change=on_change) as client:
                doing = "running (StackAI answers when the flow ends)" if workflow.provider == "stackai" else "starting"
                with ui.err.status(Text(f"{workflow}: {doing}"), spinner="dots"):
                    started = client.start(workflow, values)
                known.update(provider=started.provider, run_id=started.id)
                if no_wait or started.is_terminal:
                    _show(started, as_json, outputs_only=not no_wait)  # a run that ended (StackAI's) was waited for
                    if started.is_terminal and not started.succeeded:
                        raise typer.Exit(EXIT_FAILED)
                    if not as_json and not started.is_terminal:  # an ended run (StackAI's always) has nothing to follow
                        ui.note(f"The run goes on at {started.provider}. Follow it with:\n{_follow_hint(started)}")
                    return
                with ui.err.status(Text(f"{workflow}: {started.status.value}"), spinner="dots") as status:
                    spinner.append(status)
                    final = client.wait(started, timeout=timeout, raise_on_failure=False)
        except KeyboardInterrupt as exc:
            if started is None:
                _fail(
                    f"interrupted while starting {workflow}: the run may or may not have started; "
                    f"check at {workflow.provider}",
                    _interrupt_code(exc),
                )
            last = latest[-1] if latest else started
            if as_json:
                ui.json({**_run_json(last), "interrupted": True})
            ui.note(
                f"Interrupted. Run {last.id} ({last.status.value}) goes on at {last.provider}. "
                f"Follow it with:\n{_follow_hint(last)}",
                "yellow",
            )
            raise typer.Exit(_interrupt_code(exc)) from None
        except WaitTimeout as exc:
            if as_json:  # the run for jq; a person reads it all in the one error line
                _show(exc.run, as_json)
            follow = shlex.join(["flowdeck", "status", exc.run.provider, exc.run.id])
            _fail(
                f"run {exc.run.id} still {exc.run.status.value} after --timeout {timeout:g}s; it goes on at "
                f"{exc.run.provider}: follow it with `{follow}`"
            )
        except (ConfigurationError, InvalidRequestError) as exc:
            _fail(_explain(exc), EXIT_USAGE)
        except FlowdeckError as exc:
            _fail(_explain(exc))
        _show(final, as_json, outputs_only=True)
        if not final.succeeded:
            raise typer.Exit(EXIT_FAILED)


def _cancel(client: Client, placeholder: Run) -> tuple[Run, bool]:
    """Cancel a run: the run as it is now, and whether it was still going when asked.

    Every provider answers the same way for a run that had ended: Databar refuses (409), Gumloop's
    kill succeeds and the run shows how it ended; so the run is looked at first, and again after.
    """
    before = client.refresh(placeholder)
    if before.is_terminal:
        return before, False
    try:
        after = client.cancel(before)
    except ConflictError:  # it ended between the look and the cancel
        after = client.refresh(before)
        if not after.is_terminal:
            raise
        return after, False
    return after, not after.is_terminal or after.status is Status.CANCELLED


def _on_run(provider: str, run_id: str, as_json: bool, action: str) -> None:
    with _json_always(_ui(), as_json, {"provider": provider, "run_id": run_id}):
        _run_action(provider, run_id, as_json, action)


def _run_action(provider: str, run_id: str, as_json: bool, action: str) -> None:
    if provider not in provider_names():
        _fail(f"unknown provider {provider!r}; expected one of {', '.join(provider_names())}", EXIT_USAGE)
    # What a provider cannot do is a mistake in the command, not an outcome (exit 2, as gh does for a
    # command a repository does not support), said before asking for a credential it would not use.
    if action == "status" and provider in NO_STATUS:
        _fail(f"{provider} has no status endpoint: {NO_STATUS[provider]}", EXIT_USAGE)
    if action == "cancel" and provider in NO_CANCEL:
        _fail(
            f"{provider} does not support cancelling runs: {NO_CANCEL[provider]} "
            f"(flowdeck cancel works for {' and '.join(CANCELLABLE)})",
            EXIT_USAGE,
        )
    try:
        check_id(run_id, f"{provider} run id")
        # The workflow of a run known only by its id is not known: it is never shown.
        placeholder = Run(provider, WorkflowRef(provider, "run", run_id), run_id, Status.PENDING, "")
        with Client() as client:
            found, stopped = (client.refresh(placeholder), True) if action == "status" else _cancel(client, placeholder)
    except (ConfigurationError, InvalidRequestError) as exc:
        _fail(_explain(exc), EXIT_USAGE)
    except FlowdeckError as exc:
        _fail(_explain(exc))
    workflow_known = found.workflow != placeholder.workflow
    if not stopped:  # a script's `flowdeck cancel ... && next` must not read "nothing to stop" as done
        if as_json:
            _show(found, as_json, workflow_known=workflow_known)
        status = found.status.value + (f", {found.provider_status}" if found.provider_status else "")
        _fail(f"{provider} run {found.id} had already ended ({status}); nothing was cancelled")
    _show(found, as_json, workflow_known=workflow_known)
    # `flowdeck status ... && next-step` must not carry on after a run that ended badly.
    if action == "status" and found.is_terminal and not found.succeeded:
        raise typer.Exit(EXIT_FAILED)


@app.command()
def status(
    provider: Annotated[str, typer.Argument(metavar="PROVIDER", help="databar, gumloop or superai")],
    run_id: Annotated[str, typer.Argument(metavar="RUN_ID", help="The run (task, execution) id")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the run as one JSON object.")] = False,
    verbose: Verbose = 0,
) -> None:
    """Show a run's status and outputs (exit 1 if it ended without success).  Example: flowdeck status databar a1b2c3"""
    _ui().set_verbose(verbose)
    _on_run(provider, run_id, as_json, "status")


@app.command()
def cancel(
    provider: Annotated[str, typer.Argument(metavar="PROVIDER", help="databar or gumloop")],
    run_id: Annotated[str, typer.Argument(metavar="RUN_ID", help="The run (task) id")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the run as one JSON object.")] = False,
    verbose: Verbose = 0,
) -> None:
    """Ask the provider to stop a run.  Example: flowdeck cancel gumloop 8f3a..."""
    _ui().set_verbose(verbose)
    _on_run(provider, run_id, as_json, "cancel")


@app.command()
def inputs(
    ref: Annotated[str, typer.Argument(metavar="REF", help="Workflow: databar:flow/<id>, gumloop:<id>...")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the declared inputs as JSON.")] = False,
    verbose: Verbose = 0,
) -> None:
    """Show the inputs a workflow declares (name, required, type), where its provider publishes them.

    A provider whose API publishes no declared inputs is said to, in one line (exit 0).
    Example: flowdeck inputs databar:flow/123 --json
    """
    ui = _ui()
    ui.set_verbose(verbose)
    try:
        workflow = parse_ref(ref)
        checks = provider_spec(workflow.provider).checks
        flow = None
        if checks.inputs is not None:
            with Client() as client:
                flow = client.drive(checks.inputs(client.adapter(workflow.provider), workflow))
    except (ConfigurationError, InvalidRequestError) as exc:
        _fail(_explain(exc), EXIT_USAGE)
    except FlowdeckError as exc:
        _fail(_explain(exc))
    if flow is None:
        if as_json:
            ui.json({"workflow": str(workflow), "declared_inputs": None, "note": checks.no_inputs})
        else:
            ui.out.print(Text(f"{workflow}: {checks.no_inputs}"), soft_wrap=True)
        return
    if as_json:
        ui.json({"workflow": str(workflow), "name": flow.name,
                 "declared_inputs": [attrs.asdict(i) for i in flow.inputs]})  # fmt: skip
        return
    from rich.table import Table

    table = Table(title=f"{workflow}: {flow.name}", title_justify="left")
    for column in ("input", "required", "type", "description"):
        table.add_column(column, overflow="fold")
    for item in flow.inputs:
        table.add_row(Text(item.id), "yes" if item.required else "no", Text(item.type), Text(item.description))
    ui.out.print(table)
    if not flow.inputs:
        ui.out.print(Text(f"{workflow} declares no inputs"), soft_wrap=True)


# --- batch ----------------------------------------------------------------------------------------


RATE_UNITS = {"s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}


def _parse_rate(rate: str | None) -> float | None:
    """``--rate``: starts per second, minute or hour (``10/s``, ``300/m``, ``1000/h``; a bare number is per
    second), as starts per second.

    >>> _parse_rate("30/m"), _parse_rate("2")
    (0.5, 2.0)
    """
    if rate is None:
        return None
    number, per, unit = rate.strip().partition("/")
    forms = "like 10/s, 300/m or 1000/h"
    if per and unit.strip().lower() not in RATE_UNITS:  # a bare number is per second
        _fail(f"--rate {rate!r}: expected starts per second, minute or hour, {forms}", EXIT_USAGE)
    try:
        value = float(number)
    except ValueError:
        _fail(f"--rate {rate!r}: expected a number of starts, {forms}", EXIT_USAGE)
    if not math.isfinite(value):
        _fail(f"--rate {rate!r}: must be a finite number of starts (leave --rate out for no limit)", EXIT_USAGE)
    if value <= 0:
        _fail(f"--rate {rate!r}: must be more than 0 starts", EXIT_USAGE)
    return value / RATE_UNITS.get(unit.strip().lower(), 1.0)


def _parse_map(items: Sequence[str]) -> dict[str, str]:
    """``--map COLUMN=INPUT`` options: each column mapped once, each input from one column (else exit 2).

    The same ``--map`` given twice is harmless; two answers for one column or input are refused rather
    than one kept silently.
    """
    renames: dict[str, str] = {}
    for item in items:
        src, sep, dst = item.partition("=")
        if not sep or not src or not dst:
            _fail(f"--map {item!r}: expected 'column=input_name'", EXIT_USAGE)
        if renames.get(src, dst) != dst:
            _fail(f"--map: column {src!r} given twice ({src}={renames[src]} and {item}); map it once", EXIT_USAGE)
        other = next((column for column, name in renames.items() if name == dst and column != src), None)
        if other is not None:
            _fail(
                f"--map: input {dst!r} given twice (from columns {other!r} and {src!r}); map one column to it",
                EXIT_USAGE,
            )
        renames[src] = dst
    return renames


def _parse_delimiter(value: str | None) -> str | None:
    """``--delimiter``: one character, or ``tab`` (a tab is hard to type into a shell)."""
    if value is None:
        return None
    separator = "\t" if value.lower() in ("tab", "\\t") else value
    if len(separator) != 1 or separator in '"\r\n' or separator.isalnum():
        _fail(f"--delimiter {value!r}: expected one separator character, like ';', '|' or tab", EXIT_USAGE)
    return separator


def _check_out(out_path: Path, input_file: Path, *, read_only: bool = False) -> str | None:
    """Refuse an --out that cannot work, before anything is read or written.

    ``read_only`` (``--check``, which writes nothing): whether the files could be written is asked,
    not tried, and a no is returned as a warning for the batch that will write them.
    """
    if str(out_path) == "-":
        _fail("--out -: results go to a file, which is also what a rerun resumes from; give a file name", EXIT_USAGE)
    folder = out_path.parent
    if not folder.is_dir():
        _fail(f"--out {out_path}: folder {folder} does not exist; create it first", EXIT_USAGE)
    if out_path.is_dir():
        _fail(f"--out {out_path}: is a folder; give a file name, like {out_path / 'results.jsonl'}", EXIT_USAGE)
    if out_path.resolve() == input_file.resolve() or (
        out_path.exists() and input_file.exists() and out_path.samefile(input_file)
    ):
        _fail(f"--out {out_path}: is the input file; write results to another file, like results.jsonl", EXIT_USAGE)
    if out_path.exists() and not out_path.is_file():
        _fail(f"--out {out_path}: is not a regular file; results need a file a rerun can read back", EXIT_USAGE)
    if read_only:
        for path in (out_path, Journal(out_path).state):
            with contextlib.suppress(OSError, ValueError):  # a limit the file system does not say is no limit
                if len(os.fsencode(path.name)) > os.pathconf(folder, "PC_NAME_MAX"):  # no file of that name can be
                    _fail(f"--out {out_path}: {path.name} is too long a file name; choose a shorter --out", EXIT_USAGE)
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
            _fail(f"--out {out_path}: cannot write {path}: {exc.strerror or exc}", EXIT_USAGE)
        if not existed:
            path.unlink()
    return None


def _program() -> list[str]:
    """How to invoke this same flowdeck from a shell: ``flowdeck`` if that is the one on PATH."""
    script = Path(sys.executable).parent / "flowdeck"
    on_path = shutil.which("flowdeck")
    if script.exists():
        return ["flowdeck"] if on_path and Path(on_path).resolve() == script.resolve() else [str(script)]
    return [sys.executable, "-m", "flowdeck"]


def _credential_variables(provider: str) -> list[str]:
    """The variables of ``provider``'s credential that are set (the ones a refusal is about: SuperAI's
    email and password, or its token), the user's or account's ids among them; all of them if none is.

    >>> _credential_variables("databar")
    ['DATABAR_API_KEY']
    """
    settings = provider_spec(provider).config.settings
    return [s.variable for s in settings if os.environ.get(s.variable)] or [s.variable for s in settings]


def _next_step(
    group: FailureGroup, resume: list[str], out: Path, refused: Mapping[str, CredentialRefusal] | None = None
) -> str:
    """What to do about a group of rows that did not succeed (``refused``: providers that refused the credential)."""
    again = shlex.join(resume)
    credential_step = (
        f"check {' / '.join(_credential_variables(group.provider))}, then run: "
        f"{shlex.join([*resume, '--retry-rejected'])}"
    )
    if group.status == "REJECTED":
        known = ("AuthenticationError", "PermissionDeniedError", "MissingCredentialError")
        if group.error_type in known or group.provider in (refused or {}):
            return credential_step
        if group.error_type == "NotFoundError":
            return f"check the workflow reference and account, then run: {shlex.join([*resume, '--retry-rejected'])}"
        if group.error_type == "InsufficientCreditsError":
            return f"add credits at {group.provider}, then run: {shlex.join([*resume, '--retry-rejected'])}"
        return "fix these rows' inputs and run them with a new --out (a changed input file cannot resume this batch)"
    if group.status == "UNKNOWN":
        return (
            f"no whole answer came back to these starts: {unknown_means(group.provider)}. Reruns leave these rows "
            f"alone; once you know they did not start, start them with (a run that did start runs twice): "
            f"{shlex.join([*resume, '--retry-unknown'])}"
        )
    if group.status == "NOT_STARTED":
        if group.error_type is None and group.provider in (refused or {}) and group.reason.startswith("not sent: "):
            return credential_step  # the row the provider refused is retried with them
        if group.error_type == "RateLimitError" and "--adaptive-rate" not in resume:
            # Retrying at the same pace meets the same quota: the pasted command must slow down.
            return (
                f"{group.provider} refused these starts (HTTP 429, a quota); to start them at the pace it "
                f"accepts run: {shlex.join([*resume, '--adaptive-rate'])}"
            )
        if group.error_type == "TransportError" and "could not connect" in group.reason:
            where, source = _url_of(group.provider, group.reason.partition(":")[0].rpartition(" ")[2])
            return f"{group.provider} could not be reached at {where}, {source}; then run: {again}"
        return f"nothing was started for these rows; to try again run: {again}"
    if group.status == "POLL_ERROR" and group.error_type == "NotFoundError":
        # Waiting again would meet the same 404: the runs are not at the server this batch now asks.
        return (
            f"{group.provider} does not know these runs (HTTP 404): they were started at another server or "
            f"account than the one configured now; check its base URL and key (flowdeck doctor)"
        )
    if group.status == "TIMEOUT" and "--timeout" in resume:
        # The same --timeout would most likely time out again: the pasted command waits until they end.
        at = resume.index("--timeout")
        until_done = shlex.join([*resume[:at], *resume[at + 2 :]])
        return (
            f"the runs go on at {group.provider}; to wait until they end run: {until_done} "
            f"(or add a --timeout longer than {resume[at + 1]})"
        )
    if group.status in ("TIMEOUT", "POLL_ERROR"):
        return f"the runs go on at {group.provider}; to wait for them again run: {again}"
    if group.status == "FAILED":
        return (
            f"the workflow failed at {group.provider}; each row's error is in {out}. To run these rows again "
            f"(each a new run, paid again): {shlex.join([*resume, '--retry-failed'])}"
        )
    return f"see each row in {out}"


def batch_client(*, adaptive_rate: bool = False) -> AsyncClient:
    """The batch's client: on aiohttp's connections when installed (the ``[cli]`` extra brings it).

    A batch sends thousands of requests, and aiohttp's take a fraction of httpcore's CPU each (README
    "Performance"); both keep the same guarantees (no run started twice, no request waiting inside a pool).
    ``adaptive_rate``: pace starts under a provider's quota (``--adaptive-rate``, flowdeck._adaptive).
    """
    return AsyncClient(
        http_backend="aiohttp" if importlib.util.find_spec("aiohttp") else "httpcore", adaptive_rate=adaptive_rate
    )


@contextlib.contextmanager
def _sigterm_cancels(task: asyncio.Task[Any], fired: list[bool]) -> Iterator[None]:
    """SIGTERM cancels ``task`` as asyncio does on Ctrl-C, so the batch stops at an await: its journal
    whole and flushed, never cut mid-write (a signal raised in the middle of the loop could be)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    loop = asyncio.get_running_loop()
    previous = signal.getsignal(signal.SIGTERM)

    def cancel() -> None:
        fired.append(True)
        task.cancel()

    loop.add_signal_handler(signal.SIGTERM, cancel)
    try:
        yield
    finally:
        loop.remove_signal_handler(signal.SIGTERM)
        signal.signal(signal.SIGTERM, previous)


def _execute_batch(
    ui: Ui, client_factory: Callable[[], AsyncClient], rows: list[BatchRow], out_path: Path, *, concurrency: int,
    rate: float | None, timeout: float | None, retry_unknown: bool, retry_rejected: bool,
    on_interrupt: Callable[[Journal, KeyboardInterrupt], None], bulk: int | None = None, retry_failed: bool = False,
) -> BatchSummary:  # fmt: skip
    """Run the batch; on Ctrl-C or SIGTERM, ``on_interrupt`` reports (the journal is closed by then) and
    the command exits 130 or 143."""
    journal = Journal(out_path)
    terminated: list[bool] = []

    async def main() -> BatchSummary:
        task = asyncio.current_task()
        assert task is not None  # asyncio.run runs main() as a task
        with _sigterm_cancels(task, terminated):
            async with client_factory() as client:
                with ProgressDisplay(ui) as display:
                    return await run_batch(
                        client, rows, journal, concurrency=concurrency, rate=rate, timeout=timeout,
                        retry_unknown=retry_unknown, retry_rejected=retry_rejected, retry_failed=retry_failed,
                        observer=display, bulk=bulk,
                    )  # fmt: skip

    try:
        try:
            return asyncio.run(main())
        except asyncio.CancelledError:
            if not terminated:
                raise
            raise Terminated from None
    except KeyboardInterrupt as exc:
        on_interrupt(journal, exc)
        raise typer.Exit(_interrupt_code(exc)) from None


def _batch_argv(
    ref: str, input_file: Path, out_path: Path, options: Sequence[tuple[str, object, object]], mapping: Sequence[str],
    verbose: int = 0,
) -> list[str]:  # fmt: skip
    """The batch command as given (every option that differs from its default), to print for a rerun.

    ``verbose`` counts the -v given before and after ``batch``: the rerun shows what this run showed.
    """
    argv = [*_program(), *([f"-{'v' * verbose}"] if verbose else []), "batch", ref, str(input_file)]
    argv += ["--out", str(out_path)]
    for flag, value, default in options:
        if value != default:
            argv += [flag] if value is True else [flag, str(value)]
    for item in mapping:
        argv += ["--map", item]
    return argv


def _preflight_verdict(ui: Ui, report: Report, *, check_only: bool, as_json: bool) -> bool:
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
        _fail("required inputs are missing, so nothing was started; fix the input file or --map its columns "
              "(flowdeck inputs REF lists them; --no-check skips this check)", EXIT_USAGE)  # fmt: skip
    if report.progress.error:  # this --out belongs to another batch: refused, as the batch itself would
        _fail(report.progress.error, EXIT_USAGE)
    for line in report.problems + report.warnings:  # the batch goes on: the provider will say the rest
        ui.note(f"warning: {line}", "yellow")
    return False


@app.command()
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
        float | None, typer.Option(metavar="SECONDS", callback=_positive, help="Seconds to wait for each run")
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
    ui = _ui()
    ui.set_verbose(verbose)
    # An empty name would read as the current folder ('.'): say what was given instead.
    if not input_name.strip():
        _fail(f"INPUT_FILE {input_name!r}: empty; give the input file, like leads.csv", EXIT_USAGE)
    if not out_name.strip():
        _fail(f"--out {out_name!r}: empty; give a file name for the results, like results.jsonl", EXIT_USAGE)
    input_file, out_path = Path(input_name), Path(out_name)
    separator = _parse_delimiter(delimiter)
    if separator is not None and input_file.suffix.lower() in (".jsonl", ".ndjson"):
        _fail(f"--delimiter: {input_name} is JSON Lines, which has no separator; it is for CSV files", EXIT_USAGE)
    renames = _parse_map(mapping or [])
    try:
        codecs.lookup(encoding)
    except LookupError:
        _fail(f"--encoding {encoding!r}: unknown encoding; try utf-8, latin-1 or cp1252", EXIT_USAGE)
    if check_only and no_check:
        _fail("--check and --no-check contradict each other; give one", EXIT_USAGE)
    unwritable = _check_out(out_path, input_file, read_only=check_only)
    starts_per_second = _parse_rate(rate)
    if not ref.startswith("column:"):
        try:
            parse_ref(ref)  # a mistake in the argument is the argument's, not the input file's first row's
        except InvalidRequestError as exc:
            _fail(str(exc), EXIT_USAGE)
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
        _fail(_explain(exc), EXIT_USAGE)
    except KeyboardInterrupt as exc:  # reading the file, or the pre-flight's reads: no start was sent yet
        _fail(
            f"interrupted {'before starting' if no_check else 'during the pre-flight check'}: "
            f"nothing was started and {out_path} was not written",
            _interrupt_code(exc),
        )
    if report is not None and unwritable:
        report = attrs.evolve(report, unwritable=unwritable)
    if report is not None and _preflight_verdict(ui, report, check_only=check_only, as_json=as_json):
        return
    options = [("--concurrency", concurrency, 50), ("--rate", rate, None), ("--timeout", timeout, None),
               ("--encoding", encoding, "utf-8"), ("--delimiter", delimiter, None), ("--bulk", bulk, None),
               ("--adaptive-rate", adaptive_rate, False), ("--no-check", no_check, False),
               ("--json", as_json, False)]  # fmt: skip
    resume = _batch_argv(ref, input_file, out_path, options, mapping or [], ui.verbose)
    # Never --retry-unknown: the printed command promises that no run is started twice.
    again = _batch_argv(
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
        summary = _execute_batch(
            ui, factory, rows, out_path, concurrency=concurrency, rate=starts_per_second, timeout=timeout,
            retry_unknown=retry_unknown, retry_rejected=retry_rejected, on_interrupt=interrupted, bulk=bulk,
            retry_failed=retry_failed,
        )  # fmt: skip
    except (ConfigurationError, InvalidRequestError) as exc:
        _fail(_explain(exc), EXIT_USAGE)
    except OSError as exc:  # the results or state file could not be written (disk full, permissions)
        _fail(
            f"cannot write {exc.filename or out_path}: {exc.strerror or exc}; once it can be written, resume "
            f"(no run is started twice): {shlex.join(again)}"
        )
    steps: list[str | None] = [_next_step(g, resume, out_path, summary.refused) for g in summary.failures]
    if as_json:
        ui.json(summary_json(summary, steps, str(out_path)))
    else:
        ui.out.print(summary_line(summary), soft_wrap=True)
        ui.out.print(summary_table(summary))
        print_failures(ui, summary.failures, steps)
        ui.out.print(Text(f"results: {out_path}"), soft_wrap=True)
    for refusal in sorted(summary.refused.values(), key=lambda r: r.provider):
        ui.error(refusal_line(refusal, _credential_variables(refusal.provider)))
    if not summary.ok:
        raise typer.Exit(EXIT_FAILED)


# --- mock, doctor, demo ---------------------------------------------------------------------------


@app.command(
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True, "help_option_names": []},
    add_help_option=False,
)
def mock(ctx: typer.Context) -> None:
    """Serve the four mock providers on 127.0.0.1 (flowdeck mock --help for fault flags and --env)."""
    try:
        from flowdeck.testing._command import main
    except ImportError as exc:  # pragma: no cover - only without the testing extra
        _fail(install_hint("flowdeck mock", "testing", exc.name), EXIT_USAGE)
    raise typer.Exit(main(ctx.args, prog="flowdeck mock"))


@app.command()
def doctor(
    check_network: Annotated[
        bool, typer.Option("--network/--no-network", help="Also try to reach each base URL (no credentials sent)")
    ] = False,
    check_keys: Annotated[
        bool,
        typer.Option("--verify", help="One cheap authenticated read per ready provider: is the key accepted?"),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the diagnosis as JSON.")] = False,
) -> None:
    """Show whether each provider is ready, not configured or misconfigured (never a credential's value).

    Exits 1 when no provider is usable, when one is misconfigured (a variable set, the setup incomplete
    or invalid), when a ready provider is unreachable (--network, --verify), or (with --verify) when a
    provider rejects its key.
    Example: flowdeck doctor --verify --json
    """
    from flowdeck import _doctor

    ui = _ui()
    diagnoses = _doctor.diagnose()
    if check_network:
        diagnoses = _doctor.reach(diagnoses)
    if check_keys:
        with ui.err.status(Text("verifying keys"), spinner="dots"):
            diagnoses = _doctor.verify(diagnoses)
    if as_json:
        ui.json({"providers": [d.to_json() for d in diagnoses], "summary": _doctor.summary(diagnoses)})
    else:
        ui.out.print(_doctor.table(diagnoses))
        ui.out.print(Text(_doctor.summary(diagnoses)), soft_wrap=True)
    # A misconfigured provider fails the check even beside a ready one (as `gh auth status` fails for
    # any bad account): a variable was set, so that provider was meant to work.
    if not any(d.usable for d in diagnoses) or any(
        d.verdict is _doctor.Verdict.REJECTED
        or d.state is _doctor.State.MISCONFIGURED
        or (d.state is _doctor.State.READY and d.unreachable)
        for d in diagnoses
    ):
        raise typer.Exit(EXIT_FAILED)


DEMO_FLOW = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
DEMO_SCRIPTED = (
    "The failing rows are scripted to fail, to show those paths: workflow ids with 'fail-' fail at the provider "
    "(FAILED), an unknown SuperAI flow is refused at start (REJECTED), and about 3% of the other runs fail at random."
)


def demo_rows(n: int) -> list[dict[str, Any]]:
    """A few hundred input rows spread over the four providers, some scripted to fail."""
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
    rows: Annotated[int, typer.Option(min=1, metavar="N", help="How many input rows")] = 300,
    seed: Annotated[int, typer.Option(metavar="N", help="Seed of the mocks' random choices")] = 7,
) -> None:
    """Serve the embedded mock providers and run a real batch over all four (what `make demo` does)."""
    try:
        from flowdeck.testing import MockConfig, MockProviders
    except ImportError as exc:  # pragma: no cover - only without the testing extra
        _fail(install_hint("flowdeck demo", "testing", exc.name), EXIT_USAGE)
    ui = _ui()
    ui.out.print(Text(f"flowdeck demo: {rows} rows over Databar, StackAI, Gumloop and SuperAI mocks"), soft_wrap=True)
    with (
        tempfile.TemporaryDirectory(prefix="flowdeck-demo-") as work,
        MockProviders(MockConfig(seed=seed, run_seconds=(0.5, 4.0), failure_rate=0.03)) as mocks,
    ):
        inputs, results = Path(work) / "inputs.jsonl", Path(work) / "results.jsonl"
        inputs.write_text("".join(json.dumps(r) + "\n" for r in demo_rows(rows)), encoding="utf-8")

        def factory() -> AsyncClient:
            return AsyncClient(env=mocks.env, poll_policy=PollPolicy(initial=0.25, factor=1.5, max_interval=2.0))

        summary = _execute_batch(
            ui, factory, read_rows(inputs, "column:workflow"), results, concurrency=100, rate=150.0, timeout=120.0,
            retry_unknown=False, retry_rejected=False,
            on_interrupt=lambda _journal, _exc: ui.note(
                "\nInterrupted. The demo's mock providers and files are gone with it; run `flowdeck demo` "
                "again to start over.", "yellow"),
        )  # fmt: skip
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
