"""Mock Gumloop: start_pipeline, get_pl_run, kill_pipeline; Bearer key plus x-auth-key user id."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from flowdeck.testing._mockcore import (
    FaultInjector,
    MockState,
    RunRecord,
    is_invalid,
    json_body,
    json_response,
    not_found_handlers,
)


def _ts(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def gumloop_app(state: MockState) -> FaultInjector:
    """The mock Gumloop flow-run API (served under ``/api/v1``)."""
    cfg = state.config

    def authorized(request: Request) -> Response | None:
        if request.headers.get("authorization") != f"Bearer {cfg.gumloop_key}":
            return json_response({"error": "Unauthorized (missing or invalid API key)"}, 401)
        # Assumption: the legacy flow endpoints also accept the user id as user_id (body or query) without
        # x-auth-key, as the official legacy GumloopClient sends it; a present x-auth-key must match.
        if request.headers.get("x-auth-key", cfg.gumloop_user) != cfg.gumloop_user:
            return json_response({"error": "Forbidden (API key does not match)"}, 403)
        return None

    def pipeline_run(run: RunRecord, now: float) -> dict[str, Any]:
        phase = run.phase(now)
        if run.extra.get("killed_at") is not None:
            state_word = "TERMINATING" if now < run.extra["killed_at"] + 0.5 else "TERMINATED"
        else:
            state_word = {"running": "RUNNING", "succeed": "DONE", "fail": "FAILED", "cancel": "TERMINATED"}[phase]
        body: dict[str, Any] = {"user_id": cfg.gumloop_user, "state": state_word, "created_ts": _ts(run.created),
                                "finished_ts": None, "outputs": {}, "log": [f"run {run.id} started"]}  # fmt: skip
        if state_word == "DONE":
            body["outputs"] = {"summary": f"summary of {sorted(run.inputs)}", "count": str(len(run.inputs))}
        if state_word in ("DONE", "FAILED", "TERMINATED"):
            body["finished_ts"] = _ts(run.finished_at())
        if state_word == "FAILED":
            body["log"].append("ERROR: node 'Ask AI' failed: rate limited by upstream model")
        return body

    async def start_pipeline(request: Request) -> Response:
        if denied := authorized(request):
            return denied
        body = await json_body(request)
        if is_invalid(body) or not isinstance(body, dict):
            return json_response({"error": "Bad request (body must be a JSON object)"}, 400)
        for field in ("user_id", "saved_item_id"):
            if not isinstance(body.get(field), str) or not body[field]:
                return json_response({"error": f"Bad request (missing {field})"}, 400)
        if body["user_id"] != cfg.gumloop_user:
            return json_response({"error": "Forbidden (API key does not match)"}, 403)
        items = body.get("pipeline_inputs", [])
        if not isinstance(items, list) or not all(
            isinstance(i, dict) and isinstance(i.get("input_name"), str) and isinstance(i.get("value"), str)
            for i in items
        ):
            return json_response({"error": "Bad request (pipeline_inputs must be [{input_name, value}])"}, 400)
        inputs = {i["input_name"]: i["value"] for i in items}
        run = state.start(body["saved_item_id"], inputs)
        return json_response({"run_id": run.id, "saved_item_id": body["saved_item_id"], "workbook_id": "wb-mock",
                              "url": f"https://www.gumloop.com/pipeline?run_id={run.id}"})  # fmt: skip

    async def get_pl_run(request: Request) -> Response:
        state.calls["get_pipeline_run"] += 1
        if denied := authorized(request):
            return denied
        run_id = request.query_params.get("run_id")
        if not run_id:
            return json_response({"error": "Bad request (missing run_id)"}, 400)
        run = state.runs.get(run_id)
        if run is None:
            return json_response({"error": "Run not found"}, 404)
        return json_response(pipeline_run(run, state.clock.now()))

    async def kill_pipeline(request: Request) -> Response:
        if denied := authorized(request):
            return denied
        body = await json_body(request)
        if is_invalid(body) or not isinstance(body, dict) or not isinstance(body.get("run_id"), str):
            return json_response({"error": "Bad request (missing run_id)"}, 400)
        run = state.runs.get(body["run_id"])
        if run is None:
            return json_response({"error": "Run not found"}, 404)
        now = state.clock.now()
        if run.phase(now) == "running" and "killed_at" not in run.extra:
            run.extra["killed_at"] = now
            run.cancelled_at = now
        return json_response({"success": True, "run_id": run.id})

    app = Starlette(
        exception_handlers=not_found_handlers(lambda m: {"error": m}),
        routes=[
            Route("/api/v1/start_pipeline", start_pipeline, methods=["POST"]),
            Route("/api/v1/get_pl_run", get_pl_run, methods=["GET"]),
            Route("/api/v1/kill_pipeline", kill_pipeline, methods=["POST"]),
        ],
    )
    return FaultInjector(app, state)
