"""pytest plugin (entry point ``pytest11``): realistic providers for your own tests.

pytest loads this module in every run where flowdeck is installed, so it imports nothing optional:
without the ``[testing]`` extra, pytest works as before and the fixtures say what to install.

Fixtures:
- ``flowdeck_mock_config``: the :class:`~flowdeck.testing.MockConfig` the mocks serve with (default
  ``MockConfig()``); override it to script failures, faults, run lengths (see below).
- ``flowdeck_mocks``: :class:`~flowdeck.testing.MockProviders` served on loopback for the test.
- ``flowdeck_client``: a :class:`flowdeck.Client` pointed at them (closed after the test). It polls
  far more often than a client does by default: against loopback mocks that is cheap, and a test's
  runs end as soon as the mocks say so.
- ``flowdeck_async_client``: the same as a :class:`flowdeck.AsyncClient` (for ``async def`` tests).
- ``vcr_config``: with pytest-recording, :func:`flowdeck.testing.vcr_config`: cassettes recorded
  without any credential flowdeck sends. Under a replayed cassette (``@pytest.mark.vcr``), the
  clients above do not wait between polls.

Overriding the configuration, in your ``conftest.py`` or a test module::

    import pytest
    from flowdeck.testing import Faults, MockConfig

    @pytest.fixture
    def flowdeck_mock_config():
        return MockConfig(seed=1, failure_rate=0.2, faults=Faults(rate=0.1, kinds=("429",)))
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    import flowdeck
    from flowdeck.testing import MockConfig, MockProviders

try:  # pytest-asyncio's strict mode needs its decorator
    from pytest_asyncio import fixture as _async_fixture
except ImportError:  # anyio's plugin takes pytest's own
    _async_fixture = pytest.fixture  # type: ignore[assignment]  # the same decorator, typed apart


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


def _cassette(request: pytest.FixtureRequest) -> Any:
    """pytest-recording's cassette for this test (its ``vcr`` fixture), if it is installed and in use."""
    return request.getfixturevalue("vcr") if "vcr" in request.fixturenames else None


def _polling() -> flowdeck.PollPolicy:
    import flowdeck

    # Loopback mocks answer at once: poll often.
    return flowdeck.PollPolicy(initial=0.01, max_interval=0.05)


@pytest.fixture
def flowdeck_client(flowdeck_mocks: MockProviders, request: pytest.FixtureRequest) -> Iterator[flowdeck.Client]:
    """A flowdeck client pointed at ``flowdeck_mocks``, polling fast (the mocks are local)."""
    from flowdeck.testing import replay_sleep

    with flowdeck_mocks.client(poll_policy=_polling(), sleep=replay_sleep(_cassette(request))) as client:
        yield client


@_async_fixture
async def flowdeck_async_client(
    flowdeck_mocks: MockProviders, request: pytest.FixtureRequest
) -> AsyncIterator[flowdeck.AsyncClient]:
    """An async flowdeck client pointed at ``flowdeck_mocks``, polling fast (needs an async test runner,
    such as pytest-asyncio or anyio's pytest plugin)."""
    from flowdeck.testing import replay_async_sleep

    sleep = replay_async_sleep(_cassette(request))
    async with flowdeck_mocks.async_client(poll_policy=_polling(), sleep=sleep) as client:
        yield client


@pytest.fixture
def vcr_config(flowdeck_mock_config: MockConfig) -> dict[str, Any]:
    """pytest-recording's configuration: flowdeck's credentials (and the mocks') filtered out of cassettes."""
    try:
        from flowdeck.testing import vcr_config as config
    except ModuleNotFoundError:  # no [testing] extra: pytest-recording's default
        return {}
    return config(flowdeck_mock_config)


@pytest.hookimpl(optionalhook=True)
def pytest_recording_configure(config: pytest.Config, vcr: Any) -> None:
    """pytest-recording's VCR defaults: the same filtering, whichever ``vcr_config`` fixture wins.

    Two plugins define ``vcr_config``, and pytest picks one by load order; a project's own fixture
    may leave the filters out. A key its ``vcr_config`` gives still overrides these.
    """
    try:
        from flowdeck.testing import vcr_config
    except ModuleNotFoundError:
        return
    for key, value in vcr_config().items():
        setattr(vcr, key, value)
