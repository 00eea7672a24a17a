"""The spec pipeline: raw pages, overlays, build rules, generated clients, the change report, update, watch."""

from __future__ import annotations

import copy
import datetime
import doctest
import hashlib
import http.server
import importlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import filelock
import httpx
import pytest
import yaml
from specpipe import _generate
from specpipe._build import (
    build_all,
    build_provider,
    changed_pages,
    check_hashes,
    dump,
    load_manifest,
    validate_offline,
)
from specpipe._cli import run
from specpipe._diff import diff_specs
from specpipe._errors import (
    DanglingRefError,
    DriftError,
    ExtractError,
    HashMismatchError,
    MergeConflictError,
    OverlayCollisionError,
    OverlayError,
    SpecPipelineError,
    SpecRuleError,
    StaleOverlayError,
    TypeCheckError,
    ValidationFailedError,
)
from specpipe._extract import extract_openapi
from specpipe._generate import check_drift
from specpipe._manifest import record_hashes
from specpipe._merge import merge_documents
from specpipe._mutate import mutants
from specpipe._overlay import apply_overlay
from specpipe._update import type_check

ROOT = Path(__file__).resolve().parents[1]
SPECS = ROOT / "specs"


@pytest.fixture(autouse=True)
def _each_generator_input_generated_once(run_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """openapi-python-client takes seconds per spec and the suite regenerates the same unchanged specs
    in several tests. Its output is a function of the spec, the settings and the package name (the drift
    check relies on that), so each such input is generated for real once per run, on whichever worker
    asks first, and copied from there after; a changed spec is a new input and runs the generator."""
    real = _generate.generate_one
    store = run_dir / "generator-outputs"
    store.mkdir(exist_ok=True)

    def generate_one(spec: Path, config: Path, out: Path) -> None:
        key = hashlib.sha256(b"\0".join([spec.read_bytes(), config.read_bytes(), out.name.encode()])).hexdigest()
        done = store / key
        with filelock.FileLock(f"{done}.lock"):
            if not done.exists():
                real(spec, config, out)  # a failure raises here and leaves nothing behind
                shutil.copytree(out, f"{done}.part", ignore=shutil.ignore_patterns("__pycache__", ".ruff_cache"))
                Path(f"{done}.part").rename(done)
                return
        shutil.copytree(done, out)

    monkeypatch.setattr(_generate, "generate_one", generate_one)


def _overlay(*actions: dict[str, Any]) -> dict[str, Any]:
    return {"overlay": "1.0.0", "info": {"title": "t", "version": "1"}, "actions": list(actions)}


def _append_action(overlay: Path, action: str) -> None:
    """Add an action at the end of an overlay file (whatever else the file holds)."""
    overlay.write_text(overlay.read_text(encoding="utf-8").rstrip("\n") + "\n" + action, encoding="utf-8")


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


# --- raw pages and their provenance ---------------------------------------------------------------


def test_raw_hashes() -> None:
    """The raw pages hash to what the manifest records."""
    check_hashes(SPECS)


def test_hash_check_names_file(project_copy: Path) -> None:
    """A changed page fails the hash check by name; recording rewrites the manifest in place."""
    page = project_copy / "specs/raw/gumloop-start-pipeline.md"
    page.write_bytes(page.read_bytes() + b"\n")
    with pytest.raises(HashMismatchError, match=r"gumloop-start-pipeline\.md"):
        check_hashes(project_copy / "specs")
    assert record_hashes(project_copy / "specs") == ["gumloop-start-pipeline.md"]
    check_hashes(project_copy / "specs")
    text = (project_copy / "specs/manifest.yaml").read_text()
    assert "# Provenance" in text  # comments survive
    assert text.count("sha256:") == len(load_manifest(SPECS)["raw"])  # rewritten in place, not added


@pytest.mark.parametrize("module", sorted(p.stem for p in (SPECS / "specpipe").glob("_*.py")))
def test_specpipe_doctests(module: str) -> None:
    """Every specpipe module's docstring examples run."""
    failures, _ = doctest.testmod(importlib.import_module(f"specpipe.{module}"), optionflags=doctest.ELLIPSIS)
    assert failures == 0


def test_manifest_retrieval_dates() -> None:
    """The manifest gives a retrieval date only for pages a command fetched."""
    for name, entry in load_manifest(SPECS)["raw"].items():
        assert entry["obtained"] in ("vendored", "spec-update", "spec-watch"), name
        if entry["obtained"] == "vendored":
            # copied in by hand: the day it was fetched is not known
            assert entry["retrieved"] is None and datetime.date.fromisoformat(entry["vendored"]), name
        else:
            assert datetime.date.fromisoformat(entry["retrieved"]) <= datetime.date.today(), name


@pytest.mark.parametrize("name", [n for n, e in load_manifest(SPECS)["raw"].items() if e["extract"] != "none"])
def test_page_yields_one_document(name: str) -> None:
    """Every published page yields one OpenAPI document with paths."""
    doc = extract_openapi((SPECS / "raw" / name).read_text(encoding="utf-8"), name=name)
    assert doc["openapi"].startswith("3.")
    assert doc["paths"]


def test_extract_needs_one_document() -> None:
    """A page with no OpenAPI document, or with two, is refused."""
    with pytest.raises(ExtractError, match="found 0"):
        extract_openapi("# prose only\n```bash\ncurl x\n```\n")
    block = '```json\n{"openapi": "3.1.0"}\n```\n'
    with pytest.raises(ExtractError, match="found 2"):
        extract_openapi(block + block)


def test_extract_four_backtick_fence() -> None:
    """A four-backtick fence holding a three-backtick one extracts whole."""
    page = "````yaml X\nopenapi: 3.1.0\ninfo:\n  description: |\n    ```\n    inner\n    ```\n````\n"
    assert extract_openapi(page)["info"]["description"].startswith("```")


def test_merge_components() -> None:
    """Merging keeps identical components and refuses conflicting ones."""
    schema = {"type": "object"}
    a = {"paths": {"/a": {"get": {"operationId": "a"}}}, "components": {"schemas": {"E": schema}}}
    b = {"paths": {"/b": {"get": {"operationId": "b"}}}, "components": {"schemas": {"E": schema}}}
    merged = merge_documents([("a", a), ("b", b)])
    assert set(merged["paths"]) == {"/a", "/b"}
    b["components"]["schemas"]["E"] = {"type": "string"}
    with pytest.raises(MergeConflictError, match=r"components\.schemas\.E"):
        merge_documents([("a", a), ("b", b)])


# --- overlays ------------------------------------------------------------------------------------


def test_overlay_update() -> None:
    """An overlay update merges objects, appends to arrays and replaces scalars."""
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


def test_overlay_remove_filter() -> None:
    """An overlay removes by an RFC 9535 filter and updates the root."""
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
            {"target": "$", "update": {"security": [{"k": []}]}},
        ),
    )
    assert out["paths"]["/a"]["post"]["parameters"] == [{"name": "id", "in": "path"}]
    assert out["paths"]["/b"]["get"]["parameters"] == []
    assert out["security"] == [{"k": []}]  # an update appends to the published empty list


def test_stale_overlay_targets() -> None:
    """Targets matching nothing raise StaleOverlayError listing every stale action."""
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
        (_overlay({"target": "$", "update": {"info": {"x-flowdeck-added": True}}}), "marks operations only"),
    ],
)
def test_invalid_overlay(overlay: dict[str, Any], message: str) -> None:
    """A malformed overlay raises OverlayError saying what is wrong."""
    with pytest.raises(OverlayError, match=message):
        apply_overlay({"a": 1}, overlay)


