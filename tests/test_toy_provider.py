"""A fifth provider, defined here and nowhere in flowdeck, works everywhere providers are used.

It declares its adapter, configuration, reference syntax, namespaces and mock in one place (like a
module under flowdeck/_providers/), registers, and is then reachable through Client.start/wait, the
async client, parse_ref, every `flowdeck` command (run, status, cancel, inputs, batch and its --reconcile, doctor) and
flowdeck.testing.MockProviders; its credential is scrubbed from errors like the built-ins'. No
flowdeck module knows its name, nor anything about it: what it cannot do is said in its own words.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import attrs
import flowdeck
import httpx
import pytest
from flowdeck import _providers
from flowdeck._cli import app
from flowdeck._config import ConfigSpec, ProviderConfig, Setting, URLSetting
from flowdeck._core import Op
from flowdeck._namespaces import AsyncNamespace, Namespace
from flowdeck._providers import AdapterBase, Checks, Listed, MockSpec, Provider, RecentRuns, RefSyntax, RunSupport
from flowdeck._providers._base import Clock, bind, map_status, not_supported
from flowdeck.testing import MockProviders, MockState
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from typer.testing import CliRunner

TOKEN = "toy-token-9f8e7d6c"

# --- the toy API's operations, shaped like openapi-python-client's modules -------------------------


@attrs.frozen
class JsonOperation:
    """One JSON operation: ``_get_kwargs`` builds the request, ``_parse_response`` reads a 2xx answer."""

    method: str
    path: str

    def _get_kwargs(self, *path_args: str, body: Any = None) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"method": self.method, "url": self.path.format(*path_args)}
        if body is not None:
            kwargs["json"] = body
        return kwargs

    def _parse_response(self, *, client: Any, response: httpx.Response) -> Any:
        return response.json() if response.status_code in (200, 201) else None


START = JsonOperation("POST", "/teams/{}/workflows/{}/runs")
LIST = JsonOperation("GET", "/teams/{}/workflows/{}/runs")
GET_RUN = JsonOperation("GET", "/runs/{}")
STATES = {"queued": flowdeck.Status.PENDING, "busy": flowdeck.Status.RUNNING, "done": flowdeck.Status.SUCCEEDED,
          "broken": flowdeck.Status.FAILED}  # fmt: skip


class ToyAdapter(AdapterBase):
    name: ClassVar[str] = "toy"

    def __init__(self, config: ProviderConfig, *, clock: Clock) -> None:
        super().__init__(config, clock=clock)
        self.headers = {"Authorization": f"Token {config.require('token')}"}

    def _run(self, ref: flowdeck.WorkflowRef, body: Any) -> flowdeck.Run:
        status = map_status(self.name, STATES, body["state"], operation="get_run", raw=body)
        return flowdeck.Run(self.name, ref, body["id"], status, body["state"], outputs=body.get("result"), raw=body)

    def start(self, ref: flowdeck.WorkflowRef, inputs: Mapping[str, Any]) -> Op[flowdeck.Run]:
        run: flowdeck.Run = yield self.call(
            "start", START, lambda body: self._run(ref, body),
            bind(START._get_kwargs, ref.org or "", ref.id, body=dict(inputs)), starts=ref,
        )  # fmt: skip
        return run

    def get_run(self, run_id: str, ref: flowdeck.WorkflowRef | None = None) -> Op[flowdeck.Run]:
        ref = ref or flowdeck.WorkflowRef(self.name, "run", run_id)
        run: flowdeck.Run = yield self.call(
            "get_run", GET_RUN, lambda body: self._run(ref, body), bind(GET_RUN._get_kwargs, run_id)
        )
        return run

    def refresh(self, run: flowdeck.Run) -> Op[flowdeck.Run]:
        return self.get_run(run.id, run.workflow)

    def cancel(self, run: flowdeck.Run) -> Op[flowdeck.Run]:
        raise not_supported(self.name, "cancelling")
        yield  # pragma: no cover

    def recent_runs(self, ref: flowdeck.WorkflowRef, since: float, limit: int) -> Op[RecentRuns]:
        """Every run of the workflow, with its inputs and creation time: one page, so always complete."""
        listed: list[Any] = yield self.call(
            "list_runs", LIST, lambda body: body, bind(LIST._get_kwargs, ref.org or "", ref.id)
        )
        runs = [
            Listed(attrs.evolve(self._run(ref, x), created_at=datetime.fromtimestamp(x["created"], UTC)), x["input"])
            for x in listed
            if x["created"] >= since
        ]
        return RecentRuns(tuple(runs[:limit]), complete=len(runs) <= limit)


class Toy(Namespace[ToyAdapter]):
    provider = "toy"

    def get_run(self, run_id: str) -> flowdeck.Run:
        return self._client.drive(self._adapter.get_run(run_id))


class AsyncToy(AsyncNamespace[ToyAdapter]):
    provider = "toy"

    async def get_run(self, run_id: str) -> flowdeck.Run:
        return await self._client.drive(self._adapter.get_run(run_id))


# --- its mock: a tiny starlette app on flowdeck.testing's shared state -------------------------------


def toy_app(state: MockState) -> Starlette:
    def answer(run_id: str) -> JSONResponse:
        run = state.runs[run_id]
        phase = run.phase(state.clock.now())
        word = {"running": "busy", "succeed": "done", "fail": "broken"}.get(phase, "broken")
        result = {"echo": run.inputs} if word == "done" else None
        return JSONResponse({"id": run.id, "state": word, "result": result}, status_code=200)

    async def start(request: Request) -> JSONResponse:
        if request.headers.get("authorization") != f"Token {TOKEN}":
            return JSONResponse({"error": "bad token"}, status_code=401)
        workflow = request.path_params["workflow"]
        if "missing" in workflow:  # like some real APIs, it echoes the credential it was given
            return JSONResponse({"error": f"no workflow {workflow} for token {TOKEN}"}, status_code=404)
        run = state.start(f"{request.path_params['team']}/{workflow}", await request.json())
        if "cut" in run.inputs:  # started, then the answer lost: the start's outcome is unknown
            return JSONResponse({"error": "gateway timeout"}, status_code=504)
        return JSONResponse({"id": run.id, "state": "queued", "result": None}, status_code=201)

    async def list_runs(request: Request) -> JSONResponse:
        workflow = f"{request.path_params['team']}/{request.path_params['workflow']}"
        mine = [r for r in state.runs.values() if r.workflow == workflow]
        return JSONResponse(
            [{**json.loads(bytes(answer(r.id).body)), "input": r.inputs, "created": r.created} for r in mine]
        )

    async def get_run(request: Request) -> JSONResponse:
        return answer(request.path_params["run_id"])

    return Starlette(
        routes=[
            Route("/v2/teams/{team}/workflows/{workflow}/runs", start, methods=["POST"]),
            Route("/v2/teams/{team}/workflows/{workflow}/runs", list_runs, methods=["GET"]),
            Route("/v2/runs/{run_id}", get_run, methods=["GET"]),
        ]
    )


TOY = Provider(
    name="toy",
    title="Toy Runner",
    adapter=ToyAdapter,
    config=ConfigSpec(
        settings=(Setting("token", "TOY_TOKEN"),),
        urls=(URLSetting("base", "toy", "TOY_BASE_URL", "https://api.toy.example/v2"),),
        requires=(("token",),),
    ),
    refs=RefSyntax(org=True),
    namespaces=(Toy, AsyncToy),
    checks=Checks(no_inputs="the Toy Runner takes any inputs", unverifiable="the Toy Runner has no account to read"),
    runs=RunSupport(
        no_cancel="a Toy Runner run cannot be stopped once it is queued",
        unknown_start="the Toy Runner may have queued the run; look in the team's run list",
        list_runs=lambda adapter, ref, since, limit: adapter.recent_runs(ref, since, limit),
    ),
    mock=MockSpec(app=toy_app, path="/v2", env=lambda config, url: {"TOY_BASE_URL": url, "TOY_TOKEN": TOKEN}),
)


@pytest.fixture
def toy() -> Iterator[Provider]:
    with _providers.registered(TOY) as provider:
        yield provider
    assert "toy" not in _providers.names()


def test_reference_syntax(toy: Provider) -> None:
    """References use the toy provider's declared syntax."""
    ref = flowdeck.parse_ref("toy:team-a/summarise")
    assert (ref.provider, ref.org, ref.id, str(ref)) == ("toy", "team-a", "summarise", "toy:team-a/summarise")
    with pytest.raises(flowdeck.InvalidRequestError, match="toy reference must be toy:<org_id>/<flow_id>"):
        flowdeck.parse_ref("toy:summarise")


