"""Mock providers for testing code that uses flowdeck (and for flowdeck's own contract tests).

Each mock is a stateful ASGI app that behaves like the provider: its auth, its validation and error
bodies, its status words over time, Databar's 24-hour expiry on an injectable clock, fault injection.

>>> from flowdeck.testing import MockProviders
>>> with MockProviders() as mocks:  # doctest: +SKIP
...     run = mocks.client().run("gumloop:my-flow", {"topic": "x"})

With pytest, the ``flowdeck_mocks`` and ``flowdeck_client`` fixtures do this for you.
"""

from flowdeck.testing._mockcore import Faults, MockClock, MockConfig, MockState, RunRecord
from flowdeck.testing._server import PROVIDERS, MockProviders

__all__ = ["PROVIDERS", "Faults", "MockClock", "MockConfig", "MockProviders", "MockState", "RunRecord"]
