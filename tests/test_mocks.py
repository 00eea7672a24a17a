"""The mock providers behave as the providers document, and the conventions table tells the truth.

Every row of :func:`flowdeck.testing.conventions` (the testing kit page's table) is run here: each status word
through the facade, each error trigger against the mock. Coverage is checked both ways: every status
word an adapter maps and every error status a normalized spec documents has a row.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import flowdeck
import httpx
import pytest
import yaml
from flowdeck import Status
from flowdeck.testing import (
    NEW_WORD,
    SUPERAI_SCRIPTED_FLOWS,
    Faults,
    MockClock,
    MockConfig,
    MockProviders,
    conventions,
    conventions_markdown,
)
from flowdeck.testing._conventions import _adapter_statuses

from tests._cli import (
    reap_spawned,  # noqa: F401 - an autouse fixture: no spawned process outlives its test
)

ROOT = Path(__file__).resolve().parents[1]
FLOW = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
NEW_WORD_FLOW = "00000000-0000-4000-8000-00000000beef"
FAST = flowdeck.PollPolicy(initial=0.01, max_interval=0.01)


@pytest.fixture
def slow_mocks() -> Iterator[tuple[MockProviders, MockClock]]:
    """Mocks on a frozen clock whose runs take 10 s of it: a test sees each phase."""
    clock = MockClock(frozen_at=1_800_000_000.0)
    with MockProviders(MockConfig(run_seconds=(10.0, 10.0)), clock) as mocks:
        yield mocks, clock


# --- Gumloop: inputs, unknown flows, scoping ------------------------------------------------------------


def _gumloop(mocks: MockProviders, path: str, *, key: str | None = None, **kwargs: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key or mocks.config.gumloop_key}"}
    method = "GET" if path == "get_pl_run" else "POST"
    return httpx.request(method, f"{mocks.urls['gumloop']}/{path}", headers=headers, **kwargs)


def test_gumloop_top_level_inputs(served_mocks: MockProviders) -> None:
    """Gumloop's extra top-level keys are pipeline inputs, beside pipeline_inputs."""
    user = served_mocks.config.gumloop_user
    body = {"user_id": user, "saved_item_id": "digest", "topic": "pricing", "recipient": "a@b.c",
            "pipeline_inputs": [{"input_name": "tone", "value": "dry"}]}  # fmt: skip
    run_id = _gumloop(served_mocks, "start_pipeline", json=body).json()["run_id"]
    assert served_mocks.states["gumloop"].runs[run_id].inputs == {
        "topic": "pricing",
        "recipient": "a@b.c",
        "tone": "dry",
    }
    done = _gumloop(served_mocks, "get_pl_run", params={"run_id": run_id, "user_id": user}).json()
    assert done["outputs"]["summary"] == "summary of ['recipient', 'tone', 'topic']"
    reserved = {**body, "pipeline_inputs": [{"input_name": "api_key", "value": "x"}]}
    conflicting = {**body, "pipeline_inputs": [{"input_name": "topic", "value": "other"}]}
    for bad in (reserved, conflicting):
        answer = _gumloop(served_mocks, "start_pipeline", json=bad)
        assert answer.status_code == 400 and set(answer.json()) == {"error"}


def test_gumloop_unknown_flow_400(served_mocks: MockProviders) -> None:
    """An unknown Gumloop saved flow is the documented 400, and no run starts."""
    before = served_mocks.states["gumloop"].start_count
    with served_mocks.client(max_retries=0) as client, pytest.raises(flowdeck.BadRequestError, match="missing-x"):
        client.start("gumloop:missing-x", {})
    assert served_mocks.states["gumloop"].start_count == before


