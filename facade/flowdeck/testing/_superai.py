"""Mock SuperAI Flows: anon key + password grant, flow executions, task executions (served under /api).

What it relies on (SuperAI's reference at developers.flows.super.ai: auth, flow-executions,
task-executions pages): a one-hour bearer JWT from the anon key
and the password grant (401 without a valid one); errors as ``{"error": {...}, "request_id": ...}``
and FastAPI 422 bodies; execution status words queued -> running -> in_progress -> completed/failed,
then ``stale`` once results are outdated, ``deleted`` after a soft delete (whose GET answers 404);
outputs live on the task executions.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from flowdeck.testing._mockcore import (
    FaultInjector,
    Kind,
    MockState,
    RunRecord,
    is_invalid,
    json_body,
    json_response,
    not_found_handlers,
)

ANON_KEY = "mock-anon-key"
TOKEN_LIFETIME = 3600
ORG = "00000000-0000-4000-8000-000000000001"
TASKS = ("extract", "summarize")
STATUS_KINDS: Mapping[str, Kind] = {
    "queued": "running",
    "running": "running",
    "in_progress": "running",
    "completed": "succeed",
    "failed": "fail",
    "stale": "succeed",  # outdated by a newer flow version
    "deleted": "cancel",  # GET answers 404, listings show the word
}
# Flow ids are UUIDs, with no room for `status-<word>`: these script each.
SUPERAI_SCRIPTED_FLOWS: Mapping[str, str] = {
    word: f"5c41b7ed-0000-4000-8000-{index:012d}" for index, word in enumerate(STATUS_KINDS, start=1)
}
_SCRIPT_OF_FLOW = {flow: word for word, flow in SUPERAI_SCRIPTED_FLOWS.items()}


def _ts(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")


def _error(status: int, code: str, message: str) -> Response:
    return json_response({"error": {"code": code, "message": message, "details": []}, "request_id": None}, status)


def _invalid(loc: list[Any], msg: str) -> Response:
    return json_response({"detail": [{"loc": loc, "msg": msg, "type": "value_error"}]}, 422)


def _uuid(value: str | None) -> str | None:
    try:
        return str(uuid.UUID(value)) if value and len(value) <= 64 else None
    except ValueError:
        return None


class _SuperAIRoutes:
    """The routes of ``superai_app``: a method per operation, its method and URL first in its docstring."""

    def __init__(self, state: MockState) -> None:
        self.state = state
        self.cfg = state.config
        self.tokens: dict[str, float] = {}  # access token -> expiry on the mock clock
        self.refresh_tokens: set[str] = set()

    def authorized(self, request: Request) -> Response | None:
        auth = request.headers.get("authorization", "")
        token = auth.removeprefix("Bearer ")
        if token == self.cfg.superai_token:
            return None
        if not auth.startswith("Bearer ") or self.tokens.get(token, 0.0) <= self.state.clock.now():
            return _error(401, "unauthorized", "Invalid or expired token")
        return None

    def status_of(self, run: RunRecord, now: float) -> str:
        phase = run.phase(now)
        elapsed = now - run.created
        if phase == "running":
            status = (
                "queued"
                if elapsed < run.duration * 0.2
                else "running"
                if elapsed < run.duration * 0.5
                else "in_progress"
            )
        else:
            status = {"succeed": "completed", "fail": "failed", "cancel": "failed", "cancelled": "failed"}[phase]
        return run.word(now, status, STATUS_KINDS)

    def execution(self, run: RunRecord, now: float) -> dict[str, Any]:
        status = self.status_of(run, now)
        return {
            "id": run.id,
            "flow_id": run.workflow,
            "flow_version": run.extra.get("version", 1),
            "input": run.inputs,
            "organization_id": ORG,
            "status": status,
            "created_at": _ts(run.created),
            "updated_at": _ts(min(now, run.finished_at())),
            "modified_by": None,
            "run_number": run.extra.get("run_number"),
        }

    def tasks_of(self, run: RunRecord, now: float) -> list[dict[str, Any]]:
        phase = run.phase(now)
        out = []
        for idx, name in enumerate(TASKS):
            if phase == "running":
                status = "completed" if idx == 0 and now - run.created > run.duration / 2 else "running"
            elif phase == "succeed":
                status = "completed"
            else:
                status = "completed" if idx == 0 else "failed"
            task: dict[str, Any] = {
                "id": self.state.new_id(),
                "flow_execution_id": run.id,
                "organization_id": ORG,
                "task_name": name,
                "task_execution_idx": 0,
                "input": run.inputs,
                "output": None,
                "error": None,
                "status": status,
                "modified_by": None,
                "created_at": _ts(run.created),
                "updated_at": _ts(now),
                "tags": [],
            }
            if status == "completed":
                task["output"] = {"task": name, "fields": sorted(run.inputs)} if name == "extract" else {"text": "ok"}
            if status == "failed":
                task["error"] = {"message": "model refused the document", "type": "TaskError", "traceback": ""}
            out.append(task)
        return out

    async def anon_key(self, request: Request) -> Response:
        """GET /api/auth/anon-key."""
        return json_response({"anon_key": ANON_KEY})

    async def token(self, request: Request) -> Response:
        """POST /api/auth/v1/token."""
        self.state.calls["get_token"] += 1
        if request.headers.get("apikey") != ANON_KEY:
            return _error(401, "invalid_apikey", "Invalid API key")
        grant = request.query_params.get("grant_type")
        body = await json_body(request)
        if is_invalid(body) or not isinstance(body, dict):
            return _error(400, "invalid_request", "Body must be a JSON object")
        if grant == "password":
            if body.get("email") != self.cfg.superai_email or body.get("password") != self.cfg.superai_password:
                return _error(400, "invalid_grant", "Invalid login credentials")
        elif grant == "refresh_token":
            if body.get("refresh_token") not in self.refresh_tokens:
                return _error(401, "invalid_grant", "Invalid refresh token")
            self.refresh_tokens.discard(body["refresh_token"])
        else:
            return _error(400, "unsupported_grant_type", "grant_type must be password or refresh_token")
        access, refresh = f"mock-jwt-{self.state.new_id()}", f"mock-refresh-{self.state.new_id()}"
        self.tokens[access] = self.state.clock.now() + TOKEN_LIFETIME
        self.refresh_tokens.add(refresh)
        return json_response(
            {"access_token": access, "refresh_token": refresh, "token_type": "bearer", "expires_in": TOKEN_LIFETIME}
        )

    async def create(self, request: Request) -> Response:
        """POST /api/flow-executions."""
        if denied := self.authorized(request):
            return denied
        body = await json_body(request)
        if is_invalid(body) or not isinstance(body, dict):
            return _invalid(["body"], "Input should be a valid dictionary")
        flow_id = _uuid(body.get("flow_id")) if isinstance(body.get("flow_id"), str) else None
        if flow_id is None:
            return _invalid(["body", "flow_id"], "Input should be a valid UUID")
        inputs = body.get("input", {})
        if not isinstance(inputs, dict):
            return _invalid(["body", "input"], "Input should be a valid dictionary")
        if flow_id.endswith("000000000404"):
            return _error(404, "not_found", "Flow not found")
        if flow_id.endswith("000000000403"):
            return _error(403, "forbidden", "The flow belongs to another organization")
        run = self.state.start(flow_id, inputs, kinds=STATUS_KINDS, script=_SCRIPT_OF_FLOW.get(flow_id))
        return json_response(self.execution(run, self.state.clock.now()), 201)

    def find(self, request: Request) -> RunRecord | Response:
        if denied := self.authorized(request):
            return denied
        exec_id = _uuid(request.path_params["execution_id"])
        if exec_id is None:
            return _invalid(["path", "flow_execution_id"], "Input should be a valid UUID")
        run = self.state.runs.get(exec_id)
        if run is None or self.status_of(run, self.state.clock.now()) == "deleted":  # soft-deleted: the docs say 404
            return _error(404, "not_found", "Flow execution not found")
        return run

    def bool_param(self, request: Request, name: str) -> bool | Response:
        value = request.query_params.get(name, "false").lower()
        if value not in ("true", "false"):
            return _invalid(["query", name], "Input should be a valid boolean")
        return value == "true"

    async def get(self, request: Request) -> Response:
        """GET /api/flow-executions/{execution_id}."""
        self.state.calls["get_flow_execution"] += 1
        run = self.find(request)
        if isinstance(run, Response):
            return run
        if isinstance(flag := self.bool_param(request, "include_run_number"), Response):
            return flag
        return json_response(self.execution(run, self.state.clock.now()))

    async def reexecute(self, request: Request) -> Response:
        """POST /api/flow-executions/{execution_id}/execute."""
        run = self.find(request)
        if isinstance(run, Response):
            return run
        if isinstance(flag := self.bool_param(request, "only_stale"), Response):
            return flag
        if run.workflow.endswith("000000000409") and run.phase(self.state.clock.now()) == "running":
            return _error(409, "conflict", "Workflow is currently running and cannot be terminated")
        run.created, run.cancelled_at = self.state.clock.now(), None
        run.extra["version"] = run.extra.get("version", 1) + 1
        return Response(status_code=204)

    async def list_executions(self, request: Request) -> Response:
        """GET /api/flow-executions."""
        if denied := self.authorized(request):
            return denied
        q = request.query_params
        flow_id = _uuid(q.get("flow_id"))
        if flow_id is None:
            return _invalid(["query", "flow_id"], "Input should be a valid UUID")
        try:
            page, size = int(q.get("page", "1")), int(q.get("page_size", "10"))
        except ValueError:
            return _invalid(["query", "page"], "Input should be a valid integer")
        if not (1 <= page <= 10000 and 1 <= size <= 1000):
            return _invalid(["query", "page"], "page must be 1..10000 and page_size 1..1000")
        if q.get("sort_field", "updated_at") not in ("created_at", "updated_at") or q.get(
            "sort_direction", "desc"
        ) not in ("asc", "desc"):
            return _invalid(["query", "sort_field"], "Unsupported sort")
        if q.get("start_from_execution_id") is not None and _uuid(q.get("start_from_execution_id")) is None:
            return _invalid(["query", "start_from_execution_id"], "Input should be a valid UUID")
        if isinstance(flag := self.bool_param(request, "include_run_number"), Response):
            return flag
        now = self.state.clock.now()
        wanted = set(q.getlist("status"))
        items = [self.execution(r, now) for r in self.state.runs.values() if r.workflow == flow_id]
        items = [i for i in items if not wanted or i["status"] in wanted]
        field = q.get("sort_field", "updated_at")
        items.sort(key=lambda i: (i[field], i["created_at"]), reverse=q.get("sort_direction", "desc") == "desc")
        return json_response(items[(page - 1) * size : page * size])

    async def list_tasks(self, request: Request) -> Response:
        """GET /api/task-executions."""
        if denied := self.authorized(request):
            return denied
        exec_id = _uuid(request.query_params.get("flow_execution_id"))
        if exec_id is None:
            return _invalid(["query", "flow_execution_id"], "Input should be a valid UUID")
        idx = request.query_params.get("task_execution_idx")
        if idx is not None and not idx.isdigit():
            return _invalid(["query", "task_execution_idx"], "Input should be a valid integer")
        run = self.state.runs.get(exec_id)
        tasks = self.tasks_of(run, self.state.clock.now()) if run is not None else []
        name = request.query_params.get("task_name")
        return json_response([t for t in tasks if name is None or t["task_name"] == name])


def superai_app(state: MockState) -> FaultInjector:
    """The mock SuperAI Flows API. Auth and API share one base (``/api``) on the mock."""
    routes = _SuperAIRoutes(state)
    app = Starlette(
        exception_handlers=not_found_handlers(
            lambda m: {"error": {"code": "not_found", "message": m}, "request_id": None}
        ),
        routes=[
            Route("/api/auth/anon-key", routes.anon_key, methods=["GET"]),
            Route("/api/auth/v1/token", routes.token, methods=["POST"]),
            Route("/api/flow-executions", routes.create, methods=["POST"]),
            Route("/api/flow-executions", routes.list_executions, methods=["GET"]),
            Route("/api/flow-executions/{execution_id}", routes.get, methods=["GET"]),
            Route("/api/flow-executions/{execution_id}/execute", routes.reexecute, methods=["POST"]),
            Route("/api/task-executions", routes.list_tasks, methods=["GET"]),
        ],
    )
    return FaultInjector(
        app, state, lambda message: {"error": {"code": "error", "message": message}, "request_id": None}
    )
