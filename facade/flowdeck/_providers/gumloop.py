"""Gumloop: ``start_pipeline`` starts a run, ``get_pl_run`` polls it, ``kill_pipeline`` stops it.

What this relies on about Gumloop's API is written down in docs/providers/gumloop.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from flowdeck_generated.gumloop.api.execution import get_pipeline_run, kill_pipeline, start_pipeline
from flowdeck_generated.gumloop.models import (
    KillPipelineBody,
    PipelineInput,
    PipelineRun,
    StartPipelineBody,
    StartPipelineResponse200,
)

from flowdeck._config import ConfigSpec, ProviderConfig, Setting, URLSetting
from flowdeck._core import Op
from flowdeck._errors import NotFoundError
from flowdeck._models import Run, Status, WorkflowRef
from flowdeck._namespaces import AsyncNamespace, Namespace
from flowdeck._providers._base import (
    AdapterBase,
    Checks,
    Clock,
    MockSpec,
    Provider,
    RunSupport,
    as_datetime,
    bind,
    check_id,
    check_inputs,
    map_status,
    response_id,
    to_dict,
    unset,
)

# TERMINATING is final, as in the official SDK. `state` is an open
# string, so a new word reaches this table.
STATES: Mapping[str, Status] = {
    "STARTED": Status.PENDING,
    "RUNNING": Status.RUNNING,
    "DONE": Status.SUCCEEDED,
    "FAILED": Status.FAILED,
    "TERMINATING": Status.CANCELLED,
    "TERMINATED": Status.CANCELLED,
}


class GumloopAdapter(AdapterBase):
    """Gumloop flows (``gumloop:<saved_item_id>``)."""

    name: ClassVar[str] = "gumloop"

    def __init__(self, config: ProviderConfig, *, clock: Clock) -> None:
        super().__init__(config, clock=clock)
        self._user_id = config.require("user_id")
        # Personal keys need x-auth-key (the user id); OAuth callers omit it.
        self.headers = {"Authorization": f"Bearer {config.require('api_key')}", "x-auth-key": self._user_id}

    def start(self, ref: WorkflowRef, inputs: Mapping[str, Any]) -> Op[Run]:
        return self.start_pipeline(ref.id, inputs)

    def start_pipeline(
        self, saved_item_id: str, inputs: Mapping[str, Any], *, project_id: str | None = None
    ) -> Op[Run]:
        """POST /start_pipeline with inputs sent as ``pipeline_inputs``."""
        ref = WorkflowRef(self.name, None, check_id(saved_item_id, "gumloop saved_item_id"))
        values = check_inputs(self.name, inputs, strings_only=True)
        body = StartPipelineBody(
            user_id=self._user_id,
            saved_item_id=ref.id,
            pipeline_inputs=[PipelineInput(input_name=k, value=v) for k, v in values.items()],
        )
        if project_id is not None:
            body.project_id = project_id

        def parse(started: StartPipelineResponse200) -> Run:
            url = unset(started.url)
            return Run(
                self.name,
                ref,
                response_id(started.run_id, "gumloop run_id"),
                Status.PENDING,
                "STARTED",
                url=url if isinstance(url, str) else None,
                raw=to_dict(started),
            )

        run: Run = yield self.call(
            "start_pipeline", start_pipeline, parse, bind(start_pipeline._get_kwargs, body=body), starts=ref
        )
        return run

    def get_pipeline_run(self, run_id: str, ref: WorkflowRef | None = None, *, url: str | None = None) -> Op[Run]:
        """GET /get_pl_run?run_id=&user_id=."""
        run_id = check_id(run_id, "gumloop run_id")
        ref = ref or WorkflowRef(self.name, "run", run_id)

        def parse(result: PipelineRun) -> Run:
            raw = to_dict(result)
            status = map_status(self.name, STATES, result.state, operation="get_pipeline_run", raw=raw)
            if not isinstance(unset(result.log) or [], list):
                raise TypeError("log is not a list")
            outputs = unset(result.outputs)
            log = unset(result.log) or []
            return Run(
                provider=self.name,
                workflow=ref,
                id=run_id,
                status=status,
                provider_status=result.state,
                outputs=dict(outputs.additional_properties) if outputs is not None else None,
                # No error field: the end of the log explains a failure.
                error="\n".join(str(line) for line in log[-5:]) if status is Status.FAILED else None,
                created_at=as_datetime(result.created_ts),
                finished_at=as_datetime(result.finished_ts),
                url=url,
                raw=raw,
            )

        bound = bind(get_pipeline_run._get_kwargs, run_id=run_id, user_id=self._user_id)
        run: Run = yield self.call("get_pipeline_run", get_pipeline_run, parse, bound)
        return run

    def refresh(self, run: Run) -> Op[Run]:
        return self.get_pipeline_run(run.id, run.workflow, url=run.url)

    def cancel(self, run: Run) -> Op[Run]:
        """POST /kill_pipeline (documented only by a third party), then look at the run again."""
        body = KillPipelineBody(run_id=check_id(run.id, "gumloop run_id"), user_id=self._user_id)
        yield self.call("kill_pipeline", kill_pipeline, lambda r: r, bind(kill_pipeline._get_kwargs, body=body))
        refreshed: Run = yield from self.refresh(run)
        return refreshed


class Gumloop(Namespace[GumloopAdapter]):
    """Gumloop operations. ``client.gumloop.start_pipeline("saved-item", {"topic": "x"})``."""

    provider = "gumloop"

    def start_pipeline(self, saved_item_id: str, inputs: Mapping[str, str], *, project_id: str | None = None) -> Run:
        """Start a flow run; returns the pending run (with its UI url).

        >>> client.gumloop.start_pipeline("weekly-digest", {"topic": "pricing"}).provider_status
        'STARTED'
        """
        return self._client.drive(self._adapter.start_pipeline(saved_item_id, inputs, project_id=project_id))

    def get_run(self, run_id: str) -> Run:
        """Look at a run (``GET /get_pl_run``)."""
        return self._client.drive(self._adapter.get_pipeline_run(run_id))


class AsyncGumloop(AsyncNamespace[GumloopAdapter]):
    """Gumloop operations, awaited."""

    provider = "gumloop"

    async def start_pipeline(
        self, saved_item_id: str, inputs: Mapping[str, str], *, project_id: str | None = None
    ) -> Run:
        """Start a flow run; returns the pending run."""
        return await self._client.drive(self._adapter.start_pipeline(saved_item_id, inputs, project_id=project_id))

    async def get_run(self, run_id: str) -> Run:
        """Look at a run."""
        return await self._client.drive(self._adapter.get_pipeline_run(run_id))


# No run has this id: a good key gets 404, a refused one 401 or 403.
NO_SUCH_RUN = "flowdeck-verify-no-such-run"


def _verify(adapter: GumloopAdapter) -> Op[str]:
    try:
        yield from adapter.get_pipeline_run(NO_SUCH_RUN)
    except NotFoundError:
        return "key and user id accepted (a run that cannot exist is 404, not 401/403)"
    return "key and user id accepted"


PROVIDER = Provider(
    name="gumloop",
    title="Gumloop",
    adapter=GumloopAdapter,
    config=ConfigSpec(
        settings=(
            Setting("api_key", "GUMLOOP_API_KEY", argument="gumloop_api_key"),
            Setting("user_id", "GUMLOOP_USER_ID", secret=False, argument="gumloop_user_id"),  # sent as x-auth-key
        ),
        urls=(URLSetting("base", "gumloop", "GUMLOOP_BASE_URL", "https://api.gumloop.com/api/v1"),),
        requires=(("api_key", "user_id"),),
    ),
    namespaces=(Gumloop, AsyncGumloop),
    runs=RunSupport(
        unknown_start="Gumloop may have started the pipeline run; look in the flow's run history at Gumloop",
    ),
    checks=Checks(
        no_inputs="Gumloop's API publishes no declared inputs (a flow's inputs are its Input nodes' names)",
        verify=_verify,
    ),
    mock=MockSpec(
        app="flowdeck.testing._gumloop:gumloop_app",
        path="/api/v1",
        env=lambda config, url: {
            "GUMLOOP_BASE_URL": url,
            "GUMLOOP_API_KEY": config.gumloop_key,
            "GUMLOOP_USER_ID": config.gumloop_user,
        },
    ),
)