def test_gumloop_runs_scoped() -> None:
    """Gumloop's get_pl_run shows a user only their own runs and shared projects'."""
    config = MockConfig(gumloop_accounts={"key-b": "user-b"}, gumloop_projects={"shared": ("mock-user", "user-b")})
    with MockProviders(config) as mocks:
        mine = {"user_id": "mock-user", "saved_item_id": "f"}
        private = _gumloop(mocks, "start_pipeline", json=mine).json()["run_id"]
        shared = _gumloop(mocks, "start_pipeline", json={**mine, "project_id": "shared"}).json()["run_id"]

        def get(run_id: str, key: str = "key-b", **scope: str) -> httpx.Response:
            return _gumloop(mocks, "get_pl_run", key=key, params={"run_id": run_id, **scope})

        assert get(private, user_id="user-b").status_code == 404  # user b cannot read user a's run
        assert get(private, user_id="mock-user").status_code == 403  # nor pretend to be user a
        assert get(private, project_id="shared").status_code == 404  # a's private run is not the project's
        assert get(shared, project_id="shared").status_code == 200  # but a run in a shared project is
        assert get(private, key=mocks.config.gumloop_key, user_id="mock-user").status_code == 200
        assert get(private).status_code == 400  # neither user_id nor project_id
        kill = _gumloop(mocks, "kill_pipeline", key="key-b", json={"run_id": private, "user_id": "user-b"})
        assert kill.status_code == 404 and mocks.states["gumloop"].runs[private].cancelled_at is None


# --- each mock answers in its own provider's error shape -------------------------------------------------

ERROR_SHAPES: dict[str, Callable[[Any], bool]] = {
    "databar": lambda b: set(b) == {"detail"} and isinstance(b["detail"], str),
    "gumloop": lambda b: set(b) == {"error"} and isinstance(b["error"], str),
    "stackai": lambda b: set(b) == {"detail"} and isinstance(b["detail"], str),
    "superai": lambda b: set(b) == {"error", "request_id"} and isinstance(b["error"]["message"], str),
}


@pytest.mark.parametrize("provider", list(ERROR_SHAPES))
def test_error_shapes(provider: str) -> None:
    """Each mock answers errors, injected ones too, in its provider's shape."""
    with MockProviders() as mocks:
        unknown_path = httpx.get(mocks.urls[provider] + "/no/such/path")
        mocks.config.faults = Faults(rate=1.0, kinds=("503",))
        injected = httpx.get(mocks.urls[provider] + "/no/such/path")
    assert unknown_path.status_code == 404 and ERROR_SHAPES[provider](unknown_path.json()), unknown_path.text
    assert injected.status_code == 503 and ERROR_SHAPES[provider](injected.json()), injected.text


def test_auth_failure_status(served_mocks: MockProviders) -> None:
    """An auth failure answers the status each provider sends."""
    urls = served_mocks.urls
    assert httpx.get(urls["databar"] + "/v1/user/me").status_code == 403  # Databar's docs: 403 for a bad key
    assert httpx.post(urls["gumloop"] + "/start_pipeline", json={}).status_code == 401
    assert httpx.post(urls["stackai"] + "/inference/v0/run/o/f", json={}).status_code == 401
    assert httpx.get(urls["superai"] + f"/flow-executions/{FLOW}").status_code == 401


# --- Databar: flows, account, credits, default cascade ---------------------------------------------------


def test_databar_credits() -> None:
    """Databar's balance falls as runs spend credits, then starts answer 406."""
    clock = MockClock(frozen_at=1_800_000_000.0)
    config = MockConfig(run_seconds=(5.0, 5.0), databar_credits=3)
    with MockProviders(config, clock) as mocks, mocks.client(max_retries=0) as client:
        adapter = client.adapter("databar")

        def balance() -> float:
            return float(client.drive(adapter.get_user())["balance"])  # type: ignore[attr-defined]

        assert balance() == 3
        kept = client.start("databar:flow/a", {"domain": "a"})
        failing = client.start("databar:flow/fail", {"domain": "b"})
        cancelled = client.start("databar:flow/c", {"domain": "c"})
        assert balance() == 0  # each running task holds its credit
        with pytest.raises(flowdeck.InsufficientCreditsError):
            client.start("databar:flow/d", {"domain": "d"})
        client.cancel(cancelled)
        assert balance() == 1  # a cancel refunds
        clock.advance(6)
        assert balance() == 2  # the failed run gave its credit back; the completed one kept it
        assert client.refresh(kept).raw["credits_spent"] == 1 and client.refresh(failing).raw["credits_spent"] == 0


