"""The spec gate: `make spec-update` refuses a page under which the unchanged facade or its mock breaks.

Each test changes a provider page as a provider might and runs the update as a maintainer would
(`specpipe update`, ACCEPT_BREAKING=1 where the report calls the change breaking). Those that break
flowdeck at run time are refused and leave nothing recorded; harmless ones are recorded.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from specpipe._build import load_manifest
from specpipe._cli import run
from specpipe._drive import Spec, check_exchange
from specpipe._errors import TypeCheckError
from specpipe._impact import impact
from specpipe._update import type_check

from tests.test_spec_pipeline import (  # noqa: F401 (the autouse fixture generates each unchanged spec once per run)
    ROOT,
    WATERFALL,
    _each_generator_input_generated_once,
    _edit,
    _snapshot,
    copy_project,
)

TASK = "    app__api__v1__waterfall__Task:\n      properties:\n        task_id:\n          type: string\n"
REQUIRED = "      required:\n        - task_id\n        - status\n      title: Task"


@pytest.fixture
def full_copy(tmp_path: Path) -> Path:
    """The project's specs, clients and facade in a scratch folder, as `specpipe update` needs them."""
    return copy_project(tmp_path)


def _update(root: Path, monkeypatch: pytest.MonkeyPatch, *, accept: bool) -> int:
    monkeypatch.setenv("ACCEPT_BREAKING", "1" if accept else "0")
    return run(["--root", str(root), "--date", "2026-12-01", "update"])


