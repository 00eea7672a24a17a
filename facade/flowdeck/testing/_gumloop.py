"""Mock Gumloop: start_pipeline, get_pl_run, kill_pipeline (served under ``/api/v1``).

What it relies on (sources: docs.gumloop.com's start-automation, retrieve-run-details and
getting-started pages, and the official SDK, PyPI gumloop 0.5.9): ``Authorization: Bearer <key>``, 401
for a missing or unknown key, 403 when the user id (``x-auth-key``, ``user_id``) does not match the
key; errors are flat ``{"error": "<message>"}`` bodies; ``start_pipeline`` documents 400 for missing
or conflicting parameters and no 404, so an unknown saved flow is a 400 here (an assumption); inputs
come as ``pipeline_inputs`` and as extra top-level body keys (reserved names excepted); ``get_pl_run``
needs ``run_id`` and one of ``user_id``/``project_id``, and a user reads only its own runs or its
projects' runs; run states are the OpenAPI enum plus ``STARTED`` from the getting-started prose.
"""

from __future__ import annotations

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

STATE_KINDS: Mapping[str, Kind] = {
    "STARTED": "running",  # the getting-started prose only
    "RUNNING": "running",
    "DONE": "succeed",
    "FAILED": "fail",
    "TERMINATING": "cancel",  # the official SDK treats it as final
    "TERMINATED": "cancel",
}
# Reserved by the docs: never inputs, wherever they are sent.
RESERVED = frozenset(
    {
        "api_key",
        "saved_item_id",
        "user_id",
        "project_id",
        "openai_token",
        "action_id",
        "reuse_action",
        "trigger_id",
        "pipeline_inputs",
    }
)