def test_spec_change_stales_overlay(project_copy: Path) -> None:
    """A moved path on a provider's page makes the overlay fail, naming the path."""
    page = project_copy / "specs/raw/databar-run-flow.md"
    page.write_text(page.read_text().replace("/v1/flows/{flow_id}/run", "/v2/flows/{flow_id}/run"))
    with pytest.raises(StaleOverlayError, match=r"/v1/flows/\{flow_id\}/run"):
        build_provider(project_copy / "specs", "databar")


# --- operations an overlay adds ------------------------------------------------------------------


def _added_operations() -> list[tuple[str, str, str, str]]:
    """``(provider, first raw page, method, path)`` of every operation an overlay adds."""
    out = []
    for provider, doc in build_all(SPECS).items():
        entry = load_manifest(SPECS)["providers"][provider]
        for path, item in doc["paths"].items():
            for method, op in item.items():
                if op.get("x-flowdeck-added") and "sources" in entry:
                    out.append((provider, entry["sources"][0], method, path))
    return out


@pytest.mark.parametrize(("provider", "page", "method", "path"), _added_operations())
def test_published_op_names_action(project_copy: Path, provider: str, page: str, method: str, path: str) -> None:
    """An operation the provider now publishes names the overlay action to delete."""
    params = "".join(
        f"        - {{name: {name}, in: path, required: true, schema: {{type: string}}}}\n"
        for name in re.findall(r"\{([^}]+)\}", path)
    )
    published = (
        f"paths:\n  {path}:\n    {method}:\n      operationId: published_{method}\n"
        + (f"      parameters:\n{params}" if params else "")
        + "      responses:\n        '200':\n          description: ok\n"
    )
    _edit(project_copy / "specs/raw" / page, "paths:\n", published)
    with pytest.raises(OverlayCollisionError) as info:
        build_provider(project_copy / "specs", provider)
    message = str(info.value)
    assert f"specs/overlays/{provider}.overlay.yaml action #" in message
    assert f"{method.upper()} {path}" in message and "delete" in message
    assert len(message.splitlines()) == 1


def test_collision_renamed_params() -> None:
    """An added operation collides with a published one whose path parameters differ."""
    doc = {"paths": {"/v1/tasks/{id}": {"get": {"operationId": "theirs"}}}}
    added = {"/v1/tasks/{task_id}": {"get": {"operationId": "ours", "x-flowdeck-added": "docs page"}}}
    with pytest.raises(OverlayCollisionError, match=r"GET /v1/tasks/\{task_id\}.*GET /v1/tasks/\{id\}"):
        apply_overlay(doc, _overlay({"target": "$.paths", "update": added}), name="x.overlay.yaml")


def test_added_op_must_be_marked(project_copy: Path) -> None:
    """An operation an overlay adds without x-flowdeck-added fails the build."""
    _append_action(
        project_copy / "specs/overlays/gumloop.overlay.yaml",
        "  - target: $.paths\n    update:\n      /unmarked:\n        get:\n          operationId: unmarked\n"
        "          responses: {'200': {description: ok}}\n",
    )
    with pytest.raises(SpecRuleError, match=r"gumloop\.overlay\.yaml adds GET /unmarked without `x-flowdeck-added`"):
        build_provider(project_copy / "specs", "gumloop")


def test_marked_ops_are_the_added() -> None:
    """The marked operations are exactly those the providers do not publish."""
    for provider, doc in build_all(SPECS).items():
        entry = load_manifest(SPECS)["providers"][provider]
        if "authored" in entry:
            continue
        raw = merge_documents(
            [(n, extract_openapi((SPECS / "raw" / n).read_text(encoding="utf-8"))) for n in entry["sources"]]
        )
        for path, item in doc["paths"].items():
            for method, op in item.items():
                published = method in raw["paths"].get(path, {})
                assert bool(op.get("x-flowdeck-added")) != published, f"{provider} {method.upper()} {path}"


# --- references: local only, resolved, one-line errors, never the network ---------------------------


def _one_line_error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    assert run(argv) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