@pytest.mark.slow
def test_renamed_answer_field_fails_typecheck(
    full_copy: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The waterfall start's task_id renamed job_id: mypy names the adapter line reading task_id."""
    _edit(full_copy / WATERFALL, TASK, TASK.replace("task_id", "job_id"))
    _edit(full_copy / WATERFALL, REQUIRED, REQUIRED.replace("task_id", "job_id"))
    before = _snapshot(full_copy)
    assert _update(full_copy, monkeypatch, accept=True) == 1
    err = capsys.readouterr().err
    source = (ROOT / "facade/flowdeck/_providers/databar.py").read_text().splitlines()
    line = next(n for n, text in enumerate(source, 1) if "response_id(started.task_id" in text)
    expected = f'facade/flowdeck/_providers/databar.py:{line}: error: Item "WaterfallTask" of'
    assert expected in err and 'has no attribute "task_id"' in err, err
    assert _snapshot(full_copy) == before


@pytest.mark.slow
def test_read_types_are_checked(full_copy: Path) -> None:
    """An id that turns into an int, a status that may be missing: mypy names the adapter lines."""
    models = full_copy / "generated/flowdeck_generated/databar/models"
    _edit(models / "run_response.py", "    task_id: str\n", "    task_id: int\n")
    _edit(models / "waterfall_task.py", "    status: str\n", "    status: str | None\n")
    with pytest.raises(TypeCheckError) as caught:
        type_check(full_copy, full_copy / "generated")
    errors = [line for line in str(caught.value).splitlines() if ": error:" in line]
    source = (ROOT / "facade/flowdeck/_providers/databar.py").read_text().splitlines()
    status = next(n for n, text in enumerate(source, 1) if "map_status(self.name, STATUSES, started.status" in text)
    task_id = next(n for n, text in enumerate(source, 1) if "response_id(started.task_id" in text)
    at = "facade/flowdeck/_providers/databar.py"
    assert any(e.startswith(f"{at}:{status}:") and '"str | None"' in e for e in errors), errors
    assert any(e.startswith(f"{at}:{task_id}:") and '"int | str"' in e for e in errors), errors


@pytest.mark.slow
def test_new_required_answer_field_refused(
    full_copy: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A required `eta` in the start answer is no breaking change, but the mock never sends it."""
    _edit(full_copy / WATERFALL, TASK, TASK + "        eta:\n          type: integer\n")
    _edit(full_copy / WATERFALL, REQUIRED, REQUIRED.replace("- status\n", "- status\n        - eta\n"))
    before = _snapshot(full_copy)
    assert _update(full_copy, monkeypatch, accept=True) == 1
    captured = capsys.readouterr()
    assert "new required response property" in captured.out
    err = captured.err.splitlines()
    assert err[0] == "error: databar: flowdeck or its mock breaks under the new spec:"
    assert any(
        "client.databar.run_waterfall fails at flowdeck_generated/databar/models/waterfall_task.py:" in line
        and "KeyError: 'eta'" in line
        for line in err
    ), err
    assert any(
        line.startswith("  run_waterfall (POST /v1/waterfalls/{waterfall_identifier}/run) `eta`, used by ")
        and "client.databar.run_waterfall" in line
        and "the mock's answer breaks the new spec (HTTP 200: 'eta' is a required property)" in line
        for line in err
    ), err
    assert any(
        "facade/flowdeck/_providers/databar.py" in line
        and "facade/flowdeck/testing/_databar.py" in line
        and "docs/providers/databar.md" in line
        and "ACCEPT_BREAKING=1 does not accept this" in line
        for line in err
    ), err
    assert "Nothing was accepted" in captured.err and _snapshot(full_copy) == before


@pytest.mark.slow
def test_request_type_change_refused(
    full_copy: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Enrichment ids become strings: mypy is blind to it, flowdeck still sends integers."""
    integer, string = "          items:\n            type: integer\n", "          items:\n            type: string\n"
    _edit(full_copy / WATERFALL, integer, string)
    before = _snapshot(full_copy)
    assert _update(full_copy, monkeypatch, accept=True) == 1
    err = capsys.readouterr().err
    readers = [
        n
        for n, text in enumerate((ROOT / "facade/flowdeck/_providers/databar.py").read_text().splitlines(), 1)
        if re.search(r"\.enrichments\b|[\"']enrichments[\"']", text)
    ]
    assert re.search(
        r"  run_waterfall \(POST /v1/waterfalls/\{waterfall_identifier\}/run\) `enrichments\.0`, used by .*: "
        r"flowdeck's request breaks the new spec \(833 is not of type 'string'\); "
        rf"read/written at facade/flowdeck/_providers/databar\.py:{readers[0]},",
        err,
    ), err
    assert _snapshot(full_copy) == before


@pytest.mark.slow
def test_new_optional_answer_field_recorded(
    full_copy: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An optional `eta` in the start answer: nothing breaks, so the page is recorded without ACCEPT_BREAKING."""
    _edit(full_copy / WATERFALL, TASK, TASK + "        eta:\n          type: integer\n")
    assert _update(full_copy, monkeypatch, accept=False) == 0
    out = capsys.readouterr().out
    assert "| info | `POST /v1/waterfalls/{waterfall_identifier}/run` | `responses.200.body.eta` |" in out
    assert "drove flowdeck against its mock and Prism on the new spec: databar passed" in out
    assert "accepted specs/raw/databar-run-waterfall.md" in out
    assert load_manifest(full_copy / "specs")["raw"]["databar-run-waterfall.md"]["obtained"] == "spec-update"
    model = full_copy / "generated/flowdeck_generated/databar/models/waterfall_task.py"
    assert "eta: int | Unset" in model.read_text()


@pytest.mark.slow
def test_example_answer_refused_on_prism(
    full_copy: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The page's example start answer says `queued`, a word flowdeck cannot map: Prism on the new spec shows it."""
    example = "                task_id: 123e4567-e89b-12d3-a456-426614174000\n                status: created\n"
    _edit(full_copy / WATERFALL, example, example.replace("created", "queued"))
    before = _snapshot(full_copy)
    assert _update(full_copy, monkeypatch, accept=False) == 1
    err = capsys.readouterr().err
    assert re.search(
        r"^  client\.start \(databar:waterfall/email_getter\) on Prism fails at "
        r"facade/flowdeck/_providers/databar\.py:\d+ \(_pending\): UnknownStatusError: .*'queued'",
        err,
        re.M,
    ), err
    assert _snapshot(full_copy) == before


def _spec(provider: str = "databar") -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((ROOT / f"specs/normalized/{provider}.yaml").read_text())
    return doc


def test_exchange_check_names_the_field() -> None:
    """A request and an answer are checked against the spec, each problem with its field."""
    spec = Spec(_spec())
    request = httpx.Request("POST", "http://127.0.0.1:1/v1/waterfalls/w/run", json={"params": {}, "enrichments": ["a"]})
    response = httpx.Response(200, json={"status": "processing"}, request=request)
    found = [(f["kind"], f["field"], f["message"]) for f in check_exchange(spec, request, response)]
    assert found == [
        ("request", "enrichments.0", "'a' is not of type 'integer'"),
        ("response", "task_id", "HTTP 200: 'task_id' is a required property"),
    ]
    gone = httpx.Request("GET", "http://127.0.0.1:1/v9/nothing")
    [finding] = check_exchange(spec, gone, httpx.Response(200, request=gone))
    assert finding["message"] == "flowdeck sends this request; the new spec has no such operation"


def test_report_names_what_each_change_breaks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The report says which public methods use a changed operation, or that flowdeck does not read it."""
    old = _spec()
    old["paths"]["/v1/tables"] = {"get": {"operationId": "list_tables", "responses": {"200": {"description": "ok"}}}}
    new = _spec()
    task = new["components"]["schemas"]["app__api__v1__waterfall__Task"]
    task["properties"]["job_id"] = task["properties"].pop("task_id")
    task["required"] = ["job_id" if r == "task_id" else r for r in task["required"]]
    (tmp_path / "old.yaml").write_text(yaml.safe_dump(old))
    (tmp_path / "new.yaml").write_text(yaml.safe_dump(new))
    args = ["--root", str(ROOT), "report", str(tmp_path / "old.yaml"), str(tmp_path / "new.yaml")]
    assert run(args) == 1
    out = capsys.readouterr().out
    unread = "| **breaking** | `GET /v1/tables` |   | operation removed | breaking in the spec, not read by flowdeck |"
    assert unread in out
    assert (
        "| **breaking** | `POST /v1/waterfalls/{waterfall_identifier}/run` | `responses.200.body.task_id` | "
        "response property removed (renamed to 'job_id'?) | breaks `client.databar.run_waterfall`, `client.start` |"
    ) in out
    assert run([*args, "--json"]) == 1
    by_op = {(c["operation"], c["path"]): c["flowdeck"] for c in json.loads(capsys.readouterr().out)}
    assert by_op[("GET /v1/tables", "")] == {
        "operations": [], "public": [], "impact": "breaking in the spec, not read by flowdeck"
    }  # fmt: skip
    waterfall = by_op[("POST /v1/waterfalls/{waterfall_identifier}/run", "responses.200.body.task_id")]
    assert waterfall["operations"] == ["DatabarAdapter.run_waterfall"]
    assert waterfall["public"] == ["client.databar.run_waterfall", "client.start"]


def test_impact_follows_calls_to_public_methods() -> None:
    """Each operation an adapter binds reaches the namespaces, the lifecycle and the CLI checks."""
    found = impact(ROOT, "gumloop")
    assert found is not None
    public = {op: set(use.public) for op, use in found.by_operation.items()}
    assert {"client.start", "client.gumloop.start_pipeline"} <= public["start_pipeline"]
    assert {"client.wait", "client.gumloop.get_run"} <= public["get_pipeline_run"]
    assert public["kill_pipeline"] == {"client.cancel"}
    databar = impact(ROOT, "databar")
    assert databar is not None
    assert set(databar.by_operation["get_user"].public) >= {"client.databar.me", "flowdeck doctor --verify"}
