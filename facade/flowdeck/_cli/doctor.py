"""``flowdeck doctor``: is each provider usable here (the diagnosis is ``flowdeck._doctor``)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.text import Text

from flowdeck._cli.common import EXIT_FAILED, current_ui


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

    ui = current_ui()
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
    # Fails even beside a ready provider, as `gh auth status` does: a
    # variable is set, so that provider is meant to work.
    if not any(d.usable for d in diagnoses) or any(
        d.verdict is _doctor.Verdict.REJECTED
        or d.state is _doctor.State.MISCONFIGURED
        or (d.state is _doctor.State.READY and d.unreachable)
        for d in diagnoses
    ):
        raise typer.Exit(EXIT_FAILED)