def test_databar_required_inputs() -> None:
    """Databar's get_flow declares its inputs, and a start without a required one fails."""
    with MockProviders(MockConfig(databar_flows={"f1": {"domain": True}})) as mocks, mocks.client() as client:
        flow = client.drive(client.adapter("databar").get_flow("f1"))  # type: ignore[attr-defined]
        assert [(i["id"], i["required"]) for i in flow["inputs"]] == [("domain", True)]
        with pytest.raises(flowdeck.BadRequestError, match="domain") as caught:
            client.start("databar:flow/f1", {"other": "x"})
        assert caught.value.body == {"error": "INVALID_DATA", "detail": "Missing required inputs: domain",
                                     "fields": ["domain"]}  # fmt: skip
        with pytest.raises(flowdeck.NotFoundError):
            client.drive(client.adapter("databar").get_flow("missing-1"))  # type: ignore[attr-defined]


def test_waterfall_default_cascade(served_mocks: MockProviders) -> None:
    """A waterfall without enrichments runs the default cascade."""
    with served_mocks.client(poll_policy=FAST) as client:
        run = client.wait(client.databar.run_waterfall("email_getter", {"email": "a@b.c"}), timeout=10)
        chosen = client.run("databar:waterfall/email_getter", {"email": "a@b.c", "enrichments": [966]}, timeout=10)
    assert run.outputs["inputs"]["enrichments"] == [833, 966]
    assert chosen.outputs["inputs"]["enrichments"] == [966]
    empty = httpx.post(served_mocks.urls["databar"] + "/v1/waterfalls/w/run", json={"params": {}, "enrichments": []},
                       headers={"x-apikey": served_mocks.config.databar_key})  # fmt: skip
    assert empty.status_code == 422  # when sent, at least one id (the published minItems)


# --- a status word no provider documents: a typed error, never TypeError/KeyError ----------------------


@pytest.mark.parametrize(
    ("ref", "inputs"),
    [
        (f"databar:flow/x-status-{NEW_WORD}", {}),
        (f"databar:waterfall/x-status-{NEW_WORD}", {}),
        (f"gumloop:x-status-{NEW_WORD}", {}),
        # Its own flow: a listing of a flow with an unknown word in it is an error too (README lists FLOW).
        (f"superai:{NEW_WORD_FLOW}", {"mock_status": NEW_WORD}),
    ],
)
def test_new_status_word(served_mocks: MockProviders, ref: str, inputs: dict[str, str]) -> None:
    """A new status word raises UnknownStatusError with the raw body."""
    with served_mocks.client(poll_policy=FAST) as client, pytest.raises(flowdeck.UnknownStatusError) as caught:
        client.run(ref, inputs, timeout=10)
    assert caught.value.status == NEW_WORD
    assert isinstance(caught.value.body, bytes) and NEW_WORD.encode() in caught.value.body  # the raw response


def test_new_stackai_state(served_mocks: MockProviders) -> None:
    """A new StackAI state keeps the outputs and the provider's word."""
    with served_mocks.client() as client:
        run = client.run(f"stackai:o/x-status-{NEW_WORD}", {"in-0": "hi"})
    assert run.status is Status.SUCCEEDED and run.provider_status == NEW_WORD and run.outputs