def test_dangling_ref_in_page(project_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A dangling $ref in a raw page is one line naming the file and pointer."""
    page = project_copy / "specs/raw/databar-run-flow.md"
    _edit(page, "$ref: '#/components/schemas/RunFlowIn'", "$ref: '#/components/schemas/RunFlowInput'")
    record_hashes(project_copy / "specs")
    err = _one_line_error(capsys, ["--root", str(project_copy), "build"])
    assert "specs/raw/databar-run-flow.md: $ref '#/components/schemas/RunFlowInput'" in err
    assert "/paths/~1v1~1flows~1{flow_id}~1run/post/requestBody/content/application~1json/schema" in err


def test_dangling_ref_by_overlay(project_copy: Path) -> None:
    """A dangling $ref left by an overlay names the overlay."""
    _append_action(
        project_copy / "specs/overlays/databar.overlay.yaml",
        "  - target: $.paths['/v1/flows/{flow_id}/run'].post\n"
        "    update:\n      requestBody:\n"
        "        content: {application/json: {schema: {$ref: '#/components/schemas/TaskState'}}}\n",
    )
    with pytest.raises(
        DanglingRefError,
        match=r"^specs/overlays/databar\.overlay\.yaml: \$ref '#/components/schemas/TaskState' at "
        r"/paths/~1v1~1flows~1\{flow_id\}~1run/post/requestBody/content/application~1json/schema does not resolve$",
    ):
        build_provider(project_copy / "specs", "databar")


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Record (and refuse) every attempt to resolve a name or open a connection."""
    attempts: list[Any] = []

    def refuse(*args: Any, **kwargs: Any) -> Any:
        attempts.append(args)
        raise OSError("network disabled by the test")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    return attempts


def test_remote_ref_refused(project_copy: Path, capsys: pytest.CaptureFixture[str], no_network: list[Any]) -> None:
    """A remote $ref is refused in one line without touching the network."""
    page = project_copy / "specs/raw/databar-run-flow.md"
    _edit(page, "$ref: '#/components/schemas/RunFlowIn'", "$ref: 'https://schemas.example.com/run.yaml#/RunFlowIn'")
    record_hashes(project_copy / "specs")
    err = _one_line_error(capsys, ["--root", str(project_copy), "build"])
    assert "'https://schemas.example.com/run.yaml#/RunFlowIn'" in err and "never fetches" in err
    assert no_network == []


@pytest.mark.parametrize("ref", ["https://schemas.example.com/s.yaml#/X", "file:///etc/hostname#/X", "other.yaml#/X"])
def test_validator_never_fetches(no_network: list[Any], ref: str) -> None:
    """The validator refuses remote, file and relative references without fetching."""
    # openapi-spec-validator hands unknown references to requests/urllib; ours refuses them all.
    doc = {
        "openapi": "3.1.0",
        "info": {"title": "t", "version": "1"},
        "paths": {"/a": {"get": {"responses": {"200": {"description": "ok", "content": {
            "application/json": {"schema": {"$ref": ref}}}}}}}},
    }  # fmt: skip
    with pytest.raises(ValidationFailedError) as info:
        validate_offline(doc)
    assert no_network == [] and len(str(info.value).splitlines()) == 1


def test_security_declared_schemes(project_copy: Path) -> None:
    """A security requirement naming an undeclared scheme fails the build."""
    _append_action(
        project_copy / "specs/overlays/gumloop.overlay.yaml",
        "  - target: $.paths['/start_pipeline'].post\n    update: {security: [{sessionCookie: []}]}\n",
    )
    with pytest.raises(
        SpecRuleError, match=r"undeclared scheme 'sessionCookie' at /paths/~1start_pipeline/post/security"
    ):
        build_provider(project_copy / "specs", "gumloop")


def test_ref_siblings_in_30(project_copy: Path) -> None:
    """A $ref with sibling keys in an OpenAPI 3.0 document fails the build."""
    # Gumloop's page is OpenAPI 3.0, where keys beside a $ref are ignored: a $ref merged onto a
    # published response would silently hide its description (and anything else beside it).
    _append_action(
        project_copy / "specs/overlays/gumloop.overlay.yaml",
        "  - target: $.paths['/start_pipeline'].post.responses\n"
        "    update: {'418': {description: teapot, $ref: '#/paths/~1start_pipeline/post/responses/200'}}\n",
    )
    with pytest.raises(
        SpecRuleError, match=r"\$ref with sibling keys \['description'\] at /paths/~1start_pipeline/post/responses/418"
    ):
        build_provider(project_copy / "specs", "gumloop")


# --- normalized specs and generated clients -----------------------------------------------------


def test_normalized_specs_current() -> None:
    """The committed normalized specs are what the pipeline builds."""
    for provider, doc in build_all(SPECS).items():
        assert (SPECS / "normalized" / f"{provider}.yaml").read_text(encoding="utf-8") == dump(doc), provider


def test_error_descriptions_distinct() -> None:
    """No two error statuses of an operation share a description of their own."""
    # A reader (and every doc tool) tells an operation's errors apart by the descriptions written
    # for it; Databar's waterfall page repeats 403's "Forbidden access" on 406. (A shared error
    # response from components, referenced as is, describes no status in particular.)
    for provider, doc in build_all(SPECS).items():
        for path, item in doc["paths"].items():
            for method, op in item.items():
                descriptions = {
                    code: r["description"]
                    for code, r in op["responses"].items()
                    if int(code) >= 400 and "description" in r
                }
                shared = {d for d in descriptions.values() if list(descriptions.values()).count(d) > 1}
                assert not shared, f"{provider} {method.upper()} {path}: {descriptions}"


EXPECTED_OPERATIONS = {
    "databar": [
        "flows.run_flow",
        "waterfall.run_waterfall",
        "tasks.get_task",
        "tasks.cancel_task",
        "flows.get_flow",
        "user.get_user",
        "flows.run_flow_bulk",
        "waterfall.run_waterfall_bulk",
        "enrichments.run_enrichment",
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
def test_generated_op_typed(provider: str, op: str) -> None:
    """Each generated operation has sync and async calls returning typed models."""
    module = importlib.import_module(f"flowdeck_generated.{provider}.api.{op}")
    for fn in ("sync_detailed", "asyncio_detailed"):
        assert callable(getattr(module, fn))
    annotation = str(module.sync_detailed.__annotations__["return"])
    # A dropped response would leave Response[Any]; every operation must return typed models.
    assert "Any" not in annotation or (provider == "superai" and op.endswith("reexecute_flow_execution")), annotation


def test_every_operation_generated() -> None:
    """Every operation of every spec has a generated client."""
    for provider, doc in build_all(SPECS).items():
        op_ids = {op["operationId"] for item in doc["paths"].values() for op in item.values() if isinstance(op, dict)}
        generated = {o.split(".")[1] for o in EXPECTED_OPERATIONS[provider]}
        assert op_ids == generated, provider


@pytest.mark.slow
def test_drift_check(project_copy: Path) -> None:
    """The drift check names a hand-edited generated file and nothing else."""
    specs = project_copy / "specs"
    normalized = {p: specs / "normalized" / f"{p}.yaml" for p in load_manifest(specs)["providers"]}
    edited = project_copy / "generated/flowdeck_generated/gumloop/models/pipeline_run.py"
    edited.write_text(edited.read_text() + "\n# a hand edit\n")
    with pytest.raises(DriftError) as caught:
        check_drift(specs, normalized, project_copy / "generated")
    assert str(caught.value).splitlines()[1:] == ["  changed: gumloop/models/pipeline_run.py"]


def test_mutate_enumerates_actions() -> None:
    """make mutate enumerates every overlay action of every overlay file."""
    found = mutants(SPECS)
    for path in (SPECS / "overlays").glob("*.yaml"):
        actions = yaml.safe_load(path.read_text())["actions"]
        assert [m.index for m in found if m.overlay == path.name] == list(range(len(actions))), path.name
    assert all(m.providers for m in found)


# --- the change report: a corpus of spec changes, each classified ----------------------------------

BASE: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "Demo", "version": "1"},
    "servers": [{"url": "https://api.example.com"}],
    "security": [{"key": []}],
    "paths": {
        "/runs": {
            "post": {
                "operationId": "start_run",
                "parameters": [{"name": "version", "in": "query", "schema": {"type": "integer"}}],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {
                        "type": "object",
                        "required": ["workflow"],
                        "properties": {
                            "workflow": {"type": "string"},
                            "params": {"type": "object", "required": ["email"], "properties": {
                                "email": {"type": "string"}, "name": {"type": "string"}}},
                            "mode": {"type": "string", "enum": ["fast", "full"]},
                        },
                    }}},
                },
                "responses": {
                    "200": {"description": "started", "content": {"application/json": {
                        "schema": {"$ref": "#/components/schemas/Run"}}}},
                    "429": {"description": "slow down"},
                },
            }
        },
        "/runs/{run_id}": {
            "get": {
                "operationId": "get_run",
                "parameters": [{"name": "run_id", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {"200": {"description": "the run", "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Run"}}}}},
            }
        },
    },
    "components": {
        "securitySchemes": {"key": {"type": "apiKey", "in": "header", "name": "x-apikey"}},
        "schemas": {
            "Run": {
                "type": "object",
                "title": "Run",
                "required": ["run_id", "status"],
                "properties": {
                    "run_id": {"type": "string"},
                    "status": {"type": "string", "enum": ["processing", "completed"]},
                    "score": {"type": "number"},
                    "note": {"type": "string"},
                },
            }
        },
    },
}  # fmt: skip

Edit = Callable[[dict[str, Any]], None]
START = "POST /runs"
GET = "GET /runs/{run_id}"


