"""The spec pipeline (issue 3): hashes, extraction, merge, overlays, validation, generation, drift, report."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest
import yaml
from specpipe.__main__ import main
from specpipe._build import build_all, build_provider, check_hashes, dump, load_manifest, record_hashes
from specpipe._errors import (
    DriftError,
    ExtractError,
    HashMismatchError,
    MergeConflictError,
    OverlayError,
    StaleOverlayError,
)
from specpipe._extract import extract_openapi
from specpipe._generate import check_drift
from specpipe._merge import merge_documents
from specpipe._overlay import apply_overlay
from specpipe._report import diff_surfaces, format_report

ROOT = Path(__file__).resolve().parents[1]


SPECS = ROOT / "specs"


def _overlay(*actions: dict[str, Any]) -> dict[str, Any]:
    return {"overlay": "1.0.0", "info": {"title": "t", "version": "1"}, "actions": list(actions)}


# --- raw pages ------------------------------------------------------------------------------------


def test_raw_hashes_match_manifest() -> None:
    check_hashes(SPECS)


def test_hash_check_names_the_changed_file(project_copy: Path) -> None:
    page = project_copy / "specs/raw/gumloop-start-pipeline.md"
    page.write_bytes(page.read_bytes() + b"\n")
    with pytest.raises(HashMismatchError, match=r"gumloop-start-pipeline\.md"):
        check_hashes(project_copy / "specs")
    assert record_hashes(project_copy / "specs") == ["gumloop-start-pipeline.md"]
    check_hashes(project_copy / "specs")
    assert "# Provenance" in (project_copy / "specs/manifest.yaml").read_text()  # comments survive


@pytest.mark.parametrize("name", [n for n, e in load_manifest(SPECS)["raw"].items() if e["extract"] != "none"])
def test_every_published_page_yields_one_openapi_document(name: str) -> None:
    doc = extract_openapi((SPECS / "raw" / name).read_text(encoding="utf-8"), name=name)
    assert doc["openapi"].startswith("3.")
    assert doc["paths"]


def test_extract_rejects_pages_without_or_with_two_documents() -> None:
    with pytest.raises(ExtractError, match="found 0"):
        extract_openapi("# prose only\n```bash\ncurl x\n```\n")
    block = '```json\n{"openapi": "3.1.0"}\n```\n'
    with pytest.raises(ExtractError, match="found 2"):
        extract_openapi(block + block)


def test_extract_handles_four_backtick_yaml_fences_containing_three() -> None:
    page = "````yaml X\nopenapi: 3.1.0\ninfo:\n  description: |\n    ```\n    inner\n    ```\n````\n"
    assert extract_openapi(page)["info"]["description"].startswith("```")


def test_merge_keeps_identical_components_and_rejects_conflicts() -> None:
    schema = {"type": "object"}
    a = {"paths": {"/a": {"get": {"operationId": "a"}}}, "components": {"schemas": {"E": schema}}}
    b = {"paths": {"/b": {"get": {"operationId": "b"}}}, "components": {"schemas": {"E": schema}}}
    merged = merge_documents([("a", a), ("b", b)])
    assert set(merged["paths"]) == {"/a", "/b"}
    b["components"]["schemas"]["E"] = {"type": "string"}
    with pytest.raises(MergeConflictError, match=r"components\.schemas\.E"):
        merge_documents([("a", a), ("b", b)])


# --- overlays ------------------------------------------------------------------------------------


def test_overlay_update_merges_objects_appends_arrays_replaces_scalars() -> None:
    doc: dict[str, Any] = {"info": {"title": "A", "x": {"k": 1}}, "tags": [{"name": "a"}]}
    out = apply_overlay(
        doc,
        _overlay(
            {"target": "$.info", "update": {"title": "B", "x": {"j": 2}}},
            {"target": "$.tags", "update": {"name": "b"}},
            {"target": "$.info.title", "update": "C"},
        ),
    )
    assert out == {"info": {"title": "C", "x": {"k": 1, "j": 2}}, "tags": [{"name": "a"}, {"name": "b"}]}
    assert doc["info"]["title"] == "A"  # the input is not mutated


def test_overlay_remove_with_rfc9535_filter_and_root_update() -> None:
    doc: dict[str, Any] = {
        "paths": {
            "/a": {"post": {"parameters": [{"name": "x-apikey", "in": "header"}, {"name": "id", "in": "path"}]}},
            "/b": {"get": {"parameters": [{"name": "x-apikey", "in": "header"}]}},
        },
        "security": [],
    }
    out = apply_overlay(
        doc,
        _overlay(
            {"target": "$.paths.*.*.parameters[?@.name == 'x-apikey']", "remove": True},
            {"target": "$.security", "remove": True},
            {"target": "$", "update": {"security": [{"k": []}]}},
        ),
    )
    assert out["paths"]["/a"]["post"]["parameters"] == [{"name": "id", "in": "path"}]
    assert out["paths"]["/b"]["get"]["parameters"] == []
    assert out["security"] == [{"k": []}]


def test_stale_overlay_target_is_an_error_listing_every_stale_action() -> None:
    overlay: dict[str, Any] = _overlay(
        {"target": "$.info", "update": {"title": "ok"}},
        {"target": "$.paths['/gone'].get", "update": {"operationId": "x"}, "description": "renamed op"},
        {"target": "$.components.schemas.Nope", "remove": True},
    )
    with pytest.raises(StaleOverlayError) as info:
        apply_overlay({"info": {}, "paths": {}}, overlay, name="demo.overlay.yaml")
    assert [i for i, _, _ in info.value.stale] == [1, 2]
    assert "demo.overlay.yaml" in str(info.value) and "renamed op" in str(info.value)


@pytest.mark.parametrize(
    ("overlay", "message"),
    [
        ({"overlay": "2.0.0", "info": {"title": "t", "version": "1"}, "actions": [{}]}, "1.0.x"),
        ({"overlay": "1.0.0", "info": {"title": "t"}, "actions": [{}]}, "info"),
        ({"overlay": "1.0.0", "info": {"title": "t", "version": "1"}, "actions": []}, "non-empty"),
        (_overlay({"target": "info", "update": {}}), "starting with"),
        (_overlay({"target": "$.a", "update": {}, "remove": True}), "exactly one"),
        (_overlay({"target": "$.a[?", "update": {}}), "bad JSONPath"),
    ],
)
def test_invalid_overlays_are_rejected(overlay: dict[str, Any], message: str) -> None:
    with pytest.raises(OverlayError, match=message):
        apply_overlay({"a": 1}, overlay)


def test_provider_spec_change_makes_the_overlay_fail_loudly(project_copy: Path) -> None:
    page = project_copy / "specs/raw/databar-run-flow.md"
    page.write_text(page.read_text().replace("/v1/flows/{flow_id}/run", "/v2/flows/{flow_id}/run"))
    with pytest.raises(StaleOverlayError, match=r"/v1/flows/\{flow_id\}/run"):
        build_provider(project_copy / "specs", "databar")


# --- normalized specs and generated clients -----------------------------------------------------


def test_committed_normalized_specs_are_what_the_pipeline_builds() -> None:
    for provider, doc in build_all(SPECS).items():
        assert (SPECS / "normalized" / f"{provider}.yaml").read_text(encoding="utf-8") == dump(doc), provider


def test_normalized_specs_fix_the_known_defects() -> None:
    built = build_all(SPECS)
    databar = built["databar"]
    flow = databar["paths"]["/v1/flows/{flow_id}/run"]["post"]
    assert flow["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/RunResponse"
    }
    assert all(p.get("name") != "x-apikey" for p in flow.get("parameters", []))
    assert databar["components"]["securitySchemes"]["apiKeyHeader"]["name"] == "x-apikey"
    assert "/v1/tasks/{task_id}" in databar["paths"]
    assert built["stackai"]["servers"][0]["url"] == "https://api.stack-ai.com"
    assert "bearerAuth" in built["stackai"]["components"]["securitySchemes"]
    assert built["gumloop"]["components"]["securitySchemes"]["userKey"]["name"] == "x-auth-key"
    assert "/get_pl_run" in built["gumloop"]["paths"]


EXPECTED_OPERATIONS = {
    "databar": [
        "flows.run_flow",
        "waterfall.run_waterfall",
        "tasks.get_task",
        "tasks.cancel_task",
        "flows.get_flow",
        "user.get_user",
    ],
    "stackai": ["run_flow.run_deployed_flow"],
    "gumloop": ["execution.start_pipeline", "execution.get_pipeline_run", "execution.kill_pipeline"],
    "superai": [
        "auth.get_anon_key",
        "auth.get_token",
        "flow_executions.create_flow_execution",
        "flow_executions.get_flow_execution",
        "flow_executions.list_flow_executions",
        "flow_executions.reexecute_flow_execution",
        "task_executions.list_task_executions",
    ],
}


@pytest.mark.parametrize(("provider", "op"), [(p, o) for p, ops in EXPECTED_OPERATIONS.items() for o in ops])
def test_generated_operation_exists_with_typed_success_response(provider: str, op: str) -> None:
    module = importlib.import_module(f"flowdeck_generated.{provider}.api.{op}")
    for fn in ("sync_detailed", "asyncio_detailed"):
        assert callable(getattr(module, fn))
    annotation = str(module.sync_detailed.__annotations__["return"])
    # A dropped response would leave Response[Any]; every operation must return typed models.
    assert "Any" not in annotation or (provider == "superai" and op.endswith("reexecute_flow_execution")), annotation


def test_every_operation_of_every_spec_was_generated() -> None:
    for provider, doc in build_all(SPECS).items():
        op_ids = {op["operationId"] for item in doc["paths"].values() for op in item.values() if isinstance(op, dict)}
        generated = {o.split(".")[1] for o in EXPECTED_OPERATIONS[provider]}
        assert op_ids == generated, provider


@pytest.mark.slow
def test_drift_check_passes_on_the_repo_and_fails_on_a_hand_edit(project_copy: Path) -> None:
    specs = project_copy / "specs"
    normalized = {p: specs / "normalized" / f"{p}.yaml" for p in load_manifest(specs)["providers"]}
    check_drift(specs, normalized, project_copy / "generated")
    edited = project_copy / "generated/flowdeck_generated/gumloop/models/pipeline_run.py"
    edited.write_text(edited.read_text() + "\n# a hand edit\n")
    with pytest.raises(DriftError, match=r"changed: gumloop/models/pipeline_run\.py"):
        check_drift(specs, normalized, project_copy / "generated")


# --- the API-surface report ----------------------------------------------------------------------


def test_report_flags_breaking_changes() -> None:
    old = yaml.safe_load((SPECS / "normalized" / "databar.yaml").read_text())
    new = yaml.safe_load((SPECS / "normalized" / "databar.yaml").read_text())
    del new["paths"]["/v1/tasks/{task_id}/cancel"]
    new["paths"]["/v1/tasks/{task_id}"]["get"]["parameters"].append(
        {"name": "fields", "in": "query", "required": True, "schema": {"type": "string"}}
    )
    del new["components"]["schemas"]["Task"]["properties"]["credits_spent"]
    new["components"]["schemas"]["TaskProgress"]["properties"]["eta"] = {"type": "integer"}
    report = format_report("databar", diff_surfaces(old, new))
    assert "BREAKING removed: operation POST /v1/tasks/{task_id}/cancel (cancel_task)" in report
    assert "BREAKING added: operation GET /v1/tasks/{task_id} parameter query:fields - required" in report
    assert "BREAKING removed: schema Task.credits_spent" in report
    assert "  added: schema TaskProgress.eta - optional" in report
    assert report.startswith("databar: 4 change(s), 3 breaking")
    assert diff_surfaces(old, old) == []


def test_spec_update_command_reports_a_changed_raw_page(project_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    page = project_copy / "specs/raw/databar-run-waterfall.md"
    text = page.read_text().replace(
        "        email_verifier:\n          anyOf:",
        "        country:\n          type: string\n        email_verifier:\n          anyOf:",
    )
    page.write_text(
        text.replace("      required:\n        - params\n", "      required:\n        - params\n        - country\n")
    )
    assert main(["--root", str(project_copy), "build"]) == 1  # the hash no longer matches
    assert "make spec-update" in capsys.readouterr().err
    record_hashes(project_copy / "specs")
    assert main(["--root", str(project_copy), "build"]) == 0
    out = capsys.readouterr().out
    assert "BREAKING added: schema app__api__v1__waterfall__Request.country - required" in out
    assert "stackai: API surface unchanged" in out
