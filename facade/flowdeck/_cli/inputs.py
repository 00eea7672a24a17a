"""``flowdeck inputs``: the inputs a workflow declares."""

from __future__ import annotations

from typing import Annotated

import attrs
import typer
from rich.text import Text

from flowdeck._cli.common import EXIT_USAGE, REF_HELP, Verbose, current_ui, fail
from flowdeck._cli.explain import explain
from flowdeck._client import Client
from flowdeck._errors import (
    ConfigurationError,
    FlowdeckError,
    InvalidRequestError,
)
from flowdeck._providers import get as provider_spec
from flowdeck._providers import parse_ref


def inputs(
    ref: Annotated[str, typer.Argument(metavar="REF", help=REF_HELP)],
    as_json: Annotated[bool, typer.Option("--json", help="Print the declared inputs as JSON.")] = False,
    verbose: Verbose = 0,
) -> None:
    """Show the inputs a workflow declares (name, required, type), where its provider publishes them.

    A provider whose API publishes no declared inputs is said to, in one line (exit 0).
    Example: flowdeck inputs databar:flow/123 --json
    """
    ui = current_ui()
    ui.set_verbose(verbose)
    try:
        workflow = parse_ref(ref)
        checks = provider_spec(workflow.provider).checks
        flow = None
        if checks.inputs is not None:
            with Client() as client:
                flow = client.drive(checks.inputs(client.adapter(workflow.provider), workflow))
    except (ConfigurationError, InvalidRequestError) as exc:
        fail(explain(exc), EXIT_USAGE)
    except FlowdeckError as exc:
        fail(explain(exc))
    if flow is None:
        if as_json:
            ui.json({"workflow": str(workflow), "declared_inputs": None, "note": checks.no_inputs})
        else:
            ui.out.print(Text(f"{workflow}: {checks.no_inputs}"), soft_wrap=True)
        return
    if as_json:
        ui.json(
            {"workflow": str(workflow), "name": flow.name, "declared_inputs": [attrs.asdict(i) for i in flow.inputs]}
        )
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
