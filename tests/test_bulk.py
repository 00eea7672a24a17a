"""Databar bulk runs: the overlay actions that add them, the facade, the mock's bulk tasks, and
``flowdeck batch`` grouping rows into bulk tasks (resumable after ``kill -9`` without a second start)."""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import signal
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import flowdeck
import httpx
import pytest
import yaml
from flowdeck import Status
from flowdeck._batch import fingerprint, read_rows
from flowdeck._cli import app
from flowdeck._providers.databar import BULK_SIZE, bulk_rows
from flowdeck.testing import MockClock, MockConfig, MockProviders
from typer.testing import CliRunner

from tests._cli import jsonl, reap_spawned, results, spawn  # noqa: F401 - reap_spawned: an autouse fixture

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()
STRING = {"type": "string"}
FAST = flowdeck.PollPolicy(initial=0.05, factor=1.5, max_interval=0.5)


@pytest.fixture
def clock() -> MockClock:
    return MockClock(frozen_at=1_800_000_000.0)


@pytest.fixture
def timed(clock: MockClock) -> Iterator[MockProviders]:
    """Mocks whose runs take 10-20 s on a clock that moves only when the test says."""
    with MockProviders(MockConfig(run_seconds=(10.0, 20.0)), clock) as mocks:
        yield mocks


# --- the overlay actions, guarded -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "operation", "body", "items"),
    [
        ("/v1/flows/{flow_id}/bulk-run", "run_flow_bulk", "inputs", {"type": "object", "additionalProperties": STRING}),
        ("/v1/waterfalls/{identifier}/bulk-run", "run_waterfall_bulk", "params", {"type": "object"}),
    ],
)  # fmt: skip
def test_bulk_overlay_actions(path: str, operation: str, body: str, items: dict[str, Any]) -> None:
    """Each bulk overlay action adds its operation, marked with both sources."""
    spec = yaml.safe_load((ROOT / "specs" / "normalized" / "databar.yaml").read_text(encoding="utf-8"))
    post = spec["paths"][path]["post"]
    assert post["operationId"] == operation and post["x-flowdeck-added"] is True
    assumption = " ".join(post["x-flowdeck-assumption"].split())
    assert f"DatabarClient.{operation}" in assumption and "PyPI databar 2.8.0" in assumption
    assert "https://docs.databar.ai/api-reference/endpoint/tasks-get-status.md" in assumption
    schema = post["requestBody"]["content"]["application/json"]["schema"]
    assert schema["required"] == [body] and schema["properties"][body]["items"] == items
    assert post["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/RunResponse"
    }
    module = importlib.import_module(f"flowdeck_generated.databar.api.{post['tags'][0].lower()}.{operation}")
    assert "RunResponse" in str(module.sync_detailed.__annotations__["return"])


# --- the facade and the mock ------------------------------------------------------------------------


def test_bulk_task_over_time(timed: MockProviders, clock: MockClock) -> None:
    """A bulk flow task moves over time and ends partially completed."""
    inputs = [{"domain": "a.com"}, {"domain": "b.com", "mock_outcome": "miss"}, {"domain": "c.com"},
              {"domain": "d.com", "mock_outcome": "fail"}]  # fmt: skip
    with timed.client(max_retries=0) as client:
        run = client.databar.run_flow_bulk("enrich", inputs)
        assert (run.status, run.provider_status, run.workflow) == (
            Status.RUNNING,
            "processing",
            flowdeck.WorkflowRef("databar", "flow", "enrich"),
        )
        seen = []
        for _ in range(5):
            task = client.databar.get_task(run.id, include_partial=True)
            seen.append((task.raw["progress"]["processing"], len(task.outputs or [])))
            clock.advance(4.5)
        final = client.wait(run, timeout=60)
    processing = [p for p, _ in seen]
    assert processing[0] == 4 and processing[-1] == 0 and processing == sorted(processing, reverse=True)
    assert len(set(processing)) > 2  # it moved in steps, not all at once
    partial = [n for _, n in seen]
    assert partial[:-1] == sorted(partial[:-1]) and 0 < partial[-2] < 4  # finished rows, early
    assert partial[-1] == 4  # once ended, the data is aligned to the 4 inputs
    assert (final.status, final.provider_status) == (Status.SUCCEEDED, "partially_completed")
    assert final.raw["progress"] == {"total": 4, "completed": 2, "no_data": 1, "failed": 1, "processing": 0}
    assert [None if o is None else o["inputs"]["domain"] for o in final.outputs] == ["a.com", None, "c.com", None]
    rows = bulk_rows(final, 4)
    assert [r.status for r in rows] == [Status.SUCCEEDED, Status.FAILED, Status.SUCCEEDED, Status.FAILED]
    assert rows[1].error == "no data for this input (bulk task partially_completed)"
    assert sum(r.raw["credits_spent"] for r in rows) == final.raw["credits_spent"] == 2