def test_no_response_enums() -> None:
    """No response field of a normalized spec is closed by an enum, so new words reach the adapters."""
    # The generator's enums are closed (``literal_enums: true`` raises TypeError on an unknown value,
    # plain enums ValueError); openapi-python-client has no open enum. A response enum would turn a
    # provider's new status word into a ContractError from generated code instead of the adapter's
    # UnknownStatusError, so enums belong in requests only.
    found = []
    for spec_path in sorted((ROOT / "specs" / "normalized").glob("*.yaml")):
        spec = yaml.safe_load(spec_path.read_text())

        def walk(node: Any, where: str, seen: frozenset[str], path: Path = spec_path, doc: Any = spec) -> None:
            if isinstance(node, dict):
                if isinstance(ref := node.get("$ref"), str) and ref.startswith("#/") and ref not in seen:
                    target = doc
                    for part in ref[2:].split("/"):
                        target = target[part]
                    walk(target, f"{where} -> {ref}", seen | {ref})
                if "enum" in node:
                    found.append(f"{path.name}: {where}")
                for key, value in node.items():
                    walk(value, f"{where}/{key}", seen)
            elif isinstance(node, list):
                for i, value in enumerate(node):
                    walk(value, f"{where}/{i}", seen)

        for route, item in spec.get("paths", {}).items():
            for method, operation in item.items():
                for code, response in (operation.get("responses") or {}).items():
                    walk(response, f"{method.upper()} {route} {code}", frozenset())
    assert not found, found


# --- the conventions table: complete, true, and on the testing kit page ---------------------------------


def test_status_words_triggered() -> None:
    """Every status word an adapter maps has a mock trigger."""
    keys = {r.key for r in conventions()}
    for provider in ("databar", "gumloop", "stackai", "superai"):
        documented = set(_adapter_statuses(provider))
        if provider == "stackai":
            documented = {"COMPLETED"}  # FAILED/ERROR in its table are guesses: only COMPLETED is published
        missing = {w for w in documented if f"{provider} status {w}" not in keys}
        assert not missing, (provider, missing)
        assert f"{provider} status {NEW_WORD}" in keys


def test_error_statuses_triggered() -> None:
    """Every error status a spec documents has a mock trigger."""
    keys = {r.key for r in conventions()}
    for provider in ("databar", "gumloop", "stackai", "superai"):
        spec = yaml.safe_load((ROOT / "specs" / "normalized" / f"{provider}.yaml").read_text())
        codes = {int(code) for item in spec["paths"].values() for op in item.values()
                 for code in op.get("responses", {}) if int(code) >= 400}  # fmt: skip
        missing = {c for c in codes if f"{provider} HTTP {c}" not in keys and c < 500}
        assert not missing, (provider, missing)


def _status_of(client: flowdeck.Client, run: flowdeck.Run) -> str:
    try:
        return client.refresh(run).status.name
    except flowdeck.UnknownStatusError:
        return "UnknownStatusError"


def test_status_rows_hold(slow_mocks: tuple[MockProviders, MockClock], served_mocks: MockProviders) -> None:
    """Every status row's trigger produces its word and the facade status it claims."""
    mocks, clock = slow_mocks
    with ExitStack() as stack:
        client = stack.enter_context(mocks.client(max_retries=0))
        sync_client = stack.enter_context(served_mocks.client(max_retries=0))
        checked = 0
        for row in conventions():
            if " status " not in row.key:
                continue
            provider, word = row.key.split(" status ")
            expected = re.findall(r"`(\w+)`", row.facade)[0]
            if provider == "stackai":
                run = sync_client.start(f"stackai:o/x-status-{word}", {"in-0": "a"})
                assert (run.provider_status, run.status.name) == (word, expected), row
                checked += 1
                continue
            if provider == "superai":
                flow = SUPERAI_SCRIPTED_FLOWS.get(word, NEW_WORD_FLOW)
                run = client.start(f"superai:{flow}", {} if word in SUPERAI_SCRIPTED_FLOWS else {"mock_status": word})
            else:
                run = client.start(row.trigger.split("`")[1], {})
            kind = _adapter_statuses(provider).get(word)
            in_progress = kind in (Status.PENDING, Status.RUNNING)
            if not in_progress:
                clock.advance(11)
            if provider == "superai" and word == "deleted":  # soft-deleted: GET is 404, listings show the word
                with pytest.raises(flowdeck.NotFoundError):
                    client.refresh(run)
                listed = next(r for r in client.superai.list_executions(flow) if r.id == run.id)
                assert (listed.provider_status, listed.status.name) == (word, expected), row
            else:
                assert _status_of(client, run) == expected, row
                if expected != "UnknownStatusError":
                    assert client.refresh(run).provider_status == word, row
            if in_progress:
                clock.advance(11)
                assert client.refresh(run).status is Status.SUCCEEDED, row
            checked += 1
    assert checked == sum(" status " in r.key for r in conventions())


