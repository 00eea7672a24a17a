"""StackAI: one synchronous call runs the flow and returns its outputs; there is nothing to poll.

What this relies on about StackAI's API is written down in docs/providers/stackai.md.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any, ClassVar

from flowdeck_generated.stackai.api.run_flow import run_deployed_flow
from flowdeck_generated.stackai.models import Inputs, RunResult

from flowdeck._config import ConfigSpec, ProviderConfig, Setting, URLSetting
from flowdeck._core import Op
from flowdeck._models import Run, Status, WorkflowRef
from flowdeck._namespaces import AsyncNamespace, Namespace
from flowdeck._providers._base import (
    AdapterBase,
    Checks,
    Clock,
    MockSpec,
    Provider,
    RefSyntax,
    RunSupport,
    bind,
    check_id,
    check_inputs,
    not_supported,
    to_dict,
    unset,
)

# Only COMPLETED is published; a 200 with `error` set is a failure, any
# other 200 a success that keeps its word in `provider_status`.
STATES: Mapping[str, Status] = {"COMPLETED": Status.SUCCEEDED, "FAILED": Status.FAILED, "ERROR": Status.FAILED}
RUN_TIMEOUT = 600.0  # the call blocks until the flow ends; allow long flows


class StackAIAdapter(AdapterBase):
    """StackAI deployed flows (``stackai:<org_id>/<flow_id>``)."""

    name: ClassVar[str] = "stackai"

    def __init__(self, config: ProviderConfig, *, clock: Clock) -> None:
        super().__init__(config, clock=clock)
        self.headers = {"Authorization": f"Bearer {config.require('api_key')}"}

    def start(self, ref: WorkflowRef, inputs: Mapping[str, Any]) -> Op[Run]:
        return self.run_deployed_flow(ref.org or "", ref.id, inputs)

    def run_deployed_flow(
        self, org_id: str, flow_id: str, inputs: Mapping[str, Any], *, version: int | None = None
    ) -> Op[Run]:
        """POST /inference/v0/run/{org_id}/{flow_id}: runs to completion; the run returned is terminal."""
        org = check_id(org_id, "stackai org id")
        ref = WorkflowRef(self.name, None, check_id(flow_id, "stackai flow id"), org=org)
        body = Inputs.from_dict(check_inputs(self.name, inputs))
        bound = (
            bind(run_deployed_flow._get_kwargs, org, ref.id, body=body)
            if version is None
            else bind(run_deployed_flow._get_kwargs, org, ref.id, body=body, version=version)
        )
        run: Run = yield self.call(
            "run_deployed_flow",
            run_deployed_flow,
            lambda result: self._run(ref, result),
            bound,
            starts=ref,
            timeout=RUN_TIMEOUT,
        )
        return run

    def _run(self, ref: WorkflowRef, result: RunResult) -> Run:
        raw = to_dict(result)
        error, state = unset(result.error), unset(result.state)
        # `error` set is a failure, even on a 200.
        status = Status.FAILED if error is not None else STATES.get(state or "COMPLETED", Status.SUCCEEDED)
        run_id = unset(result.run_id)
        return Run(
            provider=self.name,
            workflow=ref,
            # Assumed: results still need an id to be keyed by.
            id=run_id if isinstance(run_id, str) and run_id else f"local-{uuid.uuid4()}",
            status=status,
            provider_status=state or ("ERROR" if error is not None else "COMPLETED"),
            outputs=dict(result.outputs.additional_properties),
            error=None if error is None else str(error),
            raw=raw,
        )

    def refresh(self, run: Run) -> Op[Run]:
        # A StackAI run has ended when its start returns.
        return run
        yield  # pragma: no cover - makes this a generator

    def cancel(self, run: Run) -> Op[Run]:
        raise not_supported(self.name, "cancelling runs (runs are synchronous)")
        yield  # pragma: no cover


class StackAI(Namespace[StackAIAdapter]):
    """StackAI operations. ``client.stackai.run_deployed_flow("org", "flow", {"in-0": "hi"})``."""

    provider = "stackai"

    def run_deployed_flow(
        self, org_id: str, flow_id: str, inputs: Mapping[str, Any], *, version: int | None = None
    ) -> Run:
        """Run a deployed flow to completion (the call blocks); returns the terminal run.

        >>> client.stackai.run_deployed_flow("acme", "support-bot", {"in-0": "hi"}).status
        <Status.SUCCEEDED: 'SUCCEEDED'>
        """
        return self._client.drive(self._adapter.run_deployed_flow(org_id, flow_id, inputs, version=version))


class AsyncStackAI(AsyncNamespace[StackAIAdapter]):
    """StackAI operations, awaited."""

    provider = "stackai"

    async def run_deployed_flow(
        self, org_id: str, flow_id: str, inputs: Mapping[str, Any], *, version: int | None = None
    ) -> Run:
        """Run a deployed flow to completion; returns the terminal run."""
        return await self._client.drive(self._adapter.run_deployed_flow(org_id, flow_id, inputs, version=version))


PROVIDER = Provider(
    name="stackai",
    title="StackAI",
    adapter=StackAIAdapter,
    config=ConfigSpec(
        settings=(Setting("api_key", "STACKAI_API_KEY", argument="stackai_api_key"),),
        urls=(URLSetting("base", "stackai", "STACKAI_BASE_URL", "https://api.stack-ai.com"),),
        requires=(("api_key",),),
    ),
    refs=RefSyntax(org=True),
    namespaces=(StackAI, AsyncStackAI),
    runs=RunSupport(
        no_status="a StackAI run ends inside the call that starts it, so there is no run to look up later",
        no_cancel="a StackAI run ends inside the call that starts it, so there is no run left to cancel",
        start_blocks=True,
        unknown_start=(
            "StackAI may have run the flow to its end (it answers only when a run ends, and keeps no run "
            "to look up by id); check what the flow did at StackAI"
        ),
    ),
    checks=Checks(
        no_inputs="StackAI's API publishes no declared inputs (a deployed flow takes inputs by node id: in-0...)",
        unverifiable="StackAI has no read-only call: a key can only be verified by running a flow",
    ),
    mock=MockSpec(
        app="flowdeck.testing._stackai:stackai_app",
        env=lambda config, url: {"STACKAI_BASE_URL": url, "STACKAI_API_KEY": config.stackai_key},
    ),
)