def test_start_wait_through_mock(toy: Provider) -> None:
    """Start, wait, its namespace and scrubbing work through its mock."""
    with MockProviders() as mocks:
        assert "toy" in mocks.providers and mocks.env["TOY_TOKEN"] == TOKEN
        with mocks.client() as client:
            run = client.start("toy:team-a/summarise", {"text": "hello"})
            assert run.status is flowdeck.Status.PENDING and str(run.workflow) == "toy:team-a/summarise"
            done = client.wait(run, timeout=30)
            assert done.succeeded and done.outputs == {"echo": {"text": "hello"}}
            assert client.toy.get_run(run.id).status is flowdeck.Status.SUCCEEDED  # type: ignore[attr-defined]
            with pytest.raises(flowdeck.NotFoundError) as info:
                client.start("toy:team-a/missing-flow", {})
            assert TOKEN not in str(info.value) + repr(info.value) and "no workflow missing-flow" in str(info.value)
        assert mocks.states["toy"].start_count == 1

        async def run_async() -> flowdeck.Run:
            async with mocks.async_client() as client:
                started = await client.start("toy:team-b/summarise", {"text": "async"})
                assert (await client.toy.get_run(started.id)).id == started.id  # type: ignore[attr-defined]
                return await client.wait(started, timeout=30)

        assert asyncio.run(run_async()).outputs == {"echo": {"text": "async"}}


