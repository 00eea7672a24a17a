"""Property tests at the boundary: responses drawn from each operation's response schema (respx +
hypothesis-jsonschema). Valid ones parse into flowdeck types; broken ones raise ContractError with
the raw body, never another exception."""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import flowdeck
import httpx
import pytest
import respx
from flowdeck._providers import databar, gumloop, stackai, superai
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from contract_tests._spec import examples
from tests._fakes import BASES, ENV, EXEC_UUID, FLOW_UUID

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.contract

SETTINGS = settings(
    max_examples=examples(25), deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
)
# A broken body is cheap to draw, and the one that matters (a field dropped or mistyped in one item) is one
# branch of six: twice the examples, so each case meets it.
BREAKING = settings(SETTINGS, max_examples=examples(50))
ID = {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9-]{0,39}$"}
# Each item of a list answer is parsed on its own, so a few items find what a hundred would; unbounded,
# hypothesis draws lists of big nested objects and one example of a list schema takes seconds.
MAX_ITEMS = 3
# hypothesis-jsonschema knows no `format: uuid`; drawing UUIDs directly is much cheaper than from a regex.
FORMATS = {"uuid": st.uuids().map(str)}
RUNNING_SUPERAI = [s for s, u in superai.STATUSES.items() if not u.is_terminal]


@functools.cache
def _spec(provider: str) -> dict[str, Any]:
    """The normalized spec, parsed once per provider (read-only: callers copy what they change)."""
    import yaml

    text = (ROOT / "specs" / "normalized" / f"{provider}.yaml").read_text()
    doc: dict[str, Any] = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506
    return doc


