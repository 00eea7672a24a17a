"""Test doubles shared by the facade tests: a fake clock, credentials, base URLs."""

from __future__ import annotations

from typing import Any

import attrs
import flowdeck

ENV = {
    "DATABAR_API_KEY": "db-secret-key-0001",
    "STACKAI_API_KEY": "sa-secret-key-0002",
    "GUMLOOP_API_KEY": "gl-secret-key-0003",
    "GUMLOOP_USER_ID": "user-42",
    "SUPERAI_EMAIL": "bot@example.com",
    "SUPERAI_PASSWORD": "su-secret-pass-0004",
}
SECRETS = ["db-secret-key-0001", "sa-secret-key-0002", "gl-secret-key-0003", "su-secret-pass-0004"]
BASES = {
    "databar": "https://db.test",
    "stackai": "https://sa.test",
    "gumloop": "https://gl.test/api/v1",
    "superai": "https://su.test/api",
    "superai_auth": "https://auth.su.test",
}
FLOW_UUID = "11111111-2222-4333-8444-555555555555"
EXEC_UUID = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"


@attrs.define
class FakeClock:
    """Time that passes only when the code under test sleeps."""

    now: float = 1000.0
    sleeps: list[float] = attrs.field(factory=list)

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    async def asleep(self, seconds: float) -> None:
        self.sleep(seconds)


def client(clock: FakeClock, **options: Any) -> flowdeck.Client:
    options.setdefault("env", ENV)
    options.setdefault("base_urls", BASES)
    return flowdeck.Client(sleep=clock.sleep, clock=clock, **options)


def async_client(clock: FakeClock, **options: Any) -> flowdeck.AsyncClient:
    options.setdefault("env", ENV)
    options.setdefault("base_urls", BASES)
    return flowdeck.AsyncClient(sleep=clock.asleep, clock=clock, **options)
