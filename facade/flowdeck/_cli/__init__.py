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

from flowdeck._cli import batch, demo, doctor, inputs, mock, run, status
from flowdeck._cli.common import app

# In the order `flowdeck --help` lists them.
app.command()(run.run)
app.command()(status.status)
app.command()(status.cancel)
app.command()(inputs.inputs)
app.command()(batch.batch)
app.command(**mock.COMMAND)(mock.mock)
app.command()(doctor.doctor)
app.command()(demo.demo)

__all__ = ["app"]
