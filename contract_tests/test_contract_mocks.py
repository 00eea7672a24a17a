"""The mocks honour the contract: schemathesis drives every operation of every normalized spec."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from contract_tests._spec import PROVIDERS, examples, schema

pytestmark = pytest.mark.contract

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
FUZZ = settings(
    max_examples=examples(30), derandomize=True, deadline=None, database=None,
    suppress_health_check=list(HealthCheck),
)  # fmt: skip
STATEFUL = settings(
    max_examples=examples(8), stateful_step_count=4, derandomize=True, deadline=None, database=None,
    suppress_health_check=list(HealthCheck),
)  # fmt: skip


def auth_headers(provider: str, mocks: Any) -> dict[str, str]:
    c = mocks.config
    return {
        "databar": {"x-apikey": c.databar_key},
        "stackai": {"Authorization": f"Bearer {c.stackai_key}"},
        "gumloop": {"Authorization": f"Bearer {c.gumloop_key}", "x-auth-key": c.gumloop_user},
        "superai": {"Authorization": f"Bearer {c.superai_token}"},
    }[provider]


TARGETS: dict[str, dict[str, Any]] = {}


@pytest.fixture(scope="module", autouse=True)
def _point_schemas_at_mocks(served_mocks: Any) -> None:
    # Parametrized tests snapshot the schema's config at import time, before the mocks have ports;
    # each call is therefore given its base URL and headers explicitly.
    for provider in PROVIDERS:
        target = {"base_url": served_mocks.urls[provider], "headers": auth_headers(provider, served_mocks)}
        TARGETS[provider] = target
        schema(provider).config.update(**target)


@pytest.fixture(scope="module", autouse=True)
def _one_session() -> Iterator[None]:
    # schemathesis would open a requests session per call and leave its sockets to the garbage
    # collector (a ResourceWarning in whichever test runs next); one session, closed here.
    with requests.Session() as session:
        SESSION.append(session)
        yield
        SESSION.clear()


SESSION: list[requests.Session] = []


def call_and_validate(provider: str, case: Any) -> None:
    case.call_and_validate(checks=CHECKS, session=SESSION[0], **TARGETS[provider])


@schema("databar").parametrize()
@FUZZ
def test_databar_mock_conforms(case: Any) -> None:
    """The Databar mock answers every operation as its spec says."""
    call_and_validate("databar", case)


@schema("stackai").parametrize()
@FUZZ
def test_stackai_mock_conforms(case: Any) -> None:
    """The StackAI mock answers every operation as its spec says."""
    call_and_validate("stackai", case)


@schema("gumloop").parametrize()
@FUZZ
def test_gumloop_mock_conforms(case: Any) -> None:
    """The Gumloop mock answers every operation as its spec says."""
    call_and_validate("gumloop", case)


@schema("superai").parametrize()
@FUZZ
def test_superai_mock_conforms(case: Any) -> None:
    """The SuperAI mock answers every operation as its spec says."""
    call_and_validate("superai", case)


def _state_machine(provider: str) -> Any:
    class Workflow(schema(provider).as_state_machine()):  # type: ignore[misc]
        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {**TARGETS[provider], "session": SESSION[0]}

        def validate_response(self, response: Any, case: Any, additional_checks: Any = (), **kwargs: Any) -> None:
            case.validate_response(response, checks=CHECKS)

    return Workflow


@pytest.mark.parametrize("provider", ["databar", "gumloop", "superai"])
def test_stateful_links_conform(provider: str) -> None:
    """start -> poll (-> cancel / re-execute) sequences, following the links our overlays add."""
    _state_machine(provider).run(settings=STATEFUL)


def test_every_operation_covered() -> None:
    """schemathesis finds every operation of every spec, each with an operationId."""
    for provider in PROVIDERS:
        ops = [r.ok() for r in schema(provider).get_all_operations()]
        assert ops and all(op.definition.raw.get("operationId") for op in ops), provider
