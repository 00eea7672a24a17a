"""Running a batch under the command line: its client, the event loop, SIGTERM and Ctrl-C."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import typer

from flowdeck._batch import (
    BatchRow,
    BatchSummary,
    Journal,
    run_batch,
)
from flowdeck._batch.reconcile import reconcile as reconcile_unknown
from flowdeck._cli.common import interrupt_code, stop_for, stop_signals
from flowdeck._cli.output import (
    ProgressDisplay,
    Ui,
)
from flowdeck._client import AsyncClient


def batch_client(*, adaptive_rate: bool = False) -> AsyncClient:
    """The batch's client: on aiohttp's connections when installed (the ``[cli]`` extra brings it).

    A batch sends thousands of requests, and aiohttp's take a fraction of httpcore's CPU each (the
    documentation's performance page); both keep the same guarantees (no run started twice, no
    request waiting inside a pool).
    ``adaptive_rate``: pace starts under a provider's quota (``--adaptive-rate``, flowdeck._adaptive).
    """
    return AsyncClient(
        http_backend="aiohttp" if importlib.util.find_spec("aiohttp") else "httpcore", adaptive_rate=adaptive_rate
    )


@contextlib.contextmanager
def sigterm_cancels(task: asyncio.Task[Any], fired: list[int]) -> Iterator[None]:
    """SIGTERM and SIGHUP cancel ``task`` as asyncio does on Ctrl-C, so the batch stops at an await: its
    journal whole and flushed, never cut mid-write (a signal raised in the middle of the loop could be)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    loop = asyncio.get_running_loop()
    previous = {s: signal.getsignal(s) for s in stop_signals()}

    def cancel(signum: int) -> None:
        fired.append(signum)
        task.cancel()

    for s in previous:
        loop.add_signal_handler(s, cancel, s)
    try:
        yield
    finally:
        for s, handler in previous.items():
            loop.remove_signal_handler(s)
            signal.signal(s, handler)


def execute_batch(
    ui: Ui,
    client_factory: Callable[[], AsyncClient],
    rows: Sequence[BatchRow],
    out_path: Path,
    *,
    concurrency: int,
    rate: float | None,
    timeout: float | None,
    retry_unknown: bool,
    retry_rejected: bool,
    on_interrupt: Callable[[Journal, KeyboardInterrupt], None],
    bulk: int | None = None,
    retry_failed: bool = False,
    reconcile: bool = False,
) -> BatchSummary:
    """Run the batch; on Ctrl-C or SIGTERM, ``on_interrupt`` reports (the journal is closed by then) and
    the command exits 130 or 143. ``reconcile``: first resolve UNKNOWN rows where the provider lists
    its runs (``flowdeck._batch.reconcile``), one line per provider on stderr."""
    journal = Journal(out_path)
    terminated: list[int] = []

    async def main() -> BatchSummary:
        task = asyncio.current_task()
        assert task is not None  # asyncio.run runs main() as a task
        with sigterm_cancels(task, terminated):
            async with client_factory() as client:
                reconciled = None
                if reconcile:  # its own journal object: the batch's starts afresh
                    reconciled = await reconcile_unknown(client, rows, Journal(out_path))
                    for found in reconciled:
                        ui.note(found.line(), "yellow" if found.cannot or found.left else "")
                with ProgressDisplay(ui) as display:
                    summary = await run_batch(
                        client,
                        rows,
                        journal,
                        concurrency=concurrency,
                        rate=rate,
                        timeout=timeout,
                        retry_unknown=retry_unknown,
                        retry_rejected=retry_rejected,
                        retry_failed=retry_failed,
                        observer=display,
                        bulk=bulk,
                    )
                if reconciled is not None:
                    summary.reconciled = [found.to_json() for found in reconciled]
                return summary

    try:
        try:
            return asyncio.run(main())
        except asyncio.CancelledError:
            if not terminated:
                raise
            raise stop_for(terminated[0]) from None
    except KeyboardInterrupt as exc:
        on_interrupt(journal, exc)
        raise typer.Exit(interrupt_code(exc)) from None
