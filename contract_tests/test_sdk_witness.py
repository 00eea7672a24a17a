"""The official SDKs as witnesses: ``databar`` 2.8.0 and ``gumloop`` 0.5.9, unmodified but for their base
URL, driven against ``flowdeck.testing``'s mocks on 127.0.0.1.

They are independent, executable accounts of what the real APIs send and expect. Each test drives an
SDK call in a subprocess running ``.venv-sdks``'s Python (``make sdks``; the gumloop SDK's jsonpath
dependency cannot live beside flowdeck's tools) and checks what the SDK returned or raised. Where
the SDK and another provider source disagree, the test names the conflict and pins down both sides:

- Databar waterfall ``enrichments``: the SDK leaves it out (default cascade), the published page calls
  it required. The spec follows the SDK (an overlay action marked as an assumption); so do the mock
  and the facade (``test_waterfall_default_cascade``).
- A status word neither documents: both SDKs keep polling (until their own timeout), flowdeck raises
  ``UnknownStatusError`` at once (``test_*_new_status_word_*``).
- Gumloop ``TERMINATING``: the SDK treats it as final; so does flowdeck (``CANCELLED``).

Pagination: none of the calls the mocks serve is paginated in either SDK (Databar's tasks, flows and
user; Gumloop's legacy flow client), so there is nothing to page through here.
"""

from __future__ import annotations

import json
import select
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import flowdeck
import httpx
import pytest
from flowdeck import Status
from flowdeck._providers.databar import STATUSES as DATABAR_STATUSES
from flowdeck._providers.gumloop import STATES as GUMLOOP_STATES
from flowdeck.testing import NEW_WORD, Faults, MockClock, MockConfig, MockProviders
from flowdeck.testing._databar import DEFAULT_CASCADE
from flowdeck.testing._databar import STATUS_KINDS as DATABAR_KINDS
from flowdeck.testing._gumloop import STATE_KINDS as GUMLOOP_KINDS

ROOT = Path(__file__).resolve().parents[1]
SDK_PYTHON = ROOT / ".venv-sdks" / "bin" / "python"
DRIVER = Path(__file__).with_name("sdk_driver.py")
ANSWER_TIMEOUT = 60.0
FAST = flowdeck.PollPolicy(initial=0.02, max_interval=0.05)  # the facade polls as briskly as the SDKs here

pytestmark = pytest.mark.contract