def _error_triggers(mocks: MockProviders, clock: MockClock) -> dict[str, Callable[[], int]]:
    """For each error row, make the mock answer it; returns the HTTP status it answered."""
    c, u = mocks.config, mocks.urls
    db = {"x-apikey": c.databar_key}
    gl = {"Authorization": f"Bearer {c.gumloop_key}"}
    sa = {"Authorization": f"Bearer {c.superai_token}"}
    st = {"Authorization": f"Bearer {c.stackai_key}"}

    def databar_task(flow: str = "f") -> str:
        task_id: str = httpx.post(f"{u['databar']}/v1/flows/{flow}/run", json={"inputs": {}}, headers=db).json()[
            "task_id"
        ]
        return task_id

    def ended_task_cancel() -> int:
        task = databar_task()
        clock.advance(11)
        return httpx.post(f"{u['databar']}/v1/tasks/{task}/cancel", headers=db).status_code

    def expired_poll() -> int:
        task = databar_task()
        clock.advance(49 * 3600)
        return httpx.get(f"{u['databar']}/v1/tasks/{task}", headers=db).status_code

    def no_credits() -> int:
        c.databar_credits = 0
        try:
            return httpx.post(f"{u['databar']}/v1/flows/f/run", json={"inputs": {}}, headers=db).status_code
        finally:
            c.databar_credits = None

    def superai_409() -> int:
        body = {"flow_id": "00000000-0000-4000-8000-000000000409", "input": {}}
        execution = httpx.post(f"{u['superai']}/flow-executions", json=body, headers=sa).json()["id"]
        return httpx.post(f"{u['superai']}/flow-executions/{execution}/execute", headers=sa).status_code

    def post_gl(body: dict[str, Any], headers: dict[str, str] = gl) -> int:
        return httpx.post(f"{u['gumloop']}/start_pipeline", json=body, headers=headers).status_code

    def create(flow: str) -> int:
        return httpx.post(f"{u['superai']}/flow-executions", json={"flow_id": flow}, headers=sa).status_code

    return {
        "databar HTTP 400": lambda: httpx.post(f"{u['databar']}/v1/flows/strict/run", json={"inputs": {}},
                                               headers=db).status_code,
        "databar HTTP 403": lambda: httpx.get(f"{u['databar']}/v1/user/me", headers={"x-apikey": "no"}).status_code,
        "databar HTTP 404": lambda: httpx.get(f"{u['databar']}/v1/tasks/nope", headers=db).status_code,
        "databar HTTP 406": no_credits,
        "databar HTTP 409": ended_task_cancel,
        "databar HTTP 410": expired_poll,
        "databar HTTP 422": lambda: httpx.post(f"{u['databar']}/v1/flows/f/run", json={"inputs": {"n": 1}},
                                               headers=db).status_code,
        "gumloop HTTP 400": lambda: post_gl({"user_id": c.gumloop_user, "saved_item_id": "missing-1"}),
        "gumloop HTTP 401": lambda: post_gl({}, {"Authorization": "Bearer nope"}),
        "gumloop HTTP 403": lambda: post_gl({"user_id": "someone-else", "saved_item_id": "f"}),
        "gumloop HTTP 404": lambda: httpx.get(f"{u['gumloop']}/get_pl_run", headers=gl,
                                              params={"run_id": "nope", "user_id": c.gumloop_user}).status_code,
        "stackai HTTP 400": lambda: httpx.post(f"{u['stackai']}/inference/v0/run/o/f", json={"user_id": 1},
                                               headers=st).status_code,
        "stackai HTTP 403": lambda: httpx.post(f"{u['stackai']}/inference/v0/run/forbidden/f", json={},
                                               headers=st).status_code,
        "stackai HTTP 401": lambda: httpx.post(f"{u['stackai']}/inference/v0/run/o/f", json={}).status_code,
        "stackai HTTP 404": lambda: httpx.post(f"{u['stackai']}/inference/v0/run/o/missing", json={},
                                               headers=st).status_code,
        "stackai HTTP 422": lambda: httpx.post(f"{u['stackai']}/inference/v0/run/o/f", json=[1],
                                               headers=st).status_code,
        "superai HTTP 400": lambda: httpx.post(f"{u['superai']}/auth/v1/token", params={"grant_type": "password"},
                                               json={"email": "x", "password": "y"},
                                               headers={"apikey": "mock-anon-key"}).status_code,
        "superai HTTP 401": lambda: httpx.get(f"{u['superai']}/flow-executions/{FLOW}",
                                              headers={"Authorization": "Bearer expired"}).status_code,
        "superai HTTP 403": lambda: create("00000000-0000-4000-8000-000000000403"),
        "superai HTTP 404": lambda: create("00000000-0000-4000-8000-000000000404"),
        "superai HTTP 409": superai_409,
        "superai HTTP 422": lambda: httpx.get(f"{u['superai']}/flow-executions/not-a-uuid", headers=sa).status_code,
    }  # fmt: skip


