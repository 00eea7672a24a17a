"""pytest plugin (entry point ``pytest11``): realistic providers for your own tests.

pytest loads this module in every run where flowdeck is installed, so it imports nothing optional:
without the ``[testing]`` extra, pytest works as before and the fixtures say what to install.

Fixtures:
- ``flowdeck_mocks``: :class:`~flowdeck.testing.MockProviders` served on loopback for the test.
- ``flowdeck_client``: a :class:`flowdeck.Client` pointed at them (closed after the test).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    import flowdeck
    from flowdeck.testing import MockProviders


@pytest.fixture
def flowdeck_mocks() -> Iterator[MockProviders]:
    """The mock providers, served on 127.0.0.1 for one test, stopped afterwards."""
    from flowdeck.testing import MockProviders  # imported here: needs the [testing] extra

    with MockProviders() as mocks:
        yield mocks


@pytest.fixture
def flowdeck_client(flowdeck_mocks: MockProviders) -> Iterator[flowdeck.Client]:
    """A flowdeck client pointed at ``flowdeck_mocks``."""
    with flowdeck_mocks.client() as client:
        yield client