def _body(doc: dict[str, Any]) -> dict[str, Any]:
    schema: dict[str, Any] = doc["paths"]["/runs"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    return schema


def _run(doc: dict[str, Any]) -> dict[str, Any]:
    run_schema: dict[str, Any] = doc["components"]["schemas"]["Run"]
    return run_schema


def _reformat(doc: dict[str, Any]) -> None:
    # Every mapping in reverse order (what a YAML -> JSON round trip or a docs restyle does).
    reordered = json.loads(json.dumps(doc), object_pairs_hook=lambda pairs: dict(reversed(pairs)))
    doc.clear()
    doc.update(reordered)


def _inline_to_component(doc: dict[str, Any]) -> None:
    doc["components"]["schemas"]["StartRun"] = _body(doc)
    doc["paths"]["/runs"]["post"]["requestBody"]["content"]["application/json"]["schema"] = {
        "$ref": "#/components/schemas/StartRun"
    }


def _rename_inline_request_property(doc: dict[str, Any]) -> None:
    params = _body(doc)["properties"]["params"]
    params["properties"]["mail"] = params["properties"].pop("email")
    params["required"] = ["mail"]


def _rename_component_response_property(doc: dict[str, Any]) -> None:
    _run(doc)["properties"]["id"] = _run(doc)["properties"].pop("run_id")
    _run(doc)["required"] = ["id", "status"]


def _rename_response_enum_value(doc: dict[str, Any]) -> None:
    _run(doc)["properties"]["status"]["enum"] = ["processing", "done"]


def _rename_request_enum_value(doc: dict[str, Any]) -> None:
    _body(doc)["properties"]["mode"]["enum"] = ["fast", "complete"]


def _rename_component(doc: dict[str, Any]) -> None:
    schemas = doc["components"]["schemas"]
    schemas["RunState"] = schemas.pop("Run")
    text = json.dumps(doc).replace("#/components/schemas/Run", "#/components/schemas/RunState")
    doc.update(json.loads(text))


def _set(path: str, value: Any) -> Edit:
    """An edit setting (or with None deleting) the node at ``path``, parts separated by '|'."""

    def edit(doc: dict[str, Any]) -> None:
        *parents, last = path.split("|")
        node: Any = doc
        for part in parents:
            node = node[part]
        if value is None:
            del node[last]
        else:
            node[last] = value

    return edit


def _all(*edits: Edit) -> Edit:
    def edit(doc: dict[str, Any]) -> None:
        for e in edits:
            e(doc)

    return edit


BODY = "paths|/runs|post|requestBody|content|application/json|schema"
CORPUS: list[tuple[str, Edit, list[tuple[str, str, str, str]]]] = [
    ("no-op reformat (every key reordered)", _reformat, []),
    ("inline request schema moved to a component: same request", _inline_to_component, [
        ("info", "", "components.schemas.StartRun", "schema added"),
    ]),
    ("inline request property renamed", _rename_inline_request_property, [
        ("breaking", START, "request.body.params.mail", "new required request property"),
        ("warning", START, "request.body.params.email", "request property removed (renamed to 'mail'?)"),
    ]),
    ("component response property renamed", _rename_component_response_property, [
        ("breaking", GET, "responses.200.body.run_id", "response property removed (renamed to 'id'?)"),
        ("breaking", START, "responses.200.body.run_id", "response property removed (renamed to 'id'?)"),
        ("info", GET, "responses.200.body.id", "new required response property"),
        ("info", START, "responses.200.body.id", "new required response property"),
    ]),
    ("response enum value renamed", _rename_response_enum_value, [
        ("warning", GET, "responses.200.body.status", "enum value 'done' added"),
        ("warning", START, "responses.200.body.status", "enum value 'done' added"),
        ("info", GET, "responses.200.body.status", "enum value 'completed' removed"),
        ("info", START, "responses.200.body.status", "enum value 'completed' removed"),
    ]),
    ("request enum value renamed", _rename_request_enum_value, [
        ("breaking", START, "request.body.mode", "enum value 'full' removed"),
        ("info", START, "request.body.mode", "enum value 'complete' added"),
    ]),
    ("component schema renamed, references updated, same title", _rename_component, [
        ("info", "", "components.schemas.Run", "renamed to 'RunState' (same generated class Run)"),
    ]),
    ("component schema renamed with its title",
     _all(_rename_component, _set("components|schemas|RunState|title", None)), [
        ("warning", "", "components.schemas.Run", "renamed to 'RunState': generated class Run -> RunState"),
    ]),
    ("new required request property", _set(f"{BODY}|required", ["workflow", "mode"]), [
        ("breaking", START, "request.body.mode", "now required"),
    ]),
    ("new required response property", _all(
        _set("components|schemas|Run|properties|eta", {"type": "integer"}),
        _set("components|schemas|Run|required", ["run_id", "status", "eta"])), [
        ("info", GET, "responses.200.body.eta", "new required response property"),
        ("info", START, "responses.200.body.eta", "new required response property"),
    ]),
    ("response field removed", _set("components|schemas|Run|properties|note", None), [
        ("breaking", GET, "responses.200.body.note", "response property removed"),
        ("breaking", START, "responses.200.body.note", "response property removed"),
    ]),
    ("response field became optional", _set("components|schemas|Run|required", ["run_id"]), [
        ("breaking", GET, "responses.200.body.status", "now optional (may be missing)"),
        ("breaking", START, "responses.200.body.status", "now optional (may be missing)"),
    ]),
    ("request field became optional", _set(f"{BODY}|required", []), [
        ("info", START, "request.body.workflow", "now optional"),
    ]),
    ("query parameter integer -> string", lambda d: d["paths"]["/runs"]["post"]["parameters"][0]["schema"].update(
        type="string"), [
        ("breaking", START, "parameters.query.version", "type integer -> string (changed)"),
    ]),
    ("query parameter integer -> number (widened)", lambda d: d["paths"]["/runs"]["post"]["parameters"][0][
        "schema"].update(type="number"), [
        ("info", START, "parameters.query.version", "type integer -> number (widened)"),
    ]),
    ("response number -> integer (narrowed)", lambda d: _run(d)["properties"]["score"].update(type="integer"), [
        ("info", GET, "responses.200.body.score", "type number -> integer (narrowed)"),
        ("info", START, "responses.200.body.score", "type number -> integer (narrowed)"),
    ]),
    ("response string -> integer", lambda d: _run(d)["properties"]["note"].update(type="integer"), [
        ("breaking", GET, "responses.200.body.note", "type string -> integer (changed)"),
        ("breaking", START, "responses.200.body.note", "type string -> integer (changed)"),
    ]),
    ("response field may now be null", lambda d: _run(d)["properties"]["note"].update(type=["string", "null"]), [
        ("breaking", GET, "responses.200.body.note", "may now be null"),
        ("breaking", START, "responses.200.body.note", "may now be null"),
    ]),
    ("operation removed", lambda d: d["paths"].pop("/runs/{run_id}"), [
        ("breaking", GET, "", "operation removed"),
    ]),
    ("operation added", lambda d: d["paths"]["/runs/{run_id}"].update(delete={
        "operationId": "cancel_run", "responses": {"204": {"description": "cancelled"}}}), [
        ("info", "DELETE /runs/{run_id}", "", "operation added"),
    ]),
    ("operationId renamed", lambda d: d["paths"]["/runs/{run_id}"]["get"].update(operationId="fetch_run"), [
        ("breaking", GET, "operationId", "'get_run' -> 'fetch_run' (generated function renamed)"),
    ]),
    ("path parameter renamed (same endpoint)", lambda d: d["paths"].update({"/runs/{id}": _renamed_param(d)}), [
        ("info", "GET /runs/{id}", "parameters.path.id", "path parameter renamed 'run_id' -> 'id'"),
    ]),
    ("query parameter became required", lambda d: d["paths"]["/runs"]["post"]["parameters"][0].update(
        required=True), [
        ("breaking", START, "parameters.query.version", "now required"),
    ]),
    ("new optional query parameter", lambda d: d["paths"]["/runs"]["post"]["parameters"].append(
        {"name": "verbose", "in": "query", "schema": {"type": "boolean"}}), [
        ("info", START, "parameters.query.verbose", "new optional parameter"),
    ]),
    ("success response removed, error response added", lambda d: d["paths"]["/runs/{run_id}"]["get"].update(
        responses={"202": {"description": "accepted"}, "404": {"description": "unknown"}}), [
        ("breaking", GET, "responses.200", "success response removed"),
        ("info", GET, "responses.202", "response added"),
        ("info", GET, "responses.404", "response added"),
    ]),
    ("error response removed", lambda d: d["paths"]["/runs"]["post"]["responses"].pop("429"), [
        ("info", START, "responses.429", "error response removed"),
    ]),
    ("security scheme header renamed", _set("components|securitySchemes|key|name", "x-api-key"), [
        ("breaking", "", "components.securitySchemes.key.name",
         "'x-apikey' -> 'x-api-key': existing clients would get 401"),
    ]),
    ("security scheme type changed", _set("components|securitySchemes|key", {"type": "http", "scheme": "bearer"}), [
        ("breaking", "", "components.securitySchemes.key.in", "'header' -> (none): existing clients would get 401"),
        ("breaking", "", "components.securitySchemes.key.name", "'x-apikey' -> (none): existing clients would get 401"),
        ("breaking", "", "components.securitySchemes.key.scheme", "(none) -> 'bearer': existing clients would get 401"),
        ("breaking", "", "components.securitySchemes.key.type", "'apiKey' -> 'http': existing clients would get 401"),
    ]),
    ("security scheme renamed (same scheme)", lambda d: _rename_scheme(d), [
        ("info", "", "components.securitySchemes.key", "renamed to 'apiKey' (same scheme)"),
    ]),
    ("an operation now needs a second credential", _all(
        _set("components|securitySchemes|user", {"type": "apiKey", "in": "header", "name": "x-user"}),
        lambda d: d["paths"]["/runs"]["post"].update(security=[{"key": [], "user": []}])), [
        ("breaking", START, "security", "now also requires user"),
        ("info", "", "components.securitySchemes.user", "security scheme added"),
    ]),
    ("authentication dropped", _set("security", []), [
        ("info", GET, "security", "no authentication now accepted"),
        ("info", START, "security", "no authentication now accepted"),
        ("breaking", GET, "security", "key no longer accepted"),
        ("breaking", START, "security", "key no longer accepted"),
    ]),
    ("default server moved", _set("servers", [{"url": "https://api2.example.com"}]), [
        ("warning", "", "servers", "default server 'https://api.example.com' -> 'https://api2.example.com'"),
    ]),
]  # fmt: skip


def _renamed_param(doc: dict[str, Any]) -> dict[str, Any]:
    item = doc["paths"].pop("/runs/{run_id}")
    item["get"]["parameters"][0]["name"] = "id"
    return dict(item)


def _rename_scheme(doc: dict[str, Any]) -> None:
    doc["components"]["securitySchemes"]["apiKey"] = doc["components"]["securitySchemes"].pop("key")
    doc["security"] = [{"apiKey": []}]


def _classify(edit: Edit) -> list[tuple[str, str, str, str]]:
    new = copy.deepcopy(BASE)
    edit(new)
    return sorted((c.level, c.operation, c.path, c.message) for c in diff_specs(BASE, new))


@pytest.mark.parametrize(("case", "edit", "expected"), CORPUS, ids=[c[0] for c in CORPUS])
def test_report_classifies(case: str, edit: Edit, expected: list[tuple[str, str, str, str]]) -> None:
    """The change report classifies each change of the corpus as expected."""
    assert _classify(edit) == sorted(expected)


def test_recursive_schemas() -> None:
    """A recursive schema is compared once, without recursing forever."""
    node = {"type": "object", "properties": {"child": {"$ref": "#/components/schemas/Node"}}}
    old: dict[str, Any] = {
        "components": {"schemas": {"Node": node}},
        "paths": {
            "/n": {
                "get": {
                    "responses": {
                        "200": {
                            "description": "x",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Node"}}},
                        }
                    }
                }
            }
        },
    }
    new = copy.deepcopy(old)
    new["components"]["schemas"]["Node"]["properties"]["name"] = {"type": "string"}
    changes = diff_specs(old, new)
    assert [(c.level, c.path) for c in changes] == [("info", "responses.200.body.name")]


def test_report_json_exit_1(tmp_path: Path) -> None:
    """specpipe report --json prints the rows and exits 1 on a breaking change."""
    old, new, same = tmp_path / "old.yaml", tmp_path / "new.json", tmp_path / "same.json"
    old.write_text(yaml.safe_dump(BASE))
    changed = copy.deepcopy(BASE)
    _rename_inline_request_property(changed)
    new.write_text(json.dumps(changed))
    same.write_text(json.dumps(BASE, indent=4))
    specpipe = str(Path(sys.executable).parent / "specpipe")
    proc = subprocess.run([specpipe, "report", str(old), str(new), "--json"], capture_output=True, text=True)  # noqa: S603
    assert proc.returncode == 1, proc.stderr
    rows = json.loads(proc.stdout)
    assert {tuple(sorted(r)) for r in rows} == {("level", "message", "operation", "path")}
    assert {"level": "breaking", "operation": START, "path": "request.body.params.mail",
            "message": "new required request property"} in rows  # fmt: skip
    proc = subprocess.run([specpipe, "report", str(old), str(same)], capture_output=True, text=True)  # noqa: S603
    assert proc.returncode == 0 and "no API changes" in proc.stdout


def test_report_reads_pages(capsys: pytest.CaptureFixture[str]) -> None:
    """specpipe report reads a vendored Markdown page as a spec."""
    page = str(SPECS / "raw" / "gumloop-start-pipeline.md")
    assert run(["report", page, str(SPECS / "normalized" / "gumloop.yaml")]) == 1
    out = capsys.readouterr().out
    assert "| **breaking** | `POST /start_pipeline` | `security` | now also requires userKey |" in out


def test_missing_dependencies() -> None:
    """specpipe without its dependencies says so in one line, naming the extra."""
    code = "import sys; sys.modules['yaml'] = None; from specpipe.__main__ import main; sys.exit(main(['build']))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)  # noqa: S603
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1 and "pip install 'flowdeck[dev]'" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr


# --- make spec-update -----------------------------------------------------------------------------


@pytest.fixture
def full_copy(tmp_path: Path) -> Path:
    """specs/ and generated/ plus what the type check needs: the facade, the config, a warm mypy cache."""
    return copy_project(tmp_path)


def copy_project(tmp_path: Path) -> Path:
    """What `specpipe update` needs of the project, in ``tmp_path`` (with a warm mypy cache)."""
    for name in ("specs", "generated", "facade"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    if (ROOT / ".mypy_cache").exists():
        shutil.copytree(ROOT / ".mypy_cache", tmp_path / ".mypy_cache")
    return tmp_path


def _snapshot(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for top in ("specs/manifest.yaml", "specs/normalized", "generated")
        for p in ([root / top] if (root / top).is_file() else sorted((root / top).rglob("*")))
        if p.is_file() and "__pycache__" not in p.parts
    }


WATERFALL = "specs/raw/databar-run-waterfall.md"


def _add_required_country(root: Path) -> None:
    page = root / WATERFALL
    _edit(
        page,
        "        email_verifier:\n          anyOf:",
        "        country:\n          type: string\n        email_verifier:\n          anyOf:",
    )
    _edit(page, "      required:\n        - params\n", "      required:\n        - params\n        - country\n")


def test_update_unchanged(full_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An update with nothing changed touches nothing."""
    before = _snapshot(full_copy)
    assert run(["--root", str(full_copy), "update"]) == 0
    assert "nothing to update" in capsys.readouterr().out and _snapshot(full_copy) == before


def test_update_refuses_breaking(
    full_copy: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An update refuses a breaking change, reports it and touches nothing."""
    monkeypatch.delenv("ACCEPT_BREAKING", raising=False)
    _add_required_country(full_copy)
    before = _snapshot(full_copy)
    assert run(["--root", str(full_copy), "--date", "2026-12-01", "update"]) == 1
    captured = capsys.readouterr()
    assert "ACCEPT_BREAKING=1" in captured.err and "Nothing was accepted" in captured.err
    line = "| **breaking** | `POST /v1/waterfalls/{waterfall_identifier}/run` | `request.body.country` | new required request property |"  # noqa: E501
    assert line in captured.out
    assert line in (full_copy / "specs/reports/2026-12-01-databar.md").read_text()
    assert _snapshot(full_copy) == before
    assert changed_pages(full_copy / "specs") == ["databar-run-waterfall.md"]


def test_failed_build_keeps_manifest(full_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A failed build during an update leaves the manifest untouched."""
    _edit(
        full_copy / WATERFALL,
        "/v1/waterfalls/{waterfall_identifier}/run:",
        "/v2/waterfalls/{waterfall_identifier}/run:",
    )
    before = _snapshot(full_copy)
    assert run(["--root", str(full_copy), "update", "--accept-breaking"]) == 1
    assert "matched nothing" in capsys.readouterr().err
    assert _snapshot(full_copy) == before


@pytest.mark.slow
def test_update_needs_type_check(
    full_copy: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An update is recorded only once the facade type-checks against the new clients."""
    monkeypatch.delenv("ACCEPT_BREAKING", raising=False)
    # 1. Renaming the flow body's `inputs` is not breaking on the wire (a removed request property is
    # a warning), but the facade builds RunFlowIn(inputs=...): mypy must stop the update.
    flow_page = full_copy / "specs/raw/databar-run-flow.md"
    published = flow_page.read_bytes()
    _edit(flow_page, "      properties:\n        inputs:\n", "      properties:\n        values:\n")
    before = _snapshot(full_copy)
    assert run(["--root", str(full_copy), "--date", "2026-12-01", "update"]) == 1
    captured = capsys.readouterr()
    assert "request property removed (renamed to 'values'?)" in captured.out
    assert "does not type-check against the new clients" in captured.err
    assert 'Unexpected keyword argument "inputs" for "RunFlowIn"' in captured.err
    assert _snapshot(full_copy) == before
    kept = next((full_copy / ".specpipe").glob("update-*/generated/flowdeck_generated/databar/models/run_flow_in.py"))
    assert "values" in kept.read_text()  # the new clients, kept to fix the facade against

    # 2. Breaking for a client sending more than 20 enrichments; flowdeck sends what it is given, it
    # type-checks and its gate run passes, so with ACCEPT_BREAKING=1 the page is accepted, and only then recorded.
    flow_page.write_bytes(published)
    _edit(full_copy / WATERFALL, "          minItems: 1\n", "          minItems: 1\n          maxItems: 20\n")
    monkeypatch.setenv("ACCEPT_BREAKING", "1")  # what `make spec-update ACCEPT_BREAKING=1` passes on
    assert run(["--root", str(full_copy), "--date", "2026-12-01", "update"]) == 0
    out = capsys.readouterr().out
    assert "`request.body.enrichments` | maxItems (none) -> 20 | breaks `client.databar.run_waterfall`" in out
    entry = load_manifest(full_copy / "specs")["raw"]["databar-run-waterfall.md"]
    assert (entry["retrieved"], entry["obtained"]) == ("2026-12-01", "spec-update")
    text = (full_copy / "specs/manifest.yaml").read_text()
    assert [text.count(f"{key}:") for key in ("sha256", "retrieved", "obtained")] == [5, 5, 5]
    assert "# Provenance" in text
    check_hashes(full_copy / "specs")
    assert "maxItems: 20" in (full_copy / "specs/normalized/databar.yaml").read_text()
    assert (full_copy / "specs/reports/2026-12-01-databar.md").exists()


def test_adapters_type_checked(full_copy: Path) -> None:
    """A changed generated signature fails the type check at the adapter line."""
    for op in ("run_flow", "get_flow"):
        path = full_copy / f"generated/flowdeck_generated/databar/api/flows/{op}.py"
        _edit(path, "def _get_kwargs(\n    flow_id: str,", "def _get_kwargs(\n    flow_id: int,")
    path = full_copy / "generated/flowdeck_generated/gumloop/api/execution/get_pipeline_run.py"
    _edit(path, "    *,\n    run_id: str,", "    *,\n    pl_run_id: str,")
    with pytest.raises(TypeCheckError) as caught:
        type_check(full_copy, full_copy / "generated")
    errors = [line for line in str(caught.value).splitlines() if ": error:" in line]
    databar = [e for e in errors if e.startswith("facade/flowdeck/_providers/databar.py")]
    assert len(databar) == 2 and all('has incompatible type "str"; expected "int"' in e for e in databar), errors
    assert any(
        e.startswith("facade/flowdeck/_providers/gumloop.py") and 'Unexpected keyword argument "run_id"' in e
        for e in errors
    ), errors


def test_call_bound_elsewhere_refused() -> None:
    """The type check covers the function bind() was given, so that must be the one the call runs."""
    import time

    from flowdeck._providers import get
    from flowdeck._providers._base import bind
    from flowdeck._providers.databar import DatabarAdapter
    from flowdeck_generated.databar.api.flows import get_flow, run_flow

    adapter = DatabarAdapter(get("databar").configure({"DATABAR_API_KEY": "k"}), clock=time.monotonic)
    with pytest.raises(TypeError, match="databar run_flow: arguments were bound to another operation"):
        adapter.call("run_flow", run_flow, dict, bind(get_flow._get_kwargs, "f-1"))
    call = adapter.call("get_flow", get_flow, dict, bind(get_flow._get_kwargs, "f-1"))
    assert call.request_kwargs(httpx.Timeout(5.0))["url"] == "https://api.databar.ai/v1/flows/f-1"


# --- make spec-watch ------------------------------------------------------------------------------


class _Pages(http.server.BaseHTTPRequestHandler):
    pages: ClassVar[dict[str, bytes]] = {}

    def do_GET(self) -> None:
        body = self.pages.get(self.path)
        self.send_response(200 if body is not None else 404)
        self.send_header("Content-Length", str(len(body or b"")))
        self.end_headers()
        self.wfile.write(body or b"")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def docs_site() -> Iterator[tuple[str, dict[str, bytes]]]:
    """A loopback server mirroring each page's source_url at /<host><path>, serving the vendored bytes."""
    pages: dict[str, bytes] = {}
    for name, entry in load_manifest(SPECS)["raw"].items():
        url = entry["source_url"].split("://", 1)[1]
        pages["/" + url] = (SPECS / "raw" / name).read_bytes()
    handler = type("Pages", (_Pages,), {"pages": pages})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", pages
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _served(pages: dict[str, bytes], host_path: str) -> str:
    return next(k for k in pages if k.endswith(host_path))


def _watch(root: Path, base: str, out: Path, *extra: str) -> int:
    return run(["--root", str(root), "--date", "2026-12-01", "watch", "--mirror", base, "--out", str(out), *extra])


@pytest.mark.slow
def test_watch_unchanged_exit_0(
    project_copy: Path, docs_site: tuple[str, dict[str, bytes]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """spec-watch exits 0 for unchanged pages, even reformatted ones, writing no report."""
    base, pages = docs_site
    key = _served(pages, "/run-flow.md")
    text = pages[key].decode()
    block = text[text.index("{") : text.rindex("}") + 1]
    pages[key] = text.replace(block, json.dumps(json.loads(block), indent=2)).encode()  # same spec, new layout
    assert _watch(project_copy, base, tmp_path / "reports") == 0
    assert "no provider spec changed" in capsys.readouterr().out
    assert not (tmp_path / "reports").exists()


@pytest.mark.slow
def test_watch_compatible_exit_3(
    project_copy: Path, docs_site: tuple[str, dict[str, bytes]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """spec-watch reports a compatible change and exits 3, writing no page."""
    base, pages = docs_site
    key = _served(pages, "/start-automation.md")
    pages[key] = pages[key].replace(
        b"                  url:\n",
        b"                  eta:\n                    type: integer\n                  url:\n",
    )
    assert _watch(project_copy, base, tmp_path / "reports") == 3
    report = (tmp_path / "reports" / "2026-12-01-gumloop.md").read_text()
    assert "| info | `POST /start_pipeline` | `responses.200.body.eta` | new optional response property |" in report
    assert changed_pages(project_copy / "specs") == []  # watch never writes the page unless asked


@pytest.mark.slow
def test_watch_breaking_exit_1(
    project_copy: Path, docs_site: tuple[str, dict[str, bytes]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """spec-watch reports a breaking change and exits 1."""
    base, pages = docs_site
    key = _served(pages, "/flows-run.md")
    pages[key] = pages[key].replace(
        b"      type: object\n      title: RunFlowIn",
        b"      type: object\n      required: [inputs, region]\n      title: RunFlowIn",
    )
    pages[key] = pages[key].replace(
        b"    RunFlowIn:\n      properties:\n",
        b"    RunFlowIn:\n      properties:\n        region:\n          type: string\n",
    )
    assert _watch(project_copy, base, tmp_path / "reports") == 1
    out = capsys.readouterr().out
    assert "`request.body.region` | new required request property" in out
    assert "| **breaking** |" in (tmp_path / "reports" / "2026-12-01-databar.md").read_text()


@pytest.mark.slow
def test_watch_stale_overlay(
    project_copy: Path, docs_site: tuple[str, dict[str, bytes]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A page the overlays do not fit is a breaking change to spec-watch."""
    base, pages = docs_site
    key = _served(pages, "/flows-run.md")
    pages[key] = pages[key].replace(b"/v1/flows/{flow_id}/run", b"/v2/flows/{flow_id}/run")
    assert _watch(project_copy, base, tmp_path / "reports") == 1
    report = (tmp_path / "reports" / "2026-12-01-databar.md").read_text()
    assert "the new page no longer builds" in report and "| **breaking** | `POST /v1/flows/{flow_id}/run` |" in report


@pytest.mark.slow
def test_watch_unreachable_exit_2(
    project_copy: Path, docs_site: tuple[str, dict[str, bytes]], capsys: pytest.CaptureFixture[str]
) -> None:
    """Each page spec-watch cannot fetch is one line, then a count; exit 2."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"  # bound, not listening: connection refused
        assert run(["--root", str(project_copy), "watch", "--mirror", dead]) == 2
    captured = capsys.readouterr()
    *failed, hint = captured.err.strip().splitlines()
    pages_listed = list(load_manifest(project_copy / "specs")["raw"])
    assert [line.split(":")[1].strip() for line in failed] == [f"specs/raw/{n}" for n in pages_listed]
    assert all(line.startswith("error: specs/raw/") and "cannot fetch" in line for line in failed), failed
    assert hint.startswith(f"{len(pages_listed)} of {len(pages_listed)} page(s) could not be fetched")
    assert "--mirror" in hint and "--source" in hint and not captured.out
    base, pages = docs_site
    del pages[_served(pages, "/waterfalls-run.md")]
    assert run(["--root", str(project_copy), "watch", "--mirror", base]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0].startswith("error: specs/raw/databar-run-waterfall.md: GET ") and err[0].endswith("HTTP 404")
    assert len(err) == 2 and err[1].startswith("1 of 5 page(s) could not be fetched")


@pytest.mark.slow
def test_watch_save(
    project_copy: Path,
    docs_site: tuple[str, dict[str, bytes]],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """spec-watch --save accepts the fetched page through the update, recording its retrieval date."""
    # The type check is recorded, not run: test_update_needs_type_check runs mypy on new clients.
    full_copy = project_copy
    checked: list[str] = []

    def type_check(root: Path, generated_root: Path) -> None:
        assert root == full_copy
        checked.append(
            (generated_root / "flowdeck_generated/gumloop/models/start_pipeline_response_200.py").read_text()
        )

    monkeypatch.setattr("specpipe._update.type_check", type_check)
    base, pages = docs_site
    key = _served(pages, "/start-automation.md")
    pages[key] = pages[key].replace(
        b"                  url:\n",
        b"                  eta:\n                    type: integer\n                  url:\n",
    )
    assert run(["--root", str(full_copy), "--date", "2026-12-01", "watch", "--mirror", base, "--save"]) == 0
    [new_clients] = checked  # the new clients (with the page's new field) were type-checked before acceptance
    assert "eta" in new_clients
    entry = load_manifest(full_copy / "specs")["raw"]["gumloop-start-pipeline.md"]
    assert (entry["obtained"], entry["retrieved"]) == ("spec-watch", "2026-12-01")
    assert (full_copy / "specs/raw/gumloop-start-pipeline.md").read_bytes() == pages[key]
    check_hashes(full_copy / "specs")


@pytest.mark.parametrize(("workflow", "target"), [("spec-watch.yml", "spec-watch"), ("contract.yml", "contract")])
def test_ci_runs_make_targets(workflow: str, target: str) -> None:
    """The CI workflows run make targets that exist."""
    doc = yaml.safe_load((ROOT / ".github" / "workflows" / workflow).read_text())
    steps = [step for job in doc["jobs"].values() for step in job["steps"]]
    assert f"make {target}" in [step.get("run") for step in steps]
    proc = subprocess.run(["make", "-n", target], cwd=ROOT, capture_output=True, text=True)  # noqa: S603, S607
    assert proc.returncode == 0, proc.stderr
    if target == "spec-watch":
        assert "schedule" in doc[True]  # YAML 1.1 reads the `on:` key as True
        upload = next(step for step in steps if "upload-artifact" in step.get("uses", ""))
        assert upload["with"]["path"] == "specs/reports/" and upload["if"] == "always()"


def test_error_not_traceback(project_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A spec pipeline error is one line, never a traceback."""
    (project_copy / "specs/overlays/stackai.overlay.yaml").write_text("overlay: [unclosed\n")
    assert run(["--root", str(project_copy), "build"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err and "stackai.overlay.yaml" in err
    with pytest.raises(SpecPipelineError):
        build_all(project_copy / "specs")


# --- ordinary mistakes: one line, exit 2 (exit 1 is kept for what the pipeline finds) ---------------

SPECPIPE = str(Path(sys.executable).parent / "specpipe")


def _usage_error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    assert run(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("error: ") and "Traceback" not in err, err
    return err


def test_outside_project_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """specpipe outside the project folder is one line and exit 2."""
    hint = "(run it from the project folder or pass --root)"
    assert _usage_error(capsys, ["--root", str(tmp_path / "nope"), "check"]) == (
        f"error: no specs/manifest.yaml under {tmp_path / 'nope'} {hint}"
    )
    proc = subprocess.run([SPECPIPE, "build"], capture_output=True, text=True, cwd=tmp_path)  # noqa: S603
    assert (proc.returncode, proc.stdout) == (2, "")
    assert proc.stderr == f"error: no specs/manifest.yaml under {tmp_path} {hint}\n"


@pytest.mark.parametrize("command", ["check", "update", "build"])
def test_deleted_page_exit_2(project_copy: Path, capsys: pytest.CaptureFixture[str], command: str) -> None:
    """A raw page the manifest lists but is missing is named in one line; exit 2."""
    (project_copy / "specs/raw/databar-run-flow.md").unlink()
    err = _usage_error(capsys, ["--root", str(project_copy), command])
    assert "specs/manifest.yaml lists specs/raw/databar-run-flow.md but the file is missing" in err


def test_help_shows_no_rest_markup() -> None:
    """`specpipe --help` reads as plain text: no `::` line, no double backquotes."""
    proc = subprocess.run([SPECPIPE, "--help"], capture_output=True, text=True)  # noqa: S603
    assert proc.returncode == 0 and "specpipe build" in proc.stdout, proc.stderr
    assert "::" not in proc.stdout.splitlines() and "``" not in proc.stdout, proc.stdout


def test_a_closed_stdout_ends_quietly(tmp_path: Path) -> None:
    """`specpipe report A B | head -1`: the reader is gone before the report is written."""
    read, write = os.pipe()
    os.close(read)
    try:
        proc = subprocess.run(  # noqa: S603
            [SPECPIPE, "report", str(SPECS / "normalized/databar.yaml"), str(SPECS / "normalized/gumloop.yaml")],
            stdout=write, stderr=subprocess.PIPE, text=True, check=False,
        )  # fmt: skip
    finally:
        os.close(write)
    assert (proc.returncode, proc.stderr) == (141, "")


@pytest.mark.parametrize(
    ("date", "why"),
    [
        ("yesterday", "'yesterday' is not a date as YYYY-MM-DD"),
        ("x/../../evil", "'x/../../evil' is not a date as YYYY-MM-DD"),
        ("2026-02-30", "'2026-02-30' is not a calendar date"),
        ("20261201", "'20261201' is not a date as YYYY-MM-DD"),
    ],
)
def test_date_is_iso_calendar_date(project_copy: Path, capsys: pytest.CaptureFixture[str], date: str, why: str) -> None:
    """--date must be a calendar date as YYYY-MM-DD; otherwise exit 2, nothing written."""
    _edit(project_copy / "specs/raw/gumloop-start-pipeline.md", "                  url:\n",
          "                  eta:\n                    type: integer\n                  url:\n")  # fmt: skip
    before = (project_copy / "specs/manifest.yaml").read_bytes()
    with pytest.raises(SystemExit) as exited:
        run(["--root", str(project_copy), "--date", date, "update"])
    assert exited.value.code == 2
    assert f"error: argument --date: {why}" in capsys.readouterr().err
    assert (project_copy / "specs/manifest.yaml").read_bytes() == before
    assert not (project_copy / "specs/reports").exists()


def test_report_missing_path_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """specpipe report on a missing path or a folder is exit 2, not breaking."""
    spec = str(SPECS / "normalized/databar.yaml")
    missing = tmp_path / "nope.yaml"
    assert _usage_error(capsys, ["report", spec, str(missing)]) == f"error: {missing}: no such file"
    assert _usage_error(capsys, ["report", spec, str(tmp_path)]) == f"error: {tmp_path}: not a file"


def test_report_not_openapi(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """specpipe report on broken or non-OpenAPI YAML says what the file is."""
    spec = str(SPECS / "normalized/databar.yaml")
    broken, other = tmp_path / "broken.yaml", tmp_path / "other.yaml"
    broken.write_text("openapi: 3.1.0\ninfo:\n  title: [unclosed\npaths: {}\n")
    other.write_text("name: not a spec\n")
    err = _usage_error(capsys, ["report", spec, str(broken)])
    assert err.startswith(f"error: {broken}: not valid YAML or JSON: ") and "at line 4, column 6" in err, err
    err = _usage_error(capsys, ["report", spec, str(other)])
    assert err == f"error: {other}: not an OpenAPI document (no top-level `openapi` key, no fenced block holding one)"


def test_broken_yaml_in_fence(project_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Broken YAML in a page's fence shows the parser's message and line."""
    page = project_copy / "specs/raw/gumloop-start-pipeline.md"
    lines = page.read_text(encoding="utf-8").splitlines(keepends=True)
    at = next(i for i, line in enumerate(lines) if line.strip() == "url:")
    lines.insert(at, "                  eta: [1\n")  # an unclosed flow sequence inside the fence
    page.write_text("".join(lines), encoding="utf-8")
    with pytest.raises(ExtractError) as caught:
        extract_openapi(page.read_text(encoding="utf-8"), name="page.md")
    message = str(caught.value)
    assert "found 0 (the fence at line " in message and "is not valid YAML: " in message, message
    assert re.search(r"at line (\d+), column \d+\)$", message), message
    reported = int(re.findall(r"at line (\d+), column", message)[-1])
    assert at + 1 <= reported <= at + 2, (at, message)  # the page's own line numbers, near the typo
    err = _usage_error(capsys, ["report", str(page), str(SPECS / "normalized/gumloop.yaml")])
    assert "is not valid YAML: " in err


def test_exit_codes_documented(capsys: pytest.CaptureFixture[str]) -> None:
    """specpipe's exit codes are in its help and in the docs."""
    with pytest.raises(SystemExit) as exited:
        run(["--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert "exit codes:" in out and "2  the command cannot run as given" in out
    page = (ROOT / "docs" / "maintaining-specs.md").read_text(encoding="utf-8")
    assert "exits **2** when it cannot run as given" in page


def test_watch_unknown_source(
    project_copy: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """spec-watch refuses an unknown or malformed --source before fetching."""

    def fetch_all(urls: dict[str, str]) -> dict[str, bytes]:
        raise AssertionError(f"fetched {urls}")

    monkeypatch.setattr("specpipe._watch.fetch_all", fetch_all)
    err = _usage_error(capsys, ["--root", str(project_copy), "watch", "--source", "nope=http://127.0.0.1:9/x"])
    assert err.startswith("error: --source nope: no such page in specs/manifest.yaml (known: databar-run-flow.md, ")
    err = _usage_error(capsys, ["--root", str(project_copy), "watch", "--source", "databar-run-flow.md"])
    assert err.startswith("error: --source 'databar-run-flow.md': expected NAME=URL")


def test_docs_contract_needs_clone() -> None:
    """The docs say the contract suites need a clone, as the wheel lacks them."""
    import tomllib

    build = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["hatch"]["build"]
    wheel = build["targets"]["wheel"]["packages"]
    assert not any(p.startswith(("contract_tests", "specs/normalized")) for p in wheel), wheel
    page = (ROOT / "docs" / "maintaining-specs.md").read_text(encoding="utf-8")
    section = page[page.index("## Contract checks") :]
    assert "run from a clone of this repository" in section and "not in the wheel" in section
    assert "`make sdks`" in section and "from the package index" in section
    assert "node` on\nPATH" in section or "`node` on PATH" in section


def test_missing_file_exit_2(project_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Any other missing file is named in one line; exit 2."""
    (project_copy / "specs/overlays/stackai.overlay.yaml").unlink()
    err = _usage_error(capsys, ["--root", str(project_copy), "build"])
    assert err == f"error: {project_copy}/specs/overlays/stackai.overlay.yaml: No such file or directory"
