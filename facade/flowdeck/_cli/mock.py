"""``flowdeck mock``: serve the mock providers (``flowdeck.testing``)."""

from __future__ import annotations

from typing import Any

import typer

from flowdeck._cli.common import EXIT_USAGE, fail
from flowdeck._extras import install_hint

# Every argument, --help included, is flowdeck.testing's.
COMMAND: dict[str, Any] = {
    "context_settings": {"ignore_unknown_options": True, "allow_extra_args": True, "help_option_names": []},
    "add_help_option": False,
}


def mock(ctx: typer.Context) -> None:
    """Serve the mock providers on 127.0.0.1 (flowdeck mock --help for fault flags and --env)."""
    try:
        from flowdeck.testing._command import main
    except ImportError as exc:  # pragma: no cover - only without the testing extra
        fail(install_hint("flowdeck mock", "testing", exc.name), EXIT_USAGE)
    raise typer.Exit(main(ctx.args, prog="flowdeck mock"))