def test_error_rows_hold() -> None:
    """Every error row of the conventions is produced by its trigger."""
    clock = MockClock(frozen_at=1_800_000_000.0)
    with MockProviders(
        MockConfig(run_seconds=(10.0, 10.0), databar_flows={"strict": {"domain": True}}), clock
    ) as mocks:
        triggers = _error_triggers(mocks, clock)
        rows = [r for r in conventions() if " HTTP " in r.key]
        for row in rows:
            code = int(row.key.rsplit(" ", 1)[1])
            if code in (429, 500):  # fault injection, the same for every provider
                mocks.config.faults = Faults(rate=1.0, kinds=(str(code),))
                try:
                    assert httpx.get(mocks.urls[row.provider] + "/x").status_code == code, row
                finally:
                    mocks.config.faults = Faults()
                continue
            assert triggers[row.key]() == code, row
    assert {r.key for r in rows if not r.key.endswith(("429", "500"))} == set(triggers)


def test_stackai_failed_run_row(served_mocks: MockProviders) -> None:
    """StackAI's error-set row produces the facade status it claims."""
    row = next(r for r in conventions() if r.key == "stackai error set")
    with served_mocks.client() as client:
        run = client.start("stackai:o/fail-1", {"in-0": "a"})
    assert run.status.name == re.findall(r"`(\w+)`", row.facade)[0] and run.error


def test_docs_table_generated() -> None:
    """The testing page's mock table is the generated one."""
    page = (ROOT / "docs" / "testing.md").read_text()
    block = re.search(r"<!-- mock-conventions:start -->\n(.*?)\n<!-- mock-conventions:end -->", page, re.S)
    assert block, "docs/testing.md lost its mock-conventions block"
    assert block.group(1) == conventions_markdown(), (
        "docs/testing.md's mock table is stale; replace the block with the output of "
        "`python -c 'from flowdeck.testing import conventions_markdown; print(conventions_markdown())'`"
    )