def test_partial_results(timed: MockProviders, clock: MockClock) -> None:
    """Partial results come only with include_partial."""
    with timed.client() as client:
        run = client.databar.run_flow_bulk("enrich", [{"domain": f"{i}.com"} for i in range(20)])
        clock.advance(15)
        plain = client.databar.get_task(run.id)
        partial = client.databar.get_task(run.id, include_partial=True)
    assert plain.outputs is None and plain.raw["progress"]["completed"] > 0
    assert len(partial.outputs) == plain.raw["progress"]["completed"]
    assert all(item["inputs"]["domain"].endswith(".com") for item in partial.outputs)


def test_bulk_waterfall_and_cancel(timed: MockProviders, clock: MockClock) -> None:
    """Bulk waterfalls run sync and async, and a bulk task cancels."""

    async def both() -> tuple[flowdeck.Run, flowdeck.Run]:
        async with timed.async_client(max_retries=0) as client:
            default = await client.databar.run_waterfall_bulk("email_getter", [{"email": "a@b.c"}, {"email": "d@e.f"}])
            chosen = await client.databar.run_waterfall_bulk("email_getter", [{"email": "g@h.i"}], [966])
            return default, chosen

    default, chosen = asyncio.run(both())
    clock.advance(30)
    with timed.client() as client:
        assert [o["inputs"]["email"] for o in client.wait(default).outputs] == ["a@b.c", "d@e.f"]
        assert client.wait(chosen).provider_status == "completed"
        run = client.databar.run_flow_bulk("enrich", [{"domain": "a"}, {"domain": "b"}])
        cancelled = client.databar.cancel_task(run.id)
    assert cancelled.status is Status.CANCELLED
    assert [(r.status, r.error) for r in bulk_rows(cancelled, 2)] == [
        (
            Status.CANCELLED,
            "the bulk task was cancelled (results of inputs that finished are not aligned to the inputs)",
        )
    ] * 2
    assert timed.states["databar"].runs[default.id].inputs["enrichments"] == [833, 966]  # the default cascade


@pytest.mark.parametrize(
    ("inputs", "message"),
    [([], "non-empty list"), ({"domain": "a"}, "non-empty list"), ([{"domain": 1}], "must be a string")],
)
def test_bad_bulk_inputs(inputs: Any, message: str) -> None:
    """Bad bulk inputs are refused before anything is sent."""
    env = {"DATABAR_API_KEY": "k", "DATABAR_BASE_URL": "http://127.0.0.1:9"}  # nothing listens: nothing is sent
    with flowdeck.Client(env=env) as client, pytest.raises(flowdeck.InvalidRequestError, match=message):
        client.databar.run_flow_bulk("f", inputs)


# --- flowdeck batch --bulk ----------------------------------------------------------------------------


def batch(mocks: MockProviders, *args: str) -> Any:
    result = runner.invoke(app, ["batch", *args, "--json"], env=mocks.env)
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)


