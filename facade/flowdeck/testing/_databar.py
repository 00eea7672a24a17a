"""Mock Databar: flows, waterfalls, tasks, the account; 403 for a bad key, 406 out of credits, expiry after 24 h.

What it relies on (sources: the API reference at docs.databar.ai, its introduction's error table
and tasks-get-status page, and the official SDK, PyPI databar 2.8.0): every error body carries ``detail``
(400s add a machine ``error`` code and ``fields``); a missing or wrong ``x-apikey`` is 403; a task's
status words are those of the official SDK's ``TaskStatus`` plus the legacy ``success``/``error`` its
poller accepts and the waterfall page's ``created``; results are kept 24 hours, then a poll answers
``gone`` (and, in this mock, HTTP 410 a day later, so both forms the SDK handles occur); cancelling
an ended task is 409. A waterfall run without ``enrichments`` runs the waterfall's default cascade
(the official SDK's documented behaviour; the published page says the field is required).

An enrichment run (``POST /v1/enrichments/{id}/run`` with ``{"params": {...}}``, the official SDK's
``run_enrichment``) starts a task like a flow run's, its params echoed as the flow's inputs are.

Bulk runs (``POST /v1/flows/{id}/bulk-run`` with ``{"inputs": [...]}``, ``POST
/v1/waterfalls/{id}/bulk-run`` with ``{"params": [...]}``) start one task over many inputs. Each input
has its own duration and fate: it succeeds, fails (``"mock_outcome": "fail"`` or the failure rate) or
finds nothing (``"mock_outcome": "miss"``). While the task runs, ``progress`` counts the inputs
(total, completed, no_data, failed, processing) and ``include_partial=true`` adds the results of the
inputs already finished (in the order they finished, not aligned). Once every input ended the task is
``completed``, or ``partially_completed`` if some input failed or found nothing (``failed`` if all
failed), and ``data`` is a list aligned to the inputs with ``null`` for each miss. A cancelled bulk
task keeps the finished inputs' results, unaligned, as the SDK describes. Credits: one per input,
reserved while it runs, kept if it found data, refunded otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
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

RETENTION = 24 * 3600.0
# Assumed: `gone` first, HTTP 410 later, so both forms the SDK handles
# are exercised.
GONE_410_AFTER = 48 * 3600.0
# Each documented status word, as the official SDK reads it.
STATUS_KINDS: Mapping[str, Kind] = {
    "created": "running",  # the waterfall page's example start answer
    "processing": "running",
    "no_data": "running",  # the SDK keeps polling on it
    "completed": "succeed",
    "partially_completed": "succeed",
    "success": "succeed",  # legacy spelling the SDK still accepts
    "failed": "fail",
    "error": "fail",  # legacy
    "cancelled": "cancel",
    "gone": "expired",
}
# The published waterfall page's example enrichments.
DEFAULT_CASCADE = (833, 966)
RUN_COST = 1.0
# Unlimited (`databar_credits=None`) still reports a number: the SDK's
# User.balance is a float.
UNLIMITED_BALANCE = 1_000_000.0
DEFAULT_FLOW_INPUTS = {"domain": False}  # the published flow page's example input


def _detail(message: Any, status: int) -> Response:
    return json_response({"detail": message}, status)


def _validation(loc: list[Any], msg: str, kind: str = "value_error") -> Response:
    return json_response({"detail": [{"loc": loc, "msg": msg, "type": kind}]}, 422)


def _word(run: RunRecord, now: float) -> str:
    """The status word of ``run`` now, before the 24-hour expiry is applied."""
    default = {
        "running": "processing",
        "succeed": "completed",
        "fail": "failed",
        "cancel": "cancelled",
        "cancelled": "cancelled",
    }[run.phase(now)]
    return run.word(now, default, STATUS_KINDS)


def _start_word(run: RunRecord) -> str:
    """What a run endpoint answers: ``processing``, or a scripted in-progress word (``created``...)."""
    return run.script if run.script is not None and STATUS_KINDS.get(run.script) == "running" else "processing"


@attrs.frozen
class BulkInput:
    """One input of a bulk task: when it ends (seconds after the start) and how (succeed, fail, miss)."""

    inputs: Any
    duration: float
    fate: str

    def ended(self, run: RunRecord, now: float) -> bool:
        """True once this input finished (before a cancel, if the task was cancelled)."""
        end = run.created + self.duration
        return now >= end and (run.cancelled_at is None or run.cancelled_at >= end)

    def result(self, run: RunRecord) -> dict[str, Any]:
        """The data of a succeeded input (it carries its inputs, as the single runs' data does)."""
        return {"workflow": run.workflow, "inputs": self.inputs, "result": f"enriched:{run.id[:8]}"}


def _bulk(run: RunRecord) -> list[BulkInput] | None:
    rows: list[BulkInput] | None = run.extra.get("bulk")
    return rows


def _bulk_charged(run: RunRecord, rows: list[BulkInput], now: float) -> float:
    running = run.cancelled_at is None
    return RUN_COST * sum(
        1 for row in rows if (row.fate == "succeed" and row.ended(run, now)) or (running and not row.ended(run, now))
    )


def _charged(run: RunRecord, now: float) -> float:
    """Credits ``run`` holds now: reserved while it runs, kept if it completed, refunded otherwise."""
    if (rows := _bulk(run)) is not None:
        return _bulk_charged(run, rows, now)
    if run.phase(now) == "running":
        return RUN_COST
    # A new (scripted) word keeps the run's results, so it keeps the charge too.
    return RUN_COST if STATUS_KINDS.get(_word(run, now), "succeed") in ("succeed", "expired") else 0.0


def _task(run: RunRecord, now: float) -> dict[str, Any]:
    status = _word(run, now)
    kind = STATUS_KINDS.get(status, "succeed")
    data: Any = None
    error: Any = None
    if kind == "succeed":
        data = {"workflow": run.workflow, "inputs": run.inputs, "result": f"enriched:{run.id[:8]}"}
    elif kind == "fail":
        error = ["enrichment provider returned no result"]
    ended = run.phase(now) != "running"
    credits = _charged(run, now) if ended else 0.0
    if ended and now > run.finished_at() + RETENTION:
        status, data, error = "gone", None, None
    return {
        "task_id": run.id,
        "request_id": run.id,
        "status": status,
        "data": data,
        "error": error,
        "credits_spent": credits,
    }


def _bulk_task(run: RunRecord, rows: list[BulkInput], now: float, include_partial: bool) -> dict[str, Any]:
    ended = [row for row in rows if row.ended(run, now)]
    progress = {
        "total": len(rows),
        "completed": sum(1 for row in ended if row.fate == "succeed"),
        "no_data": sum(1 for row in ended if row.fate == "miss"),
        "failed": sum(1 for row in ended if row.fate == "fail"),
        "processing": len(rows) - len(ended),
    }
    finished = sorted((row for row in ended if row.fate == "succeed"), key=lambda row: row.duration)
    data: Any = None
    error: Any = None
    if run.cancelled_at is not None or (run.outcome == "cancel" and not progress["processing"]):
        status, data = "cancelled", [row.result(run) for row in finished]
    elif progress["processing"]:
        status = "processing"
        data = [row.result(run) for row in finished] if include_partial else None
    elif run.outcome == "fail" or progress["failed"] == len(rows):
        status, error = "failed", ["enrichment provider returned no result"] * max(1, progress["failed"])
    else:
        status = "completed" if progress["completed"] == len(rows) else "partially_completed"
        data = [row.result(run) if row.fate == "succeed" else None for row in rows]
    credits = _bulk_charged(run, rows, now) if status != "processing" else 0.0
    if status != "processing" and now > run.finished_at() + RETENTION:
        status, data, error = "gone", None, None
    return {
        "task_id": run.id,
        "request_id": run.id,
        "status": status,
        "progress": progress,
        "data": data,
        "error": error,
        "credits_spent": credits,
    }


class _DatabarRoutes:
    """The routes of ``databar_app``: a method per operation, its method and URL first in its docstring."""

    def __init__(self, state: MockState) -> None:
        self.state = state
        self.cfg = state.config

    def authorized(self, request: Request) -> Response | None:
        if request.headers.get("x-apikey") != self.cfg.databar_key:
            return _detail("Forbidden", 403)
        return None

    def balance(self) -> float:
        now = self.state.clock.now()
        spent = sum(_charged(run, now) for run in list(self.state.runs.values()))
        return (UNLIMITED_BALANCE if self.cfg.databar_credits is None else self.cfg.databar_credits) - spent

    def refuse_without_credits(self, inputs: int = 1) -> Response | None:
        if self.cfg.databar_credits is not None and self.balance() < RUN_COST * inputs:
            return _detail("Check the number of remaining credits or the tariff plan.", 406)
        return None

    def declared_inputs(self, flow_id: str) -> dict[str, bool]:
        return self.cfg.databar_flows.get(flow_id, DEFAULT_FLOW_INPUTS)

    async def run_flow(self, request: Request) -> Response:
        """POST /v1/flows/{flow_id}/run."""
        if denied := self.authorized(request):
            return denied
        body = await json_body(request)
        if is_invalid(body) or not isinstance(body, dict):
            return _validation(["body"], "Input should be a valid dictionary", "dict_type")
        inputs = body.get("inputs", {})
        if not isinstance(inputs, dict) or not all(isinstance(v, str) for v in inputs.values()):
            return _validation(["body", "inputs"], "Input should be a dictionary of strings", "dict_type")
        flow_id = request.path_params["flow_id"]
        if "missing" in flow_id:
            return _detail("Flow not found", 404)
        if flow_id in self.cfg.databar_flows:
            missing = [
                name for name, required in self.declared_inputs(flow_id).items() if required and not inputs.get(name)
            ]
            if missing:
                detail = f"Missing required inputs: {', '.join(missing)}"
                return json_response({"error": "INVALID_DATA", "detail": detail, "fields": missing}, 400)
        if refused := self.refuse_without_credits():
            return refused
        run = self.state.start(f"flow/{flow_id}", inputs, kinds=STATUS_KINDS)
        return json_response({"task_id": run.id, "status": _start_word(run)})

    async def run_waterfall(self, request: Request) -> Response:
        """POST /v1/waterfalls/{identifier}/run."""
        if denied := self.authorized(request):
            return denied
        body = await json_body(request)
        if is_invalid(body) or not isinstance(body, dict):
            return _validation(["body"], "Input should be a valid dictionary", "dict_type")
        params = body.get("params")
        if not isinstance(params, dict):
            return _validation(["body", "params"], "Field required", "missing")
        enrichments = body.get("enrichments", list(DEFAULT_CASCADE))
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
            return _detail("Waterfall not found", 404)
        if refused := self.refuse_without_credits():
            return refused
        run = self.state.start(
            f"waterfall/{identifier}", {"params": params, "enrichments": enrichments}, kinds=STATUS_KINDS
        )
        return json_response({"task_id": run.id, "status": _start_word(run)})

    async def run_enrichment(self, request: Request) -> Response:
        """POST /v1/enrichments/{enrichment_id}/run."""
        if denied := self.authorized(request):
            return denied
        enrichment_id = request.path_params["enrichment_id"]
        if not enrichment_id.isdigit():
            return _validation(["path", "enrichment_id"], "Input should be a valid integer", "int_parsing")
        body = await json_body(request)
        if is_invalid(body) or not isinstance(body, dict):
            return _validation(["body"], "Input should be a valid dictionary", "dict_type")
        params = body.get("params")
        if not isinstance(params, dict):
            return _validation(["body", "params"], "Field required", "missing")
        pages = (body.get("pagination") or {}).get("pages", 1) if isinstance(body.get("pagination"), dict) else 1
        if not isinstance(pages, int) or isinstance(pages, bool) or pages < 1:
            return _validation(["body", "pagination", "pages"], "Input should be a valid integer", "int_type")
        if refused := self.refuse_without_credits():
            return refused
        run = self.state.start(f"enrichment/{enrichment_id}", params, kinds=STATUS_KINDS)
        return json_response({"task_id": run.id, "status": _start_word(run)})

    def start_bulk(self, workflow: str, items: list[Any], record: Any) -> RunRecord:
        """One task over ``items``: each input's duration and fate decided now (seeded)."""
        lo, hi = self.cfg.run_seconds
        rows = []
        for item in items:
            hint = str(item.get("mock_outcome", "")) if isinstance(item, dict) else ""
            duration = lo + (hi - lo) * self.state.roll()
            failed = hint == "fail" or self.state.roll() < self.cfg.failure_rate
            rows.append(BulkInput(item, duration, "miss" if hint == "miss" else "fail" if failed else "succeed"))
        run = self.state.start(workflow, record, kinds=STATUS_KINDS, bulk=rows)
        run.duration = max(row.duration for row in rows)
        # The inputs fail one by one; the task itself only as scripted by its workflow id.
        run.outcome = "fail" if "fail" in workflow else "cancel" if "cancel" in workflow else "succeed"
        return run

    async def run_flow_bulk(self, request: Request) -> Response:
        """POST /v1/flows/{flow_id}/bulk-run."""
        if denied := self.authorized(request):
            return denied
        body = await json_body(request)
        items = body.get("inputs") if isinstance(body, dict) else None
        if (
            not isinstance(items, list)
            or not items
            or not all(isinstance(i, dict) and all(isinstance(v, str) for v in i.values()) for i in items)
        ):
            return _validation(["body", "inputs"], "Input should be a non-empty list of dictionaries of strings")
        flow_id = request.path_params["flow_id"]
        if "missing" in flow_id:
            return _detail("Flow not found", 404)
        if flow_id in self.cfg.databar_flows:
            required = [name for name, needed in self.declared_inputs(flow_id).items() if needed]
            rows = [i for i, item in enumerate(items) if any(not item.get(name) for name in required)]
            if rows:
                return json_response(
                    {
                        "error": "INVALID_DATA",
                        "detail": f"Missing required inputs: {', '.join(required)}",
                        "rows": rows,
                    },
                    400,
                )
        if refused := self.refuse_without_credits(len(items)):
            return refused
        run = self.start_bulk(f"flow/{flow_id}", items, {"bulk": items})
        return json_response({"task_id": run.id, "status": "processing"})

    async def run_waterfall_bulk(self, request: Request) -> Response:
        """POST /v1/waterfalls/{identifier}/bulk-run."""
        if denied := self.authorized(request):
            return denied
        body = await json_body(request)
        items = body.get("params") if isinstance(body, dict) else None
        if not isinstance(items, list) or not items or not all(isinstance(i, dict) for i in items):
            return _validation(["body", "params"], "Input should be a non-empty list of dictionaries")
        enrichments = body.get("enrichments", list(DEFAULT_CASCADE))
        if (
            not isinstance(enrichments, list)
            or not enrichments
            or not all(isinstance(e, int) and not isinstance(e, bool) for e in enrichments)
        ):
            return _validation(["body", "enrichments"], "Select at least 1 enrichment", "too_short")
        identifier = request.path_params["identifier"]
        if "missing" in identifier:
            return _detail("Waterfall not found", 404)
        if refused := self.refuse_without_credits(len(items)):
            return refused
        run = self.start_bulk(f"waterfall/{identifier}", items, {"bulk": items, "enrichments": enrichments})
        return json_response({"task_id": run.id, "status": "processing"})

    def find(self, request: Request) -> RunRecord | Response:
        if denied := self.authorized(request):
            return denied
        run = self.state.runs.get(request.path_params["task_id"])
        if run is None:
            return _detail("Task not found", 404)
        return run

    async def get_task(self, request: Request) -> Response:
        """GET /v1/tasks/{task_id}."""
        self.state.calls["get_task"] += 1
        run = self.find(request)
        if isinstance(run, Response):
            return run
        now = self.state.clock.now()
        if run.phase(now) != "running" and now > run.finished_at() + GONE_410_AFTER:
            return _detail("Task data has expired. Results are only stored for 24 hours", 410)
        if (rows := _bulk(run)) is not None:
            partial = request.query_params.get("include_partial", "false").lower() == "true"
            return json_response(_bulk_task(run, rows, now, partial))
        return json_response(_task(run, now))

    async def cancel_task(self, request: Request) -> Response:
        """POST /v1/tasks/{task_id}/cancel."""
        run = self.find(request)
        if isinstance(run, Response):
            return run
        now = self.state.clock.now()
        if run.phase(now) != "running":
            return _detail("Task is already in a terminal state", 409)
        run.cancelled_at = now
        if (rows := _bulk(run)) is not None:
            return json_response(_bulk_task(run, rows, now, False))
        return json_response(_task(run, now))

    async def get_flow(self, request: Request) -> Response:
        """GET /v1/flows/{flow_id}."""
        if denied := self.authorized(request):
            return denied
        flow_id = request.path_params["flow_id"]
        if "missing" in flow_id:
            return _detail("Flow not found", 404)
        inputs = [
            {"id": name, "description": f"Input {name}", "type": "text", "required": required}
            for name, required in self.declared_inputs(flow_id).items()
        ]
        return json_response(
            {
                "id": flow_id,
                "name": f"Mock flow {flow_id}",
                "description": "A flow of the mock Databar",
                "inputs": inputs,
                "outputs": [{"id": "result", "response_field_id": None}],
                "created_at": "2026-01-01T00:00:00Z",
                "updated_at": "2026-01-01T00:00:00Z",
                "config": {},
                "ui": {},
                "internal_version": "1",
            }
        )

    async def get_user(self, request: Request) -> Response:
        """GET /v1/user/me."""
        if denied := self.authorized(request):
            return denied
        return json_response(
            {
                "first_name": "Mock",
                "email": "mock@databar.example",
                "balance": self.balance(),
                "plan": "mock",
                "workspace": "mock-workspace",
            }
        )


def databar_app(state: MockState) -> FaultInjector:
    """The mock Databar API as an ASGI app."""
    routes = _DatabarRoutes(state)
    app = Starlette(
        exception_handlers=not_found_handlers(lambda m: {"detail": m}),
        routes=[
            Route("/v1/flows/{flow_id}/run", routes.run_flow, methods=["POST"]),
            Route("/v1/flows/{flow_id}/bulk-run", routes.run_flow_bulk, methods=["POST"]),
            Route("/v1/waterfalls/{identifier}/bulk-run", routes.run_waterfall_bulk, methods=["POST"]),
            Route("/v1/flows/{flow_id}", routes.get_flow, methods=["GET"]),
            Route("/v1/waterfalls/{identifier}/run", routes.run_waterfall, methods=["POST"]),
            Route("/v1/enrichments/{enrichment_id}/run", routes.run_enrichment, methods=["POST"]),
            Route("/v1/tasks/{task_id}", routes.get_task, methods=["GET"]),
            Route("/v1/tasks/{task_id}/cancel", routes.cancel_task, methods=["POST"]),
            Route("/v1/user/me", routes.get_user, methods=["GET"]),
        ],
    )
    return FaultInjector(app, state, lambda message: {"detail": message})
