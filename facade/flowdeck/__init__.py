"""flowdeck: one typed client for hosted workflow runners (Databar, StackAI, Gumloop, SuperAI Flows).

>>> import flowdeck
>>> with flowdeck.Client() as client:  # doctest: +SKIP
...     run = client.run("databar:flow/123", {"domain": "stripe.com"})
...     print(run.status, run.outputs)
"""

from flowdeck._client import AsyncClient, Client
from flowdeck._config import Secret
from flowdeck._errors import *  # noqa: F403 - the error tree is public, listed in its __all__
from flowdeck._errors import __all__ as _errors_all
from flowdeck._lifecycle import PollPolicy
from flowdeck._models import Run, Status, TaskOutput, WorkflowRef

__version__ = "0.1.0"

__all__ = [
    "AsyncClient",
    "Client",
    "PollPolicy",
    "Run",
    "Secret",
    "Status",
    "TaskOutput",
    "WorkflowRef",
    *_errors_all,
]