def test_conventions_plain_data() -> None:
    """The conventions are plain, unique, serializable rows."""
    rows = conventions()
    assert all(r.provider and r.documented and r.trigger and r.facade for r in rows)
    assert len({r.key for r in rows}) == len(rows)
    assert json.dumps([r.key for r in rows])  # serializable, e.g. for `flowdeck mock --help`


# --- the kit's own inputs: refused where they are given, as `flowdeck mock` refuses them -------------------


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Faults(rate=2.0), "Faults: rate=2.0 is not between 0 and 1"),
        (lambda: Faults(rate=-1), "Faults: rate=-1 is not between 0 and 1"),
        (lambda: Faults(latency=-0.5), "Faults: latency=-0.5 must be 0 or more seconds"),
        (lambda: Faults(latency=0.02, jitter=0.03), "Faults: jitter=0.03 is more than latency=0.02"),
        (lambda: Faults(retry_after=-1), "Faults: retry_after=-1 must be 0 or more seconds"),
        (lambda: MockConfig(failure_rate=3), "MockConfig: failure_rate=3 is not between 0 and 1"),
        (lambda: MockConfig(start_quota=0), "MockConfig: start_quota=0 must be more than 0 starts per second"),
        (lambda: MockConfig(databar_credits=-5), "MockConfig: databar_credits=-5 must be 0 or more credits"),
        (lambda: MockConfig(databar_flows={"gumloop:x": {}}), "MockConfig: databar_flows={'gumloop:x': {}} names"),
        (lambda: MockConfig(databar_credits=float("nan")), "MockConfig: databar_credits=nan must be 0 or more"),
        (lambda: MockConfig(run_seconds=(2.0, 1.0)), "MockConfig: run_seconds=(2.0, 1.0) has its shortest above"),
    ],
)
def test_bad_knobs(make: Callable[[], object], message: str) -> None:
    """A bad mock setting is a ValueError naming the field and value."""
    with pytest.raises(ValueError, match="^" + re.escape(message)):
        make()


def test_unknown_fault_kind() -> None:
    """An unknown fault kind is refused with the valid kinds; setting is checked too."""
    with pytest.raises(ValueError) as caught:
        Faults(kinds=("429", "drop-before"))  # a typo must not fall into another kind's branch
    assert str(caught.value).startswith("Faults: kinds=('429', 'drop-before') has unknown kind 'drop-before'")
    assert "drop_before" in str(caught.value) and "truncated" in str(caught.value)
    with pytest.raises(ValueError, match="is a string, not a tuple of kinds"):
        Faults(kinds="429")  # type: ignore[arg-type]
    faults = Faults()
    with pytest.raises(ValueError, match="rate=5"):
        faults.rate = 5  # a test tuning a served mock's faults is checked too
    assert faults.rate == 0.0


def test_cli_and_api_one_check() -> None:
    """`flowdeck mock --fail-rate` and `MockConfig(failure_rate=...)` refuse the same values, same words."""
    from flowdeck.testing._command import build_parser

    with pytest.raises(SystemExit):
        build_parser().parse_args(["--fail-rate", "nan"])
    with pytest.raises(ValueError, match="failure_rate=nan is not between 0 and 1"):
        MockConfig(failure_rate=float("nan"))


# --- MockProviders off the happy path: one clear error, nothing on stderr ------------------------------------


def test_env_before_serving() -> None:
    """Mock env or client before serving says how to serve."""
    mocks = MockProviders()
    with pytest.raises(
        RuntimeError, match=re.escape("not serving: use `with MockProviders() as mocks:` or call serve()")
    ):
        mocks.env  # noqa: B018 - the property is what a user reaches for
    with pytest.raises(RuntimeError, match="not serving"):
        mocks.client()


