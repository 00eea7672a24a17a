"""flowdeck: one typed client for hosted workflow runners (Databar, StackAI, Gumloop, SuperAI Flows).

>>> import flowdeck
>>> with flowdeck.Client(env=mock_env) as client:  # credentials from the environment (here: the mocks')
...     run = client.run("databar:flow/123", {"domain": "stripe.com"})
>>> run.status
<Status.SUCCEEDED: 'SUCCEEDED'>

The command line (``flowdeck``) needs ``pip install 'flowdeck[cli]'``; the mock providers and the
pytest fixtures (``flowdeck.testing``) need ``pip install 'flowdeck[testing]'``.
"""

from flowdeck._client import AsyncClient, Client
from flowdeck._errors import *  # noqa: F403 - the error tree is public, listed in its __all__
from flowdeck._errors import __all__ as _errors_all
from flowdeck._lifecycle import PollPolicy
from flowdeck._models import Account, DeclaredInput, Flow, Run, Status, TaskOutput, WorkflowRef
from flowdeck._providers import parse_ref
from flowdeck._secrets import Secret
from flowdeck._version import __version__ as __version__

__all__ = [
    "Account",
    "AsyncClient",
    "Client",
    "DeclaredInput",
    "Flow",
    "PollPolicy",
    "Run",
    "Secret",
    "Status",
    "TaskOutput",
    "WorkflowRef",
    "parse_ref",
    *_errors_all,
]
