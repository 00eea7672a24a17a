"""Gumloop: ``start_pipeline`` starts a run, ``get_pl_run`` polls it, ``kill_pipeline`` stops it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from flowdeck_generated.gumloop.api.execution import get_pipeline_run, kill_pipeline, start_pipeline
from flowdeck_generated.gumloop.models import KillPipelineBody, PipelineInput, PipelineRun, StartPipelineBody

from flowdeck._config import ProviderConfig, check_header_safe
from flowdeck._core import Call, Op
from flowdeck._errors import MissingCredentialError
from flowdeck._models import Run, Status, WorkflowRef, check_id
from flowdeck._providers._base import as_datetime, check_inputs, map_status, response_id, to_dict, unset

# The run-details page's state enum plus STARTED from the getting-started prose
# (docs.gumloop.com). The official SDK treats TERMINATING as final; so do we (it only ever
# ends TERMINATED). Any other word is an UnknownStatusError with the raw body: `state` is an open
# string in our spec, never an enum, so a new word reaches this table instead of failing parsing.
STATES: Mapping[str, Status] = {
    "STARTED": Status.PENDING,
    "RUNNING": Status.RUNNING,
    "DONE": Status.SUCCEEDED,
    "FAILED": Status.FAILED,
    "TERMINATING": Status.CANCELLED,
    "TERMINATED": Status.CANCELLED,
}


class GumloopAdapter:
    """Gumloop flows (``gumloop:<saved_item_id>``)."""

    name: ClassVar[str] = "gumloop"

    def __init__(self, config: ProviderConfig) -> None:
        config.check_transport()
        self._config = config
        key = config.require("api_key", "GUMLOOP_API_KEY").reveal()
        self._user_id = config.extra.get("user_id", "")
        if not self._user_id:
            raise MissingCredentialError(self.name, "GUMLOOP_USER_ID")
        check_header_safe(self.name, "GUMLOOP_USER_ID", self._user_id)  # it is sent as x-auth-key
        # Personal keys need x-auth-key (the user id); OAuth callers would omit it (providers.md).
        self._headers = {"Authorization": f"Bearer {key}", "x-auth-key": self._user_id}

    def _call(self, operation: str, module: Any, parse: Any, **kwargs: Any) -> Call[Any]:
        starts = kwargs.pop("_starts", "")
        return Call(
            self.name, operation, module, self._config.base_url, parse, (), kwargs, self._headers,
            starts_run=bool(starts), workflow=starts,
        )  # fmt: skip

    def start(self, ref: WorkflowRef, inputs: Mapping[str, Any]) -> Op[Run]:
        return self.start_pipeline(ref.id, inputs)

    def start_pipeline(
        self, saved_item_id: str, inputs: Mapping[str, Any], *, project_id: str | None = None
    ) -> Op[Run]:
        """POST /start_pipeline with inputs sent as ``pipeline_inputs``."""
        ref = WorkflowRef(self.name, "flow", check_id(saved_item_id, "gumloop saved_item_id"))
        values = check_inputs(self.name, inputs, strings_only=True)
        body = StartPipelineBody(
            user_id=self._user_id, saved_item_id=ref.id,
            pipeline_inputs=[PipelineInput(input_name=k, value=v) for k, v in values.items()],
        )  # fmt: skip
        if project_id is not None:
            body.project_id = project_id

        def parse(started: Any) -> Run:
            url = unset(started.url)
            return Run(
                self.name, ref, response_id(started.run_id, "gumloop run_id"), Status.PENDING, "STARTED",
                url=url if isinstance(url, str) else None, raw=to_dict(started),
            )  # fmt: skip

        run: Run = yield self._call("start_pipeline", start_pipeline, parse, body=body, _starts=str(ref))
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
                provider=self.name, workflow=ref, id=run_id, status=status, provider_status=result.state,
                outputs=dict(outputs.additional_properties) if outputs is not None else None,
                # Gumloop has no error field: a failed run's explanation is the end of its log.
                error="\n".join(str(line) for line in log[-5:]) if status is Status.FAILED else None,
                created_at=as_datetime(result.created_ts), finished_at=as_datetime(result.finished_ts),
                url=url, raw=raw,
            )  # fmt: skip

        run: Run = yield self._call("get_pipeline_run", get_pipeline_run, parse, run_id=run_id, user_id=self._user_id)
        return run

    def refresh(self, run: Run) -> Op[Run]:
        return self.get_pipeline_run(run.id, run.workflow, url=run.url)

    def cancel(self, run: Run) -> Op[Run]:
        """POST /kill_pipeline (documented only by a third party), then look at the run again."""
        body = KillPipelineBody(run_id=check_id(run.id, "gumloop run_id"), user_id=self._user_id)
        yield self._call("kill_pipeline", kill_pipeline, lambda r: r, body=body)
        refreshed: Run = yield from self.refresh(run)
        return refreshed