def test_busy_port(capfd: pytest.CaptureFixture[str]) -> None:
    """A busy port is an error naming the port and provider, printing nothing."""
    import gc
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        mocks = MockProviders(ports={"databar": port})
        with pytest.raises(RuntimeError) as caught:
            mocks.serve()
        gc.collect()  # an unretrieved task's exception is printed when the task is collected
    assert capfd.readouterr() == ("", "")
    assert str(caught.value) == f"port {port} (for databar) is not free (Address already in use)"
    from flowdeck.testing import PortInUse

    assert isinstance(caught.value, PortInUse)  # a RuntimeError a caller can single out, by its public name
    with mocks:  # nothing was left bound or running: the same object serves once the port is free
        assert mocks.urls["databar"] == f"http://127.0.0.1:{port}"


def test_unknown_ports_key() -> None:
    """An unknown ports key is refused, naming the providers."""
    with pytest.raises(ValueError, match="ports: no mock provider named 'gumlop'; the providers are: databar, "):
        MockProviders(ports={"gumlop": 1})


class TestThePytestFixtures:
    """The plugin's fixtures as a user's suite meets them, with ``flowdeck_mock_config`` overridden."""

    @pytest.fixture
    def flowdeck_mock_config(self) -> MockConfig:
        return MockConfig(seed=11, run_seconds=(0.5, 0.5), failure_rate=1.0)

    def test_override_served_fast(self, flowdeck_mocks: MockProviders, flowdeck_client: flowdeck.Client) -> None:
        """The fixtures serve an overriding config and poll fast."""
        with pytest.raises(flowdeck.RunFailed):  # failure_rate=1.0: the override was served
            flowdeck_client.run("databar:flow/1", {"domain": "stripe.com"})
        # A client's default policy first polls at 0.5 s and sees a 0.5 s run end in one or two polls.
        assert flowdeck_mocks.states["databar"].calls["get_task"] >= 5


# --- the docs a user pastes from ------------------------------------------------------------------------------


def test_docstrings_name_real_names() -> None:
    """flowdeck.testing's docstrings name only what exists."""
    import flowdeck.testing

    named: set[str] = set()
    for obj in [flowdeck.testing, *(getattr(flowdeck.testing, n) for n in flowdeck.testing.__all__)]:
        named |= set(re.findall(r"flowdeck\.testing\.(\w+)", getattr(obj, "__doc__", None) or ""))
    assert named, "the docstrings no longer point into flowdeck.testing: update this test"
    assert {n for n in named if not hasattr(flowdeck.testing, n)} == set()


@pytest.mark.parametrize("documented", ["flowdeck", "Client", "AsyncClient"])
def test_package_example_as_pasted(documented: str) -> None:
    """``help(flowdeck)``'s example (and the clients') runs in a fresh namespace, not only with the suite's names."""
    import doctest

    obj = flowdeck if documented == "flowdeck" else getattr(flowdeck, documented)
    globs = {} if documented == "flowdeck" else {documented: obj}  # what `from flowdeck import Client` gives
    (test,) = doctest.DocTestFinder(recurse=False).find(obj, globs=globs)
    result = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS).run(test, out=lambda text: None)
    assert result.attempted and not result.failed


def test_busy_port_advice() -> None:
    """`flowdeck mock` says "or 0 for free ones"; the troubleshooting row must not say something else."""
    page = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    (row,) = [line for line in page.splitlines() if line.startswith("| `error: port 8081 (for databar) is not free`")]
    assert "`--port 0`" in row and "leave it out" not in row.split("`--port 0`")[0]


def test_plugin_client_on_mocks(flowdeck_client: flowdeck.Client) -> None:
    """The pytest plugin's flowdeck_client fixture runs against the mocks."""
    run = flowdeck_client.run(f"superai:{'7c9e6679-7425-40de-944b-e07fc1f90ae7'}", {"file_key": "x.pdf"})
    assert run.succeeded and run.outputs["extract"]["fields"] == ["file_key"]
