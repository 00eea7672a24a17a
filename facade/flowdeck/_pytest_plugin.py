"""pytest plugin (entry point ``pytest11``): realistic providers for your own tests.

pytest loads this module in every run where flowdeck is installed, so it imports nothing optional:
without the ``[testing]`` extra, pytest works as before and the fixtures say what to install.

Fixtures:
- ``flowdeck_mock_config``: the :class:`~flowdeck.testing.MockConfig` the mocks serve with (default
  ``MockConfig()``); override it to script failures, faults, run lengths (see below).
- ``flowdeck_mocks``: :class:`~flowdeck.testing.MockProviders` served on loopback for the test.
- ``flowdeck_client``: a :class:`flowdeck.Client` pointed at them (closed after the test). It polls
  every 0.01-0.05 s, not from 0.5 s up as a client does by default: against loopback mocks that is
  cheap, and a test's runs end as soon as the mocks say so.

Overriding the configuration, in your ``conftest.py`` or a test module::

    import pytest
    from flowdeck.testing import Faults, MockConfig

    @pytest.fixture
    def flowdeck_mock_config():
        return MockConfig(seed=1, failure_rate=0.2, faults=Faults(rate=0.1, kinds=("429",)))
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    import flowdeck
    from flowdeck.testing import MockConfig, MockProviders


@pytest.fixture
def flowdeck_mock_config() -> MockConfig:
    """The mocks' configuration: ``MockConfig()``; override this fixture to change it."""
    from flowdeck.testing import MockConfig  # imported here: needs the [testing] extra

    return MockConfig()


@pytest.fixture
def flowdeck_mocks(flowdeck_mock_config: MockConfig) -> Iterator[MockProviders]:
    """The mock providers, served on 127.0.0.1 for one test, stopped afterwards."""
    from flowdeck.testing import MockProviders  # imported here: needs the [testing] extra

    with MockProviders(flowdeck_mock_config) as mocks:
        yield mocks


@pytest.fixture
def flowdeck_client(flowdeck_mocks: MockProviders) -> Iterator[flowdeck.Client]:
    """A flowdeck client pointed at ``flowdeck_mocks``, polling fast (the mocks are local)."""
    import flowdeck

    # Mocks answer in microseconds on loopback: poll often so a test waits only as long as its runs last.
    polling = flowdeck.PollPolicy(initial=0.01, max_interval=0.05)
    with flowdeck_mocks.client(poll_policy=polling) as client:
        yield client
