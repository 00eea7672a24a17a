"""``flowdeck batch --reconcile`` through the real command: UNKNOWN rows resolved where a provider lists runs."""

from __future__ import annotations

import json
from collections.abc import Generator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flowdeck._batch import reconcile
from flowdeck._cli import app
from flowdeck._models import Run, Status, WorkflowRef
from flowdeck._providers import get
from flowdeck.testing import Faults, MockConfig, MockProviders
from typer.testing import CliRunner

from tests._cli import jsonl, results

runner = CliRunner()
FLOW = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
INPUTS = [{"file_key": "a.pdf"}, {"file_key": "b.pdf"}, {"file_key": "b.pdf"}, {"file_key": "c.pdf"}]


def cutting(kind: str) -> Iterator[MockProviders]:
    """Mocks that cut every request's connection: ``drop_after`` once it was processed (the run exists),
    ``drop_before`` before (no run)."""
    with MockProviders(MockConfig(seed=5, faults=Faults(rate=1.0, kinds=(kind,)))) as mocks:
        yield mocks


@pytest.fixture
def after(monkeypatch: pytest.MonkeyPatch) -> Iterator[MockProviders]:
    for mocks in cutting("drop_after"):
        monkeypatch.setenv("SUPERAI_TOKEN", mocks.config.superai_token)  # no login through the cuts
        for key, value in mocks.env.items():
            monkeypatch.setenv(key, value)
        yield mocks


@pytest.fixture
def before(monkeypatch: pytest.MonkeyPatch) -> Iterator[MockProviders]:
    for mocks in cutting("drop_before"):
        monkeypatch.setenv("SUPERAI_TOKEN", mocks.config.superai_token)
        for key, value in mocks.env.items():
            monkeypatch.setenv(key, value)
        yield mocks


def unknown_batch(mocks: MockProviders, tmp_path: Path, ref: str) -> list[str]:
    """A batch whose every start is cut (UNKNOWN rows), then the mocks healed; its arguments."""
    args = ["batch", ref, str(jsonl(tmp_path / "in.jsonl", INPUTS)), "--out", str(tmp_path / "o.jsonl")]
    first = runner.invoke(app, args)
    assert first.exit_code == 1, first.output
    assert {r["status"] for r in results(tmp_path / "o.jsonl")} == {"UNKNOWN"}
    mocks.config.faults.rate = 0.0
    return args


def test_reconcile_waits_on_found(after: MockProviders, tmp_path: Path) -> None:
    """--reconcile finds UNKNOWN rows' runs, waits on them and writes their results; none starts again."""
    args = unknown_batch(after, tmp_path, f"superai:{FLOW}")
    state = after.states["superai"]
    assert state.start_count == 4
    first = runner.invoke(app, args)  # the next step it printed names --reconcile
    assert first.exit_code == 1 and "--reconcile" in first.stdout, first.stdout
    done = runner.invoke(app, [*args, "--reconcile"])
    assert done.exit_code == 0, done.output
    assert "superai: 4 of 4 UNKNOWN rows matched runs there (waited on now)" in done.stderr
    assert state.start_count == 4 and list(state.duplicate_starts().values()) == [2]  # the two rows alike
    rows = results(tmp_path / "o.jsonl")
    assert [(r["row"], r["status"]) for r in rows] == [(n, "SUCCEEDED") for n in range(1, 5)]
    assert all(r["outputs"]["extract"]["fields"] == ["file_key"] for r in rows)  # read, not only listed
    assert len({r["run_id"] for r in rows}) == 4  # the two rows alike took a run each
    for r in rows:
        assert state.runs[r["run_id"]].inputs == r["input"]
    again = runner.invoke(app, [*args, "--reconcile"])
    assert again.exit_code == 0 and state.start_count == 4 and "matched" not in again.stderr


