"""flowdeck: one typed client for hosted workflow runners (Databar, StackAI, Gumloop, SuperAI Flows).

>>> import flowdeck
>>> from flowdeck.testing import MockProviders  # mock providers on 127.0.0.1, instead of real credentials
>>> with MockProviders() as mocks, flowdeck.Client(env=mocks.env) as client:
...     run = client.run("databar:flow/123", {"domain": "stripe.com"})
>>> run.status
<Status.SUCCEEDED: 'SUCCEEDED'>

With real credentials in the environment (``DATABAR_API_KEY`` ...), ``flowdeck.Client()`` reads them.

The command line (``flowdeck``) needs ``pip install 'flowdeck[cli]'``; the mock providers and the
pytest fixtures (``flowdeck.testing``) need ``pip install 'flowdeck[testing]'``.
"""

# isort: off
# First of all: Ctrl-C while the command starts is one line, not a
# traceback. Elsewhere a no-op.
from flowdeck import _startup

# isort: on
from typing import TYPE_CHECKING

from flowdeck._client import AsyncClient, Client
from flowdeck._errors import *  # noqa: F403 - the error tree is public, listed in its __all__
from flowdeck._errors import __all__ as _errors_all
from flowdeck._lifecycle import PollPolicy
from flowdeck._models import Run, Status, WorkflowRef
from flowdeck._providers import parse_ref
from flowdeck._secrets import Secret
from flowdeck._version import __version__ as __version__

_startup.release()  # flowdeck.__main__ guards the rest

if TYPE_CHECKING:
    from flowdeck._details import Account, DeclaredInput, Flow, TaskOutput

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

# Shown as flowdeck.RunFailed, where users import it from, as httpx does.
for _name in __all__:
    if _name in globals():
        globals()[_name].__module__ = "flowdeck"
del _name

# Built on first use, not by `import flowdeck`. Type checkers see the
# import above.
_DETAILS = frozenset({"Account", "DeclaredInput", "Flow", "TaskOutput"})


def __getattr__(name: str) -> object:
    if name in _DETAILS:
        from flowdeck import _details

        value: object = getattr(_details, name)
        value.__module__ = "flowdeck"
        globals()[name] = value
        return value
    raise AttributeError(f"module 'flowdeck' has no attribute {name!r}")


def __dir__() -> list[str]:
    # Public names, dunders and imported subpackages (testing).
    shown = (name for name in globals() if name.startswith("__") or not name.startswith("_"))
    return sorted({*__all__, *shown} - {"TYPE_CHECKING"})
