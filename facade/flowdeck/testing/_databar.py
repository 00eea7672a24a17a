"""Mock Databar: flows, waterfalls, tasks; 403 for a bad key, 406 out of credits, expiry after 24 h."""

from __future__ import annotations

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

RETENTION = 24 * 3600.0
# Assumption of the mock: in the first day after expiry a poll answers 200 `gone`, later HTTP 410, so
# both forms the SDK handles are exercised.
GONE_410_AFTER = 48 * 3600.0


def _validation(loc: list[Any], msg: str, kind: str = "value_error") -> Response:
    return json_response({"detail": [{"loc": loc, "msg": msg, "type": kind}]}, 422)


def _task(state: MockState, run: RunRecord, now: float) -> dict[str, Any]:
    phase = run.phase(now)
    status = {"running": "processing", "succeed": "completed", "fail": "failed", "cancel": "cancelled",
              "cancelled": "cancelled"}[phase]  # fmt: skip
    data: Any = None
    error: Any = None
    if status == "completed":
        data = {"workflow": run.workflow, "inputs": run.inputs, "result": f"enriched:{run.id[:8]}"}
    elif status == "failed":
        error = ["enrichment provider returned no result"]
    if phase != "running" and now > run.finished_at() + RETENTION:
        status, data, error = "gone", None, None
    return {"task_id": run.id, "request_id": run.id, "status": status, "data": data, "error": error,
            "credits_spent": 1 if status == "completed" else 0}  # fmt: skip


def databar_app(state: MockState) -> FaultInjector:
    """The mock Databar API as an ASGI app."""
    cfg = state.config

    def authorized(request: Request) -> Response | None:
        if request.headers.get("x-apikey") != cfg.databar_key:
            return json_response({"detail": "Forbidden"}, 403)
        return None

    def charge() -> Response | None:
        if cfg.databar_credits is not None:
            if cfg.databar_credits <= 0:
                return json_response({"detail": "Check the number of remaining credits or the tariff plan."}, 406)
            cfg.databar_credits -= 1
        return None

    async def run_flow(request: Request) -> Response:
        if denied := authorized(request):
            return denied
        body = await json_body(request)
        if is_invalid(body) or not isinstance(body, dict):
            return _validation(["body"], "Input should be a valid dictionary", "dict_type")
        inputs = body.get("inputs", {})
        if not isinstance(inputs, dict) or not all(isinstance(v, str) for v in inputs.values()):
            return _validation(["body", "inputs"], "Input should be a dictionary of strings", "dict_type")
        flow_id = request.path_params["flow_id"]
        if "missing" in flow_id:
            return json_response({"detail": "Flow not found"}, 404)
        if refused := charge():
            return refused
        run = state.start(f"flow/{flow_id}", inputs)
        return json_response({"task_id": run.id, "status": "processing"})

    async def run_waterfall(request: Request) -> Response:
        if denied := authorized(request):
            return denied
        body = await json_body(request)
        if is_invalid(body) or not isinstance(body, dict):
            return _validation(["body"], "Input should be a valid dictionary", "dict_type")
        params, enrichments = body.get("params"), body.get("enrichments")
        if not isinstance(params, dict):
            return _validation(["body", "params"], "Field required", "missing")
        if (
            not isinstance(enrichments, list)
            or not enrichments
            or not all(isinstance(e, int) and not isinstance(e, bool) for e in enrichments)
        ):
            return _validation(["body", "enrichments"], "Select at least 1 enrichment", "too_short")
        verifier = body.get("email_verifier")
        if verifier is not None and (not isinstance(verifier, int) or isinstance(verifier, bool)):
            return _validation(["body", "email_verifier"], "Input should be a valid integer", "int_type")
        identifier = request.path_params["identifier"]
        if "missing" in identifier:
            return json_response({"detail": "Waterfall not found"}, 404)
        if refused := charge():
            return refused
        run = state.start(f"waterfall/{identifier}", {"params": params, "enrichments": enrichments})
        return json_response({"task_id": run.id, "status": "processing"})

    def find(request: Request) -> RunRecord | Response:
        if denied := authorized(request):
            return denied
        run = state.runs.get(request.path_params["task_id"])
        if run is None:
            return json_response({"detail": "Task not found"}, 404)
        return run

    async def get_task(request: Request) -> Response:
        state.calls["get_task"] += 1
        run = find(request)
        if isinstance(run, Response):
            return run
        now = state.clock.now()
        if run.phase(now) != "running" and now > run.finished_at() + GONE_410_AFTER:
            return json_response({"detail": "Task data has expired. Results are only stored for 24 hours"}, 410)
        return json_response(_task(state, run, now))

    async def cancel_task(request: Request) -> Response:
        run = find(request)
        if isinstance(run, Response):
            return run
        now = state.clock.now()
        if run.phase(now) != "running":
            return json_response({"detail": "Task is already in a terminal state"}, 409)
        run.cancelled_at = now
        return json_response(_task(state, run, now))

    app = Starlette(
        exception_handlers=not_found_handlers(lambda m: {"detail": m}),
        routes=[
            Route("/v1/flows/{flow_id}/run", run_flow, methods=["POST"]),
            Route("/v1/waterfalls/{identifier}/run", run_waterfall, methods=["POST"]),
            Route("/v1/tasks/{task_id}", get_task, methods=["GET"]),
            Route("/v1/tasks/{task_id}/cancel", cancel_task, methods=["POST"]),
        ],
    )
    return FaultInjector(app, state)