def test_batch_groups_bulk_tasks(tmp_path: Path) -> None:
    """A batch groups Databar rows into bulk tasks, each row its own line."""
    rows = [{"domain": f"d{i}.com", **({"mock_outcome": "miss"} if i % 10 == 3 else {})} for i in range(60)]
    source = jsonl(tmp_path / "in.jsonl", rows)
    with MockProviders() as mocks:
        summary = batch(
            mocks, "databar:flow/enrich", str(source), "--out", str(tmp_path / "bulk.jsonl"), "--bulk", "25"
        )
        state = mocks.states["databar"]
        assert (state.start_count, state.calls["get_task"]) == (3, 3)  # 60 rows: tasks of 25, 25 and 10
        one_by_one = batch(
            mocks, "databar:flow/enrich", str(source), "--out", str(tmp_path / "one.jsonl"), "--bulk", "1"
        )
        assert state.start_count == 3 + 60
        default = batch(mocks, "databar:flow/enrich", str(source), "--out", str(tmp_path / "default.jsonl"))
        assert state.start_count == 3 + 60 + 1  # the default size takes all 60 rows in one task
    assert summary["statuses"] == default["statuses"] == {"SUCCEEDED": 54, "FAILED": 6}
    assert one_by_one["statuses"] == {"SUCCEEDED": 60}  # a single run never misses in the mock
    lines = results(tmp_path / "bulk.jsonl")
    assert [line["row"] for line in lines] == list(range(1, 61))
    assert Counter(line["bulk"]["task_id"] for line in lines).most_common() == [
        (lines[0]["run_id"], 25), (lines[25]["run_id"], 25), (lines[50]["run_id"], 10)
    ]  # fmt: skip
    assert [line["bulk"]["index"] for line in lines[:3]] == [0, 1, 2] and lines[59]["bulk"]["index"] == 9
    assert lines[0]["outputs"]["inputs"] == {"domain": "d0.com"} and lines[0]["credits_spent"] > 0
    assert (lines[3]["status"], lines[3]["error"]) == (
        "FAILED",
        "no data for this input (bulk task partially_completed)",
    )
    assert BULK_SIZE == 500


def test_bad_row_rejected_alone(tmp_path: Path) -> None:
    """A row the start would refuse is rejected alone; its bulk task runs the rest."""
    rows = [{"domain": f"d{i}.com", **({"n": 1} if i == 7 else {})} for i in range(30)]  # Databar takes strings
    source = jsonl(tmp_path / "in.jsonl", rows)
    with MockProviders() as mocks:
        summary = batch(mocks, "databar:flow/enrich", str(source), "--out", str(tmp_path / "r.jsonl"))
        assert mocks.start_count == 1  # one task, for the 29 good rows
    assert summary["statuses"] == {"SUCCEEDED": 29, "REJECTED": 1}
    lines = results(tmp_path / "r.jsonl")
    assert (lines[7]["status"], lines[7]["error"]) == ("REJECTED", "databar input 'n' must be a string, got int")
    assert lines[8]["bulk"]["index"] == 7  # the task's inputs as sent: the rejected row is not among them


def test_lone_row_plain_run(tmp_path: Path) -> None:
    """A lone Databar row runs as a plain run."""
    source = jsonl(tmp_path / "in.jsonl", [{"domain": "a.com", "workflow": "databar:flow/one"},
                                           {"topic": "t", "workflow": "gumloop:digest"}])  # fmt: skip
    with MockProviders() as mocks:
        assert batch(mocks, "column:workflow", str(source), "--out", str(tmp_path / "r.jsonl"))["ok"]
    assert "bulk" not in results(tmp_path / "r.jsonl")[0]


@pytest.mark.parametrize(("workflow", "status"), [("cancel-me", "CANCELLED"), ("fail-me", "FAILED")])
def test_bulk_task_status_per_row(tmp_path: Path, workflow: str, status: str) -> None:
    """A cancelled or failed bulk task gives each row its status."""
    source = jsonl(tmp_path / "in.jsonl", [{"domain": f"d{i}.com"} for i in range(7)])
    with MockProviders() as mocks:
        summary = batch(mocks, f"databar:flow/{workflow}", str(source), "--out", str(tmp_path / "r.jsonl"))
    assert summary["statuses"] == {status: 7}
    assert [line["row"] for line in results(tmp_path / "r.jsonl")] == list(range(1, 8))


