"""``flowdeck status`` and ``flowdeck cancel``: a run known by its id."""

from __future__ import annotations

from typing import Annotated

import typer

from flowdeck._cli.common import EXIT_FAILED, EXIT_USAGE, Verbose, current_ui, fail
from flowdeck._cli.explain import explain
from flowdeck._cli.show import json_always, show_run
from flowdeck._client import Client
from flowdeck._errors import (
    ConfigurationError,
    ConflictError,
    FlowdeckError,
    InvalidRequestError,
)
from flowdeck._models import Run, Status, WorkflowRef
from flowdeck._providers import get as provider_spec
from flowdeck._providers import names as provider_names
from flowdeck._providers import providers
from flowdeck._providers._base import check_id


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
    with json_always(current_ui(), as_json, {"provider": provider, "run_id": run_id}):
        _run_action(provider, run_id, as_json, action)


def _check_provider(provider: str, action: str) -> None:
    """Refuse, before asking for a credential it would not use, a provider that is not one or that
    cannot do ``action``: a mistake in the command, not an outcome (exit 2, as gh does for a command
    a repository does not support)."""
    name, colon, _ = provider.partition(":")
    if colon:  # a workflow reference, not a provider
        example = f"; like: flowdeck {action} {name} RUN_ID" if name in provider_names() else ""
        fail(
            f"PROVIDER {provider[:60]!r}: give a provider's name alone ({', '.join(provider_names())}), "
            f"not a workflow reference{example}",
            EXIT_USAGE,
        )
    try:
        runs = provider_spec(provider).runs
    except InvalidRequestError as exc:  # names the providers, and the likely one
        fail(str(exc), EXIT_USAGE)
    if action == "status" and runs.no_status is not None:
        fail(f"{provider} has no status endpoint: {runs.no_status}", EXIT_USAGE)
    if action == "cancel" and runs.no_cancel is not None:
        able = [p.name for p in providers() if p.runs.no_cancel is None]
        fail(
            f"{provider} does not support cancelling runs: {runs.no_cancel} "
            f"(flowdeck cancel works for {' and '.join(able)})",
            EXIT_USAGE,
        )


def _run_action(provider: str, run_id: str, as_json: bool, action: str) -> None:
    _check_provider(provider, action)
    try:
        check_id(run_id, f"{provider} run id")
        # Known only by its id: the workflow is unknown.
        placeholder = Run(provider, WorkflowRef(provider, "run", run_id), run_id, Status.PENDING, "")
        with Client() as client:
            found, stopped = (client.refresh(placeholder), True) if action == "status" else _cancel(client, placeholder)
    except (ConfigurationError, InvalidRequestError) as exc:
        fail(explain(exc), EXIT_USAGE)
    except FlowdeckError as exc:
        fail(explain(exc))
    workflow_known = found.workflow != placeholder.workflow
    if not stopped:  # "nothing to stop" is not a success
        if as_json:
            show_run(found, as_json, workflow_known=workflow_known)
        status = found.status.value + (f", {found.provider_status}" if found.provider_status else "")
        fail(f"{provider} run {found.id} had already ended ({status}); nothing was cancelled")
    show_run(found, as_json, workflow_known=workflow_known)
    # `flowdeck status ... && next` stops after a run that ended badly.
    if action == "status" and found.is_terminal and not found.succeeded:
        raise typer.Exit(EXIT_FAILED)


def status(
    provider: Annotated[
        str, typer.Argument(metavar="PROVIDER", help="The provider's name (flowdeck doctor lists them)")
    ],
    run_id: Annotated[str, typer.Argument(metavar="RUN_ID", help="The run (task, execution) id")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the run as one JSON object.")] = False,
    verbose: Verbose = 0,
) -> None:
    """Show a run's status and outputs (exit 1 if it ended without success).  Example: flowdeck status databar a1b2c3"""
    current_ui().set_verbose(verbose)
    _on_run(provider, run_id, as_json, "status")


def cancel(
    provider: Annotated[
        str, typer.Argument(metavar="PROVIDER", help="The provider's name (flowdeck doctor lists them)")
    ],
    run_id: Annotated[str, typer.Argument(metavar="RUN_ID", help="The run (task) id")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the run as one JSON object.")] = False,
    verbose: Verbose = 0,
) -> None:
    """Ask the provider to stop a run.  Example: flowdeck cancel gumloop 8f3a..."""
    current_ui().set_verbose(verbose)
    _on_run(provider, run_id, as_json, "cancel")
