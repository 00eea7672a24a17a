"""Mock StackAI: a synchronous run that answers when the flow is done.

What it relies on (sources: StackAI's run-flow reference at docs.stackai.com and public clients
reading its answers): ``Authorization: Bearer <public key>``
(401 otherwise); FastAPI error bodies (``{"detail": ...}``, 422 with ``loc``/``msg``/``type``); a 200
body with ``outputs`` keyed by output node, ``run_id``, ``state`` (only ``COMPLETED`` has been seen)
and ``error`` (set on a failed run, even with 200).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from flowdeck.testing._mockcore import (
    FaultInjector,
    Kind,
    MockState,
    is_invalid,
    json_body,
    json_response,
    not_found_handlers,
)

STATE_KINDS: Mapping[str, Kind] = {"COMPLETED": "succeed"}  # the only state word ever published


class _StackAIRoutes:
    """The routes of ``stackai_app``: a method per operation, its method and URL first in its docstring."""

    def __init__(self, state: MockState, *, real_time: bool = True) -> None:
        self.state = state
        self.cfg = state.config
        self.real_time = real_time

    async def run_deployed_flow(self, request: Request) -> Response:
        """POST /inference/v0/run/{org_id}/{flow_id}."""
        auth = request.headers.get("authorization", "")
        if not auth.startswith("Bearer "):
            return json_response({"detail": "Not authenticated"}, 401)
        if auth != f"Bearer {self.cfg.stackai_key}":
            return json_response({"detail": "Invalid API key"}, 401)
        for name in ("version",):
            value = request.query_params.get(name)
            if value is not None and not value.lstrip("-").isdigit():
                return json_response(
                    {
                        "detail": [
                            {"loc": ["query", name], "msg": "Input should be a valid integer", "type": "int_parsing"}
                        ]
                    },
                    422,
                )
        verbose = request.query_params.get("verbose")
        if verbose is not None and verbose.lower() not in ("true", "false", "1", "0"):
            return json_response(
                {
                    "detail": [
                        {"loc": ["query", "verbose"], "msg": "Input should be a valid boolean", "type": "bool_parsing"}
                    ]
                },
                422,
            )
        body = await json_body(request)
        if is_invalid(body) or not isinstance(body, dict):
            return json_response(
                {"detail": [{"loc": ["body"], "msg": "Input should be a valid dictionary", "type": "dict_type"}]}, 422
            )
        org, flow = request.path_params["org_id"], request.path_params["flow_id"]
        # Our spec's 400 and 403 (StackAI documents neither), triggered here:
        if "user_id" in body and not isinstance(body["user_id"], str):
            return json_response({"detail": "user_id must be a string"}, 400)
        if "forbidden" in org:
            return json_response({"detail": "This key has no access to the organization"}, 403)
        if "missing" in flow:
            return json_response({"detail": "Flow not found"}, 404)
        run = self.state.start(f"{org}/{flow}", body, kinds=STATE_KINDS)
        if self.real_time and run.duration:
            await asyncio.sleep(run.duration)
        failed = run.outcome != "succeed"
        word = run.word(run.created + run.duration, "COMPLETED", STATE_KINDS)
        return json_response(
            {
                "outputs": {} if failed else {"out-0": f"answer to {sorted(body)}", "out-1": len(body)},
                "citations": None,
                "run_id": run.id,
                "metadata": None,
                "progress_data": None,
                "state": word,
                "pause": None,
                "error": "LLM node failed: upstream error" if failed else None,
            }
        )


def stackai_app(state: MockState, *, real_time: bool = True) -> FaultInjector:
    """The mock StackAI API. With ``real_time`` the call blocks for the run's duration, like the real one."""
    routes = _StackAIRoutes(state, real_time=real_time)
    app = Starlette(
        exception_handlers=not_found_handlers(lambda m: {"detail": m}),
        routes=[Route("/inference/v0/run/{org_id}/{flow_id}", routes.run_deployed_flow, methods=["POST"])],
    )
    return FaultInjector(app, state, lambda message: {"detail": message})
