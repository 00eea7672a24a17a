"""Mock providers for testing code that uses flowdeck (and for flowdeck's own contract tests).

Each mock is a stateful ASGI app that behaves like the provider: its auth, its validation and error
bodies, its status words over time, Databar's 24-hour expiry on an injectable clock, fault injection.

>>> from flowdeck.testing import MockProviders
>>> with MockProviders() as mocks, mocks.client() as client:
...     run = client.run("gumloop:my-flow", {"topic": "x"})
>>> run.succeeded
True

With pytest, the ``flowdeck_mocks`` and ``flowdeck_client`` fixtures do this for you. Needs the
``[testing]`` extra (``pip install 'flowdeck[testing]'``): without it, importing this package raises
``ModuleNotFoundError`` saying so.

Scripting what a run does: see :class:`MockConfig` (workflow ids containing ``fail``, ``cancel``,
``missing`` or ``status-<word>``; the inputs ``mock_status`` and ``mock_outcome``;
:data:`SUPERAI_SCRIPTED_FLOWS`), and :func:`conventions` for every documented status and error of each
provider with its trigger and what flowdeck makes of it.
"""

from flowdeck._extras import extra_for, install_hint

try:
    from flowdeck.testing._conventions import (
        NEW_WORD,
        Convention,
        conventions,
        conventions_markdown,
        conventions_text,
    )
    from flowdeck.testing._mockcore import Faults, MockClock, MockConfig, MockState, RunRecord, scripted_status
    from flowdeck.testing._recording import FILTERED, credentials, replay_async_sleep, replay_sleep, vcr_config
    from flowdeck.testing._server import PROVIDERS, MockProviders, PortInUse
    from flowdeck.testing._superai import SUPERAI_SCRIPTED_FLOWS
except ModuleNotFoundError as exc:
    if extra_for(exc) is None:
        raise
    raise ModuleNotFoundError(install_hint("flowdeck.testing", "testing", exc.name), name=exc.name) from None

__all__ = [
    "FILTERED",
    "NEW_WORD",
    "PROVIDERS",
    "SUPERAI_SCRIPTED_FLOWS",
    "Convention",
    "Faults",
    "MockClock",
    "MockConfig",
    "MockProviders",
    "MockState",
    "PortInUse",
    "RunRecord",
    "conventions",
    "conventions_markdown",
    "conventions_text",
    "credentials",
    "replay_async_sleep",
    "replay_sleep",
    "scripted_status",
    "vcr_config",
]