class Driver:
    """The SDK driver subprocess: one command in, one answer out."""

    def __init__(self) -> None:
        if not SDK_PYTHON.exists():
            pytest.fail("the official SDKs are not installed: run `make sdks` (make test does)")
        self.proc = subprocess.Popen(  # noqa: S603
            [str(SDK_PYTHON), str(DRIVER)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, cwd=ROOT,
        )  # fmt: skip

    def call(self, sdk: str, config: dict[str, Any], method: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        command = {"sdk": sdk, "config": config, "method": method, "args": list(args), "kwargs": kwargs}
        self.proc.stdin.write(json.dumps(command) + "\n")
        self.proc.stdin.flush()
        ready, _, _ = select.select([self.proc.stdout], [], [], ANSWER_TIMEOUT)
        line = self.proc.stdout.readline() if ready else ""
        if not line:
            self.close()
            assert self.proc.stderr is not None
            pytest.fail(f"the SDK driver gave no answer to {method}: {self.proc.stderr.read()[-2000:]}")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def close(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()


@pytest.fixture(scope="module")
def driver() -> Iterator[Driver]:
    d = Driver()
    try:
        yield d
    finally:
        d.close()


WITNESS_CONFIG = MockConfig(
    run_seconds=(0.05, 0.15),
    databar_flows={"strict-flow": {"domain": True, "country": False}},
    gumloop_accounts={"other-gumloop-key": "other-user"},
)


@pytest.fixture(scope="module")
def mocks() -> Iterator[MockProviders]:
    """Mocks on the real clock: runs take 50-150 ms, so the SDKs really poll."""
    with MockProviders(WITNESS_CONFIG) as served:
        yield served


def databar(mocks: MockProviders, **overrides: Any) -> dict[str, Any]:
    return {"base_url": mocks.urls["databar"] + "/v1", "api_key": mocks.config.databar_key, **overrides}


def gumloop(mocks: MockProviders, **overrides: Any) -> dict[str, Any]:
    c = mocks.config
    return {"base_url": mocks.urls["gumloop"], "api_key": c.gumloop_key, "user_id": c.gumloop_user, **overrides}


def raised(answer: dict[str, Any], name: str, status: int | None = None) -> dict[str, Any]:
    """The SDK error in ``answer``, checked to be (a subclass of) ``name`` with HTTP ``status``."""
    assert "error" in answer, f"expected {name}, the SDK returned {answer}"
    error: dict[str, Any] = answer["error"]
    assert name in error["mro"], error
    if status is not None:
        assert error["status_code"] == status, error
    return error


# --- Databar ------------------------------------------------------------------------------------------


def test_databar_run_flow_sync(driver: Driver, mocks: MockProviders) -> None:
    """Databar's run_flow_sync starts, polls and returns the data; run_flow and get_task agree."""
    answer = driver.call("databar", databar(mocks), "run_flow_sync", "enrich-company", {"domain": "stripe.com"})
    assert answer["ok"]["inputs"] == {"domain": "stripe.com"}
    task = driver.call("databar", databar(mocks), "run_flow", "enrich-company", {"domain": "x.com"})["ok"]
    assert task["status"] == "processing"
    polled = driver.call("databar", databar(mocks), "get_task", task["task_id"])["ok"]
    assert polled["task_id"] == polled["request_id"] == task["task_id"]  # the SDK's TaskResponse validates it


def test_waterfall_default_cascade(driver: Driver, mocks: MockProviders) -> None:
    """Conflict between sources: the published page requires `enrichments`, the SDK omits it; we follow the SDK."""
    params = {"first_name": "Jane", "company": "stripe.com"}
    data = driver.call("databar", databar(mocks), "run_waterfall_sync", "email_getter", params)["ok"]
    assert data["inputs"] == {"params": params, "enrichments": list(DEFAULT_CASCADE)}
    chosen = driver.call("databar", databar(mocks), "run_waterfall_sync", "email_getter", params, [966])["ok"]
    assert chosen["inputs"]["enrichments"] == [966]
    with mocks.client(poll_policy=FAST) as client:  # the facade omits it too, and the mock runs the same cascade
        run = client.wait(client.databar.run_waterfall("email_getter", params), timeout=10)
    assert run.status is Status.SUCCEEDED and run.outputs["inputs"]["enrichments"] == list(DEFAULT_CASCADE)


def test_databar_enrichment(driver: Driver, mocks: MockProviders) -> None:
    """The SDK's run_enrichment_sync (with and without pages) and databar:enrichment/<id> both run on the mock."""
    params = {"email": "alice@example.com"}
    data = driver.call("databar", databar(mocks), "run_enrichment_sync", 123, params)["ok"]
    assert data["workflow"] == "enrichment/123" and data["inputs"] == params
    paged = driver.call("databar", databar(mocks), "run_enrichment_sync", 123, params, 3)["ok"]
    assert paged["inputs"] == params
    with mocks.client(poll_policy=FAST) as client:
        run = client.run("databar:enrichment/123", params, timeout=10)
    assert run.status is Status.SUCCEEDED and run.outputs["workflow"] == data["workflow"]
    assert run.outputs["inputs"] == data["inputs"]


@pytest.mark.parametrize("word", [*DATABAR_KINDS, NEW_WORD])
def test_databar_status_words_agree(driver: Driver, mocks: MockProviders, word: str) -> None:
    """The SDK's poller and the facade's status table agree on every documented word."""
    flow = f"witness-status-{word}"
    answer = driver.call("databar", databar(mocks, max_polls=40), "run_flow_sync", flow, {"domain": "a.com"})
    with mocks.client(poll_policy=FAST) as client:
        try:
            facade: Status | str = client.run(f"databar:flow/{flow}", {"domain": "a.com"}, timeout=10,
                                              raise_on_failure=False).status  # fmt: skip
        except flowdeck.UnknownStatusError as exc:
            facade = f"UnknownStatusError({exc.status})"
    sdk_view = {
        Status.SUCCEEDED: "ok", Status.FAILED: "DatabarTaskFailedError", Status.CANCELLED: "DatabarTaskCancelledError",
        Status.EXPIRED: "DatabarGoneError",
    }  # fmt: skip
    if word == NEW_WORD:
        # Conflict: the SDK keeps polling a word it does not know (until its attempts run out); flowdeck
        # stops at once with a typed error carrying the word.
        raised(answer, "DatabarTimeoutError")
        assert facade == f"UnknownStatusError({NEW_WORD})"
    elif DATABAR_STATUSES[word] in (Status.PENDING, Status.RUNNING):
        assert "ok" in answer and facade is Status.SUCCEEDED  # both poll through it to the end
    else:
        expected = sdk_view[DATABAR_STATUSES[word]]
        assert ("ok" in answer) if expected == "ok" else raised(answer, expected)
        assert facade is DATABAR_STATUSES[word]


def test_databar_sdk_errors(driver: Driver, mocks: MockProviders) -> None:
    """Each Databar error reaches the SDK as its typed exception with its status."""
    auth = raised(driver.call("databar", databar(mocks, api_key="wrong"), "get_user"), "DatabarAuthError", 403)
    assert auth["response_body"] == {"detail": "Forbidden"}
    raised(driver.call("databar", databar(mocks), "run_flow", "missing-flow", {}), "DatabarNotFoundError", 404)
    raised(driver.call("databar", databar(mocks), "get_flow", "missing-flow"), "DatabarNotFoundError", 404)
    raised(driver.call("databar", databar(mocks), "get_task", "no-such-task"), "DatabarNotFoundError", 404)
    raised(driver.call("databar", databar(mocks), "cancel_task", "no-such-task"), "DatabarNotFoundError", 404)
    schema = raised(driver.call("databar", databar(mocks), "run_flow", "f", {"n": 1}), "DatabarValidationError", 422)
    assert schema["errors"][0]["loc"] == ["body", "inputs"]
    missing = driver.call("databar", databar(mocks), "run_flow", "strict-flow", {"country": "FR"})
    rule = raised(missing, "DatabarValidationError", 400)
    assert rule["errors"] == ["domain"] and "domain" in rule["message"]
    failed = raised(driver.call("databar", databar(mocks), "run_flow_sync", "a-fail", {}), "DatabarTaskFailedError")
    assert failed["task_id"] and failed["message"] == "enrichment provider returned no result"
    raised(driver.call("databar", databar(mocks), "run_flow_sync", "a-cancel", {}), "DatabarTaskCancelledError")
    done = driver.call("databar", databar(mocks), "run_flow", "f", {"domain": "a"})["ok"]["task_id"]
    driver.call("databar", databar(mocks), "poll_task", done)
    raised(driver.call("databar", databar(mocks), "cancel_task", done), "DatabarConflictError", 409)


def test_databar_shapes_fit_sdk(driver: Driver, mocks: MockProviders) -> None:
    """The mock's flow and account answers satisfy the Databar SDK's models."""
    flow = driver.call("databar", databar(mocks), "get_flow", "strict-flow")["ok"]
    assert {(i["id"], i["required"]) for i in flow["inputs"]} == {("domain", True), ("country", False)}
    user = driver.call("databar", databar(mocks), "get_user")["ok"]
    assert isinstance(user["balance"], float) and user["email"]


def test_databar_credits_and_expiry(driver: Driver) -> None:
    """Databar credits run out and tasks expire as the SDK expects."""
    clock = MockClock(frozen_at=1_800_000_000.0)
    with MockProviders(MockConfig(databar_credits=2), clock) as mocks:
        config = databar(mocks)
        first = driver.call("databar", config, "run_flow", "f", {"domain": "a"})["ok"]["task_id"]
        driver.call("databar", config, "run_flow", "f", {"domain": "b"})
        assert driver.call("databar", config, "get_user")["ok"]["balance"] == 0.0
        credits = raised(driver.call("databar", config, "run_flow", "f", {"domain": "c"}),
                         "DatabarInsufficientCreditsError", 406)  # fmt: skip
        assert "credits" in credits["message"]
        assert driver.call("databar", config, "get_task", first)["ok"]["credits_spent"] == 1
        clock.advance(25 * 3600)  # kept 24 hours: then the poll says `gone`...
        raised(driver.call("databar", config, "poll_task", first), "DatabarGoneError")
        clock.advance(24 * 3600)  # ...and later answers HTTP 410
        raised(driver.call("databar", config, "get_task", first), "DatabarGoneError", 410)


# --- Gumloop ------------------------------------------------------------------------------------------


def test_gumloop_run_flow(driver: Driver, mocks: MockProviders) -> None:
    """Gumloop's run_flow starts, polls and returns the outputs, in a project too."""
    outputs = driver.call("gumloop", gumloop(mocks), "run_flow", "weekly-digest", {"topic": "pricing"},
                          poll_interval=0.02, timeout=10)["ok"]  # fmt: skip
    assert outputs == {"summary": "summary of ['topic']", "count": "1"}
    in_project = gumloop(mocks, project_id="mock-project")  # start and poll scoped to a project too
    assert driver.call("gumloop", in_project, "run_flow", "weekly", {}, poll_interval=0.02, timeout=10)["ok"]


@pytest.mark.parametrize("word", [*GUMLOOP_KINDS, NEW_WORD])
def test_gumloop_states_agree(driver: Driver, mocks: MockProviders, word: str) -> None:
    """Every Gumloop state means to the SDK what it means to flowdeck."""
    flow = f"witness-status-{word}"
    answer = driver.call("gumloop", gumloop(mocks), "run_flow", flow, {"a": "b"}, poll_interval=0.02, timeout=1)
    with mocks.client(poll_policy=FAST) as client:
        try:
            facade: Status | str = client.run(f"gumloop:{flow}", {"a": "b"}, timeout=10, raise_on_failure=False).status
        except flowdeck.UnknownStatusError as exc:
            facade = f"UnknownStatusError({exc.status})"
    if word == NEW_WORD:
        raised(answer, "TimeoutError")  # conflict: the SDK polls on; flowdeck stops with a typed error
        assert facade == f"UnknownStatusError({NEW_WORD})"
    elif GUMLOOP_STATES[word] in (Status.PENDING, Status.RUNNING, Status.SUCCEEDED):
        assert "ok" in answer and facade is Status.SUCCEEDED
    else:
        error = raised(answer, "RuntimeError")
        assert ("failed" if GUMLOOP_STATES[word] is Status.FAILED else "terminated") in error["message"]
        assert facade is GUMLOOP_STATES[word]


def _started_by(mocks: MockProviders, key: str, user: str) -> str:
    url = mocks.urls["gumloop"] + "/start_pipeline"
    body = {"user_id": user, "saved_item_id": "private-flow", "secret": "x"}
    response = httpx.post(url, json=body, headers={"Authorization": f"Bearer {key}"})
    response.raise_for_status()
    run_id: str = response.json()["run_id"]
    return run_id


def test_gumloop_error_shape(driver: Driver, mocks: MockProviders) -> None:
    """Gumloop errors come in the shape Gumloop's own error parser reads."""

    def status_error(answer: dict[str, Any], status: int) -> dict[str, Any]:
        error = raised(answer, "HTTPStatusError", status)
        # Gumloop's own error parser (gumloop.errors.to_api_error) reads our body: not its bare fallback.
        assert error["sdk_error"]["message"] != f"Gumloop API returned HTTP {status}", error
        assert set(json.loads(error["response_body"])) == {"error"}
        return error

    def run(config: dict[str, Any], flow: str) -> dict[str, Any]:
        return driver.call("gumloop", config, "run_flow", flow, {}, poll_interval=0.02, timeout=5)

    unknown = status_error(run(gumloop(mocks), "missing-flow"), 400)  # the page documents no 404
    assert "missing-flow" in unknown["sdk_error"]["message"]
    status_error(run(gumloop(mocks, api_key="wrong"), "f"), 401)
    status_error(run(gumloop(mocks, user_id="someone-else"), "f"), 403)
    status_error(run(gumloop(mocks, project_id="not-my-project"), "f"), 403)
    status_error(driver.call("gumloop", gumloop(mocks), "get_run_status", "no-such-run"), 404)
    # One user never reads another's run: the other user's key gets 404 for it, its owner gets it.
    theirs = _started_by(mocks, "other-gumloop-key", "other-user")
    status_error(driver.call("gumloop", gumloop(mocks), "get_run_status", theirs), 404)
    other = gumloop(mocks, api_key="other-gumloop-key", user_id="other-user")
    assert driver.call("gumloop", other, "get_run_status", theirs)["ok"]["user_id"] == "other-user"


def test_gumloop_fault_shape(driver: Driver) -> None:
    """Injected faults answer in Gumloop's error shape."""
    with MockProviders(MockConfig(faults=Faults(rate=1.0, kinds=("500",)))) as mocks:
        answer = driver.call("gumloop", gumloop(mocks), "get_run_status", "r")
    error = raised(answer, "HTTPStatusError", 500)
    assert json.loads(error["response_body"]) == {"error": "injected 500"}
    assert error["sdk_error"]["message"] == "Gumloop API returned HTTP 500: injected 500"


def test_driver_in_sdk_venv() -> None:
    """The SDK driver runs in the SDK venv, not beside flowdeck."""
    # The reason for the separate venv: gumloop's jsonpath-python would shadow python-jsonpath here.
    probe = "import importlib.util as u; print(u.find_spec('flowdeck') is None, u.find_spec('gumloop') is not None)"
    done = subprocess.run([str(SDK_PYTHON), "-c", probe], capture_output=True, text=True, check=True)  # noqa: S603
    assert done.stdout.split() == ["True", "True"]
    assert sys.executable != str(SDK_PYTHON)