def test_doctor_diagnoses_it(toy: Provider) -> None:
    """doctor diagnoses the toy provider, ready or misconfigured."""
    runner = CliRunner()
    ready = runner.invoke(app, ["doctor", "--json"], env={"TOY_TOKEN": TOKEN})
    found = {p["provider"]: p for p in json.loads(ready.stdout)["providers"]}
    assert found["toy"]["state"] == "ready" and found["toy"]["title"] == "Toy Runner"
    assert TOKEN not in ready.output
    missing = runner.invoke(app, ["doctor", "--json"], env={"TOY_TOKEN": "", "TOY_BASE_URL": "ftp://toy"})
    found = {p["provider"]: p for p in json.loads(missing.stdout)["providers"]}
    assert found["toy"]["state"] == "misconfigured" and "invalid base URL in TOY_BASE_URL" in found["toy"]["reason"]


def test_cli_drives_it(toy: Provider, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """run, status, cancel, inputs, batch and doctor: each asks the registry, none knows the toy."""
    runner = CliRunner()
    with MockProviders() as mocks:
        for key, value in mocks.env.items():
            monkeypatch.setenv(key, value)
        ran = runner.invoke(app, ["run", "toy:team-a/summarise", "-i", "text=hi", "--json"])
        assert ran.exit_code == 0, ran.output
        run = json.loads(ran.stdout)
        assert run["outputs"] == {"echo": {"text": "hi"}} and run["provider"] == "toy"
        looked = runner.invoke(app, ["status", "toy", run["run_id"], "--json"])
        assert json.loads(looked.stdout)["status"] == "SUCCEEDED", looked.output
        cancel = runner.invoke(app, ["cancel", "toy", run["run_id"]])
        assert cancel.exit_code == 2 and cancel.stderr.startswith(
            "error: toy does not support cancelling runs: a Toy Runner run cannot be stopped once it is queued"
        ), cancel.stderr
        started = runner.invoke(app, ["run", "toy:team-a/summarise", "--no-wait"])
        assert "flowdeck status toy" in started.stderr and "flowdeck cancel" not in started.stderr, started.stderr
        declared = runner.invoke(app, ["inputs", "toy:team-a/summarise"])
        assert declared.stdout.strip() == "toy:team-a/summarise: the Toy Runner takes any inputs", declared.output
        rows = tmp_path / "in.jsonl"
        rows.write_text("".join(json.dumps({"text": str(i)}) + "\n" for i in range(3)))
        out = tmp_path / "out.jsonl"
        batch = runner.invoke(app, ["batch", "toy:team-a/summarise", str(rows), "--out", str(out)])
        assert batch.exit_code == 0, batch.output
        assert [json.loads(line)["status"] for line in out.read_text().splitlines()] == ["SUCCEEDED"] * 3
        bulk = runner.invoke(app, ["batch", "toy:team-a/summarise", str(rows), "--out", str(out), "--bulk", "9"])
        assert bulk.exit_code == 2 and "no bulk tasks at toy" in bulk.stderr, bulk.output
        doctor = runner.invoke(app, ["doctor", "--verify", "--json"])
        found = {p["provider"]: p for p in json.loads(doctor.stdout)["providers"]}
        assert found["toy"]["verify_reason"] == "the Toy Runner has no account to read", found["toy"]
    from flowdeck._cli.output import unknown_means

    assert unknown_means("toy") == "the Toy Runner may have queued the run; look in the team's run list"


def test_reconcile_asks_it(toy: Provider, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """batch --reconcile finds the toy's runs through its own listing, as it does a built-in's."""
    runner = CliRunner()
    with MockProviders() as mocks:
        for key, value in mocks.env.items():
            monkeypatch.setenv(key, value)
        rows = tmp_path / "in.jsonl"
        rows.write_text("".join(json.dumps({"text": str(i), "cut": True}) + "\n" for i in range(3)))
        out = tmp_path / "out.jsonl"
        args = ["batch", "toy:team-a/summarise", str(rows), "--out", str(out)]
        assert runner.invoke(app, args).exit_code == 1
        assert [json.loads(line)["status"] for line in out.read_text().splitlines()] == ["UNKNOWN"] * 3
        done = runner.invoke(app, [*args, "--reconcile"])
        assert done.exit_code == 0, done.output
        assert "toy: 3 of 3 UNKNOWN rows matched runs there (waited on now)" in done.stderr
        assert mocks.states["toy"].start_count == 3
        assert [json.loads(line)["outputs"]["echo"]["text"] for line in out.read_text().splitlines()] == ["0", "1", "2"]


def test_refused_once_gone() -> None:
    """A reference to the toy provider is refused once it is unregistered."""
    with pytest.raises(flowdeck.InvalidRequestError, match="must start with one of databar:"):
        flowdeck.parse_ref("toy:team-a/summarise")