def test_unknown_bulk_start_not_resent(tmp_path: Path) -> None:
    """A bulk start of unknown outcome is never sent again."""
    source = jsonl(tmp_path / "in.jsonl", [{"domain": f"d{i}.com"} for i in range(4)])
    out = tmp_path / "r.jsonl"
    digest = fingerprint(read_rows(source, "databar:flow/enrich"))
    state = out.with_name(out.name + ".flowdeck-state.jsonl")
    # What a batch killed between writing a task's intent and hearing the answer leaves behind.
    state.write_text(
        json.dumps({"event": "batch", "format": 2, "fingerprint": digest}) + "\n"
        + json.dumps({"event": "bulk_intent", "bulk": "k1", "rows": [1, 2], "at": 0}) + "\n"
    )  # fmt: skip
    with MockProviders() as mocks:
        summary = batch(mocks, "databar:flow/enrich", str(source), "--out", str(out))
        assert mocks.start_count == 1  # rows 3 and 4 in one task; rows 1 and 2 not sent again
        assert summary["statuses"] == {"SUCCEEDED": 2, "UNKNOWN": 2}
        retried = batch(mocks, "databar:flow/enrich", str(source), "--out", str(out), "--retry-unknown")
        assert mocks.start_count == 2 and retried["statuses"] == {"SUCCEEDED": 4}
    assert [line["row"] for line in results(out)] == [1, 2, 3, 4]


def test_bulk_rows_journalled_first(tmp_path: Path) -> None:
    """A bulk task's rows are journalled before its start request is sent."""
    from flowdeck._batch import BatchRow, Journal, run_batch

    out = tmp_path / "r.jsonl"
    state = out.with_name(out.name + ".flowdeck-state.jsonl")
    seen: list[list[int]] = []

    async def check(request: httpx.Request) -> None:
        if request.url.path.endswith("/bulk-run"):
            sent = [r["domain"] for r in json.loads(request.content)["inputs"]]
            intents = [json.loads(x) for x in state.read_text().splitlines() if '"bulk_intent"' in x]
            assert intents and [f"d{n}.com" for n in intents[-1]["rows"]] == sent  # flushed, in order
            seen.append(intents[-1]["rows"])

    rows = [BatchRow(n, "databar:flow/enrich", {"domain": f"d{n}.com"}) for n in range(1, 9)]

    async def main() -> None:
        http = httpx.AsyncClient(event_hooks={"request": [check]})
        async with flowdeck.AsyncClient(env=mocks.env, http_client=http, poll_policy=FAST) as client:
            await run_batch(client, rows, Journal(out), bulk=3, concurrency=1)
        await http.aclose()

    with MockProviders() as mocks:
        asyncio.run(main())
    assert seen == [[1, 2, 3], [4, 5, 6], [7, 8]]


def test_bulk_resume_after_kill_9(tmp_path: Path) -> None:
    """A bulk batch killed with -9 resumes every row once, without a second bulk start."""
    source = jsonl(tmp_path / "in.jsonl", [{"domain": f"d{i}.com"} for i in range(300)])
    out = tmp_path / "results.jsonl"
    state = out.with_name(out.name + ".flowdeck-state.jsonl")
    args = ["batch", "databar:flow/enrich", str(source), "--out", str(out), "--bulk", "20", "--concurrency", "4"]
    # Tasks are in flight at the kill whatever their length (none ends before its first poll, half a
    # second after its start); runs shorter than that poll make each round of tasks one poll long.
    with MockProviders(MockConfig(run_seconds=(0.1, 0.4))) as mocks:
        proc = spawn(args, mocks.env)
        deadline = time.monotonic() + 60
        while not (state.exists() and state.read_text().count('"bulk_started"') >= 5 and out.exists()
                   and len(out.read_text().splitlines()) > 0):  # fmt: skip
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the batch never got going"
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate()
        before = len(results(out))
        assert 0 < before < 300
        resumed = spawn(args, mocks.env)
        _, stderr = resumed.communicate(timeout=120)
        assert resumed.returncode in (0, 1), stderr
        assert mocks.duplicate_starts() == {}
        started = [json.loads(line) for line in state.read_text().splitlines() if '"bulk_started"' in line]
        assert mocks.start_count >= len(started)  # every task whose start was answered started once
    lines = results(out)
    assert sorted(line["row"] for line in lines) == list(range(1, 301))  # every row exactly once
    done = [line for line in lines if line["status"] == "SUCCEEDED"]
    assert all(line["outputs"]["inputs"] == line["input"] for line in done)  # each row its own result
    statuses = Counter(line["status"] for line in lines)
    assert set(statuses) <= {"SUCCEEDED", "UNKNOWN"} and statuses["SUCCEEDED"] >= 300 - 20 * 4
    assert len({key for event in started for key in [event["bulk"]]}) == len(started)