def _ts(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _error(status: int, message: str) -> Response:
    return json_response({"error": message}, status)


class _GumloopRoutes:
    """The routes of ``gumloop_app``: a method per operation, its method and URL first in its docstring."""

    def __init__(self, state: MockState) -> None:
        self.state = state
        self.cfg = state.config

    def account(self, request: Request) -> str | Response:
        """The user id the request's key belongs to, or the error answer."""
        auth = request.headers.get("authorization", "")
        keys = {self.cfg.gumloop_key: self.cfg.gumloop_user, **self.cfg.gumloop_accounts}
        user = keys.get(auth.removeprefix("Bearer ")) if auth.startswith("Bearer ") else None
        if user is None:
            return _error(401, "Unauthorized (missing or invalid API key)")
        # Assumed: legacy endpoints take user_id without x-auth-key, as the
        # official legacy client sends it; an x-auth-key given must match.
        if request.headers.get("x-auth-key", user) != user:
            return _error(403, "Forbidden (API key does not match)")
        return user

    def scope(self, user: str, user_id: Any, project_id: Any) -> Response | None:
        """403 unless the named user/project is the key's user or one of its projects; 400 if neither."""
        if user_id is None and project_id is None:
            return _error(400, "Bad request (missing user_id or project_id)")
        if user_id is not None and user_id != user:
            return _error(403, "Forbidden (API key does not match)")
        if project_id is not None and user not in self.cfg.gumloop_projects.get(str(project_id), ()):
            return _error(403, "Forbidden (API key does not match)")
        return None

    def visible(self, run: RunRecord, user_id: Any, project_id: Any) -> bool:
        # A user reads only its own runs, or its project's.
        if user_id is not None and run.extra["user_id"] == user_id:
            return True
        return project_id is not None and run.extra.get("project_id") == project_id

    def pipeline_run(self, run: RunRecord, now: float) -> dict[str, Any]:
        phase = run.phase(now)
        if run.extra.get("killed_at") is not None:
            word = "TERMINATING" if now < run.extra["killed_at"] + 0.5 else "TERMINATED"
        else:
            default = {"running": "RUNNING", "succeed": "DONE", "fail": "FAILED", "cancel": "TERMINATED"}[phase]
            word = run.word(now, default, STATE_KINDS)
        kind = STATE_KINDS.get(word, "succeed")  # a new word keeps the run's outputs
        body: dict[str, Any] = {
            "user_id": run.extra["user_id"],
            "state": word,
            "created_ts": _ts(run.created),
            "finished_ts": None,
            "outputs": {},
            "log": [f"run {run.id} started"],
        }
        if kind == "succeed":
            body["outputs"] = {"summary": f"summary of {sorted(run.inputs)}", "count": str(len(run.inputs))}
        if kind != "running" and word != "TERMINATING":
            body["finished_ts"] = _ts(run.finished_at())
        if kind == "fail":
            body["log"].append("ERROR: node 'Ask AI' failed: rate limited by upstream model")
        return body

    def inputs_of(self, body: dict[str, Any]) -> dict[str, Any] | Response:
        items = body.get("pipeline_inputs", [])
        if not isinstance(items, list) or not all(
            isinstance(i, dict) and isinstance(i.get("input_name"), str) and isinstance(i.get("value"), str)
            for i in items
        ):
            return _error(400, "Bad request (pipeline_inputs must be [{input_name, value}])")
        listed = {i["input_name"]: i["value"] for i in items}
        # Per the docs: other top-level keys are inputs, by name.
        extra = {k: v for k, v in body.items() if k not in RESERVED}
        if reserved := sorted(RESERVED & listed.keys()):
            return _error(400, f"Bad request (reserved input name: {reserved[0]})")
        if clash := sorted(k for k in listed.keys() & extra.keys() if listed[k] != extra[k]):
            return _error(400, f"Bad request (conflicting values for input {clash[0]})")
        return {**extra, **listed}

    async def start_pipeline(self, request: Request) -> Response:
        """POST /api/v1/start_pipeline."""
        user = self.account(request)
        if isinstance(user, Response):
            return user
        body = await json_body(request)
        if is_invalid(body) or not isinstance(body, dict):
            return _error(400, "Bad request (body must be a JSON object)")
        for field in ("user_id", "saved_item_id"):
            if not isinstance(body.get(field), str) or not body[field]:
                return _error(400, f"Bad request (missing {field})")
        project_id = body.get("project_id")
        if project_id is not None and not isinstance(project_id, str):
            return _error(400, "Bad request (project_id must be a string)")
        if denied := self.scope(user, body["user_id"], project_id):
            return denied
        inputs = self.inputs_of(body)
        if isinstance(inputs, Response):
            return inputs
        saved_item_id = body["saved_item_id"]
        if "missing" in saved_item_id:
            # The page documents 400, 401, 403 and 500: no 404.
            return _error(400, f"Bad request (no saved flow {saved_item_id!r} for this user)")
        run = self.state.start(saved_item_id, inputs, kinds=STATE_KINDS, user_id=user, project_id=project_id)
        return json_response(
            {
                "run_id": run.id,
                "saved_item_id": saved_item_id,
                "workbook_id": "wb-mock",
                "url": f"https://www.gumloop.com/pipeline?run_id={run.id}",
            }
        )

    async def get_pl_run(self, request: Request) -> Response:
        """GET /api/v1/get_pl_run."""
        self.state.calls["get_pipeline_run"] += 1
        user = self.account(request)
        if isinstance(user, Response):
            return user
        q = request.query_params
        run_id = q.get("run_id")
        if not run_id:
            return _error(400, "Bad request (missing run_id)")
        if denied := self.scope(user, q.get("user_id"), q.get("project_id")):
            return denied
        run = self.state.runs.get(run_id)
        if run is None or not self.visible(run, q.get("user_id"), q.get("project_id")):
            return _error(404, "Run not found")
        return json_response(self.pipeline_run(run, self.state.clock.now()))

    async def kill_pipeline(self, request: Request) -> Response:
        """POST /api/v1/kill_pipeline."""
        user = self.account(request)
        if isinstance(user, Response):
            return user
        body = await json_body(request)
        if is_invalid(body) or not isinstance(body, dict) or not isinstance(body.get("run_id"), str):
            return _error(400, "Bad request (missing run_id)")
        if denied := self.scope(user, body.get("user_id"), body.get("project_id")):
            return denied
        run = self.state.runs.get(body["run_id"])
        if run is None or not self.visible(run, body.get("user_id"), body.get("project_id")):
            return _error(404, "Run not found")
        now = self.state.clock.now()
        if run.phase(now) == "running" and "killed_at" not in run.extra:
            run.extra["killed_at"] = now
            run.cancelled_at = now
        return json_response({"success": True, "run_id": run.id})


def gumloop_app(state: MockState) -> FaultInjector:
    """The mock Gumloop flow-run API (served under ``/api/v1``)."""
    routes = _GumloopRoutes(state)
    app = Starlette(
        exception_handlers=not_found_handlers(lambda m: {"error": m}),
        routes=[
            Route("/api/v1/start_pipeline", routes.start_pipeline, methods=["POST"]),
            Route("/api/v1/get_pl_run", routes.get_pl_run, methods=["GET"]),
            Route("/api/v1/kill_pipeline", routes.kill_pipeline, methods=["POST"]),
        ],
    )
    return FaultInjector(app, state, lambda message: {"error": message})