def _inline(node: Any, doc: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        if "$ref" in node:
            target: Any = doc
            for part in node["$ref"][2:].split("/"):
                target = target[part]
            return _inline(target, doc)
        node = {k: _inline(v, doc) for k, v in node.items() if k not in ("examples", "example")}
        if "array" in (kind := node.get("type", ())) or kind == "array":
            node.setdefault("maxItems", MAX_ITEMS)
        return node
    if isinstance(node, list):
        return [_inline(v, doc) for v in node]
    return node


def response_schema(provider: str, path: str, method: str, code: str, **narrow: Any) -> dict[str, Any]:
    """The inlined JSON schema of a response; ``narrow`` pins properties the facade must understand."""
    doc = _spec(provider)
    schema = _inline(doc["paths"][path][method]["responses"][code]["content"]["application/json"]["schema"], doc)
    schema = copy.deepcopy(schema)
    target = schema["items"] if schema.get("type") == "array" else schema
    for prop, sub in narrow.items():
        target["properties"][prop] = sub
    if doc.get("openapi", "").startswith("3.0"):
        _nullable_to_31(schema)
    return dict(schema)


def _nullable_to_31(node: Any) -> None:
    if isinstance(node, dict):
        if node.pop("nullable", False) and isinstance(node.get("type"), str):
            node["type"] = [node["type"], "null"]
        for value in node.values():
            _nullable_to_31(value)
    elif isinstance(node, list):
        for value in node:
            _nullable_to_31(value)


Case = tuple[str, str, str, dict[str, Any], Callable[[flowdeck.Client], Any]]
DB, SA, GL, SU = BASES["databar"], BASES["stackai"], BASES["gumloop"], BASES["superai"]
CASES: dict[str, Case] = {
    "databar run_flow": (
        "POST", rf"{DB}/v1/flows/1/run", "200",
        response_schema("databar", "/v1/flows/{flow_id}/run", "post", "200",
                        task_id=ID, status={"enum": list(databar.STATUSES)}),
        lambda c: c.databar.run_flow("1", {"d": "x"}),
    ),
    "databar run_waterfall": (
        "POST", rf"{DB}/v1/waterfalls/w/run", "200",
        response_schema("databar", "/v1/waterfalls/{waterfall_identifier}/run", "post", "200",
                        task_id=ID, status={"enum": list(databar.STATUSES)}),
        lambda c: c.databar.run_waterfall("w", {"e": "x"}, [1]),
    ),
    "databar get_task": (
        "GET", rf"{DB}/v1/tasks/t-1", "200",
        response_schema("databar", "/v1/tasks/{task_id}", "get", "200",
                        task_id=ID, status={"enum": list(databar.STATUSES)}),
        lambda c: c.databar.get_task("t-1"),
    ),
    "databar cancel_task": (
        "POST", rf"{DB}/v1/tasks/t-1/cancel", "200",
        response_schema("databar", "/v1/tasks/{task_id}/cancel", "post", "200",
                        task_id=ID, status={"enum": list(databar.STATUSES)}),
        lambda c: c.databar.cancel_task("t-1"),
    ),
    "stackai run_deployed_flow": (
        "POST", rf"{SA}/inference/v0/run/o/f", "200",
        response_schema("stackai", "/inference/v0/run/{org_id}/{flow_id}", "post", "200",
                        state={"enum": [*stackai.STATES, None]}),
        lambda c: c.stackai.run_deployed_flow("o", "f", {"in-0": "x"}),
    ),
    "gumloop start_pipeline": (
        "POST", rf"{GL}/start_pipeline", "200",
        response_schema("gumloop", "/start_pipeline", "post", "200", run_id=ID),
        lambda c: c.gumloop.start_pipeline("s", {"a": "b"}),
    ),
    "gumloop get_pipeline_run": (
        "GET", rf"{GL}/get_pl_run", "200",
        response_schema("gumloop", "/get_pl_run", "get", "200", state={"enum": list(gumloop.STATES)}),
        lambda c: c.gumloop.get_run("r-1"),
    ),
    "superai create_flow_execution": (
        "POST", rf"{SU}/flow-executions", "201",
        response_schema("superai", "/flow-executions", "post", "201", status={"enum": RUNNING_SUPERAI}),
        lambda c: c.superai.create_execution(FLOW_UUID, {"a": 1}),
    ),
    "superai get_flow_execution": (
        "GET", rf"{SU}/flow-executions/{EXEC_UUID}", "200",
        response_schema("superai", "/flow-executions/{flow_execution_id}", "get", "200",
                        status={"enum": RUNNING_SUPERAI}),
        lambda c: c.superai.get_execution(EXEC_UUID),
    ),
    "superai list_flow_executions": (
        "GET", rf"{SU}/flow-executions", "200",
        response_schema("superai", "/flow-executions", "get", "200", status={"enum": list(superai.STATUSES)}),
        lambda c: list(c.superai.list_executions(FLOW_UUID, page_size=1000)),
    ),
    "superai list_task_executions": (
        "GET", rf"{SU}/task-executions", "200",
        response_schema("superai", "/task-executions", "get", "200"),
        lambda c: c.superai.task_outputs(EXEC_UUID),
    ),
}  # fmt: skip


@pytest.fixture(scope="module")
def client() -> Iterator[flowdeck.Client]:
    """One client for every example: building one (its TLS context) costs more than the call it makes,
    and respx answers each example's request whichever client sends it."""
    with flowdeck.Client(env=ENV, base_urls=BASES, superai_token="static-token", max_retries=0) as shared:
        yield shared


def _call(client: flowdeck.Client, name: str, response: httpx.Response) -> Any:
    method, url, _, _, operation = CASES[name]
    with respx.mock(assert_all_called=True) as mock:
        mock.route(method=method, url__regex=url + r"(\?.*)?$").mock(return_value=response)
        return operation(client)


@pytest.mark.parametrize("name", list(CASES))
@SETTINGS
@given(data=st.data())
def test_valid_answers_parse(client: flowdeck.Client, name: str, data: st.DataObject) -> None:
    """Answers valid by the schema parse into flowdeck types."""
    status = CASES[name][2]
    body = data.draw(_bodies(name), label="body")
    result = _call(client, name, httpx.Response(int(status), json=body))
    runs = result if isinstance(result, list) else [result]
    assert all(isinstance(r, flowdeck.Run | flowdeck.TaskOutput) for r in runs)
    if isinstance(result, flowdeck.Run):
        assert isinstance(result.status, flowdeck.Status) and isinstance(result.id, str) and result.id


@functools.cache
def _bodies(name: str) -> st.SearchStrategy[Any]:
    """Bodies valid by the case's schema, built once (from_schema canonicalises the whole schema)."""
    return from_schema(CASES[name][3], custom_formats=FORMATS)


@functools.cache
def _breakages(name: str) -> st.SearchStrategy[bytes]:
    """Bodies that break the contract: a required field dropped or mistyped, truncated JSON, HTML, nothing."""
    schema = CASES[name][3]
    valid = _bodies(name)
    target_is_list = schema.get("type") == "array"
    item = schema["items"] if target_is_list else schema
    typed = [k for k in item.get("required", []) if "type" in item["properties"].get(k, {})]
    # A field is dropped or mistyped in the first item, so a list must have one: otherwise `[{}]` stands in,
    # which misses every other required field too and breaks the contract whatever the one field does.
    whole = from_schema({**schema, "minItems": 1}, custom_formats=FORMATS) if target_is_list else valid

    def drop(body: Any, key: str) -> bytes:
        if target_is_list:
            body = body or [{}]
            body[0].pop(key, None)
        else:
            body.pop(key, None)
        return json.dumps(body).encode()

    def mistype(body: Any, key: str) -> bytes:
        wrong = {"string": 12345, "object": "not-an-object", "array": {"a": 1}, "integer": "x", "number": "x"}
        declared = item["properties"][key]["type"]
        declared = declared[0] if isinstance(declared, list) else declared
        if target_is_list:
            body = body or [{}]
            body[0][key] = wrong.get(declared)
        else:
            body[key] = wrong.get(declared)
        return json.dumps(body).encode()

    options: list[st.SearchStrategy[bytes]] = [
        valid.map(lambda b: json.dumps(b).encode()).flatmap(
            lambda raw: st.integers(0, len(raw) - 1).map(lambda n: raw[:n])
        ),
        st.just(b"<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1></body></html>"),
        st.just(b""),
    ]
    if item.get("required"):
        options.append(st.tuples(whole, st.sampled_from(item["required"])).map(lambda bk: drop(*bk)))
    if typed:
        options.append(st.tuples(whole, st.sampled_from(typed)).map(lambda bk: mistype(*bk)))
    if target_is_list:
        options.append(st.just(b'{"not": "a list"}'))
    else:
        options.append(st.just(b'["not", "an", "object"]'))
    return st.one_of(options)


@pytest.mark.parametrize("name", list(CASES))
@BREAKING
@given(data=st.data())
def test_breaking_answers_contract_error(client: flowdeck.Client, name: str, data: st.DataObject) -> None:
    """Answers that break the contract raise ContractError with the raw body."""
    status = CASES[name][2]
    raw = data.draw(_breakages(name), label="raw")
    with pytest.raises(flowdeck.ContractError) as info:
        _call(client, name, httpx.Response(int(status), content=raw, headers={"content-type": "application/json"}))
    assert info.value.body == raw