def test_reconcile_restarts_only_settled(
    before: MockProviders, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Rows with no run there start again only once their start is old enough to have shown."""
    args = unknown_batch(before, tmp_path, f"superai:{FLOW}")
    state = before.states["superai"]
    assert state.start_count == 0  # cut before the mock took them
    fresh = runner.invoke(app, [*args, "--reconcile"])
    assert fresh.exit_code == 1 and state.start_count == 0, fresh.output
    assert "4 left UNKNOWN: sent under 300 s ago, its run may not show yet" in fresh.stderr
    monkeypatch.setattr(reconcile, "SETTLE_SECONDS", 0.0)
    settled = runner.invoke(app, [*args, "--reconcile"])
    assert settled.exit_code == 0, settled.output
    assert "4 certainly never started there (started now)" in settled.stderr
    assert state.start_count == 4 and list(state.duplicate_starts().values()) == [2]  # the two rows alike
    assert [r["status"] for r in results(tmp_path / "o.jsonl")] == ["SUCCEEDED"] * 4


def test_reconcile_stranger_run_blocks(before: MockProviders, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A run there that no row has, started since, keeps the unmatched rows UNKNOWN (it could be theirs)."""
    args = unknown_batch(before, tmp_path, f"superai:{FLOW}")
    before.states["superai"].start(FLOW, {"file_key": "A.PDF"})  # as if the provider echoed it otherwise
    monkeypatch.setattr(reconcile, "SETTLE_SECONDS", 0.0)
    done = runner.invoke(app, [*args, "--reconcile"])
    assert done.exit_code == 1, done.output
    assert "4 left UNKNOWN: a run there no row has could be its run" in done.stderr
    assert before.states["superai"].start_count == 1
    assert [r["status"] for r in results(tmp_path / "o.jsonl")] == ["UNKNOWN"] * 4


def test_reconcile_cannot_list(after: MockProviders, tmp_path: Path) -> None:
    """Where a provider cannot list runs, --reconcile says so and where to look; nothing changes."""
    args = unknown_batch(after, tmp_path, "gumloop:unlisted")
    state = after.states["gumloop"]
    before = results(tmp_path / "o.jsonl")
    done = runner.invoke(app, [*args, "--reconcile", "--json"])
    assert done.exit_code == 1, done.output
    (line,) = [x for x in done.stderr.splitlines() if x.startswith("gumloop:")]
    assert line.startswith("gumloop: 4 UNKNOWN rows left as they are: Gumloop cannot list its runs; ")
    assert "look" in line  # where to look, in the provider's own terms
    assert state.start_count == 4 and results(tmp_path / "o.jsonl") == before
    summary = json.loads(done.stdout)
    assert summary["statuses"] == {"UNKNOWN": 4}
    assert summary["reconciled"] == [
        {"provider": "gumloop", "unknown": 4, "matched": 0, "restarted": 0, "left": 4, "why": line.split(": ", 2)[2]}
    ]


def test_reconcile_with_check(after: MockProviders, tmp_path: Path) -> None:
    """--reconcile with --check (which writes nothing) is a usage error."""
    inputs = jsonl(tmp_path / "in.jsonl", INPUTS)
    done = runner.invoke(app, ["batch", f"superai:{FLOW}", str(inputs), "--out", str(tmp_path / "o"), "--check",
                               "--reconcile"])  # fmt: skip
    assert done.exit_code == 2 and "--check writes nothing" in done.stderr
    assert not (tmp_path / "o").exists()


def test_reconcile_skips_claimed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A run some other row already has is never taken, even when its inputs match."""
    faults = Faults(rate=0.5, kinds=("drop_before",))  # seeded: row 1 starts, row 2's start is cut
    with MockProviders(MockConfig(seed=1, faults=faults)) as mocks:
        for key, value in {**mocks.env, "SUPERAI_TOKEN": mocks.config.superai_token}.items():
            monkeypatch.setenv(key, value)
        inputs = jsonl(tmp_path / "in.jsonl", [{"file_key": "a.pdf"}, {"file_key": "a.pdf"}])
        args = ["batch", f"superai:{FLOW}", str(inputs), "--out", str(tmp_path / "o.jsonl"), "--concurrency", "1"]
        assert runner.invoke(app, args).exit_code == 1
        assert [r["status"] for r in results(tmp_path / "o.jsonl")] == ["SUCCEEDED", "UNKNOWN"]
        mocks.config.faults.rate = 0.0
        monkeypatch.setattr(reconcile, "SETTLE_SECONDS", 0.0)
        done = runner.invoke(app, [*args, "--reconcile"])
        assert done.exit_code == 0, done.output
        assert "1 certainly never started there (started now)" in done.stderr
        rows = results(tmp_path / "o.jsonl")
        assert mocks.states["superai"].start_count == 2 and rows[0]["run_id"] != rows[1]["run_id"]


def test_listing_out_of_order() -> None:
    """A listing not newest first is read to its end: a run after an old one is not missed."""
    ref = WorkflowRef("superai", None, FLOW)

    def run(n: int, at: float) -> Run:
        created = datetime.fromtimestamp(at, UTC)
        return Run("superai", ref, f"r{n}", Status.RUNNING, "running", created_at=created, raw={"input": {"n": n}})

    class Pages:
        def list_flow_executions(
            self, flow_id: str, *, page: int, page_size: int, **_: object
        ) -> Generator[None, None, list[Run]]:
            pages = {1: [run(1, 2000.0), run(2, 500.0), run(3, 1500.0)]}
            return pages.get(page, [])
            yield

    list_runs = get("superai").runs.list_runs
    assert list_runs is not None
    op = list_runs(Pages(), ref, 1000.0, 10_000)
    with pytest.raises(StopIteration) as done:
        next(op)
    listed = done.value.value
    assert [x.run.id for x in listed.runs] == ["r1", "r3"] and listed.complete
    assert [x.inputs for x in listed.runs] == [{"n": 1}, {"n": 3}]
