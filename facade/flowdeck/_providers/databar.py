"""Databar: flows and waterfalls start tasks; ``GET /v1/tasks/{id}`` polls them; results expire in 24 h.

What this relies on about Databar's API is written down in docs/providers/databar.md.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from flowdeck_generated.databar.api.flows import get_flow, run_flow
from flowdeck_generated.databar.api.tasks import cancel_task, get_task
from flowdeck_generated.databar.api.user import get_user
from flowdeck_generated.databar.api.waterfall import run_waterfall
from flowdeck_generated.databar.models import FlowDetail, Inputs, Params, RunFlowIn, Task, User, WaterfallRequest

from flowdeck._config import ConfigSpec, ProviderConfig, Setting, URLSetting
from flowdeck._core import Op, bind
from flowdeck._errors import GoneError, InvalidRequestError
from flowdeck._models import Account, DeclaredInput, Flow, Run, Status, WorkflowRef
from flowdeck._namespaces import AsyncNamespace, Namespace
from flowdeck._providers._base import (
    AdapterBase,
    Checks,
    Clock,
    MockSpec,
    Provider,
    RefSyntax,
    check_id,
    check_inputs,
    map_status,
    response_id,
    to_dict,
    unset,
)

# The official SDK's TaskStatus words and what its poller does with them (docs/providers/databar.md):
# `no_data` keeps polling as the SDK does; `success`/`error` are legacy spellings the SDK still
# accepts. Any other word is an UnknownStatusError carrying the raw body: a status field is an open
# string in our spec (never an enum), so a new word reaches this table instead of failing parsing.
STATUSES: Mapping[str, Status] = {
    "created": Status.PENDING,  # the waterfall page's example answer
    "processing": Status.RUNNING,
    "no_data": Status.RUNNING,
    "completed": Status.SUCCEEDED,
    "partially_completed": Status.SUCCEEDED,
    "success": Status.SUCCEEDED,
    "failed": Status.FAILED,
    "error": Status.FAILED,
    "cancelled": Status.CANCELLED,
    "gone": Status.EXPIRED,
}


def _error_text(error: Any) -> str | None:
    error = unset(error)
    if error is None:
        return None
    if isinstance(error, list):
        return "; ".join(str(e) for e in error)
    return str(error)


class DatabarAdapter(AdapterBase):
    """Databar flows (``databar:flow/<id>``) and waterfalls (``databar:waterfall/<id>``)."""

    name: ClassVar[str] = "databar"

    def __init__(self, config: ProviderConfig, *, clock: Clock) -> None:
        super().__init__(config, clock=clock)
        self.headers = {"x-apikey": config.require("api_key")}

    def _task_run(self, ref: WorkflowRef, task: Task, operation: str) -> Run:
        raw = to_dict(task)
        status = map_status(self.name, STATUSES, task.status, operation=operation, raw=raw)
        return Run(
            provider=self.name, workflow=ref, id=response_id(task.task_id, "databar task id"), status=status,
            provider_status=task.status, outputs=unset(task.data), error=_error_text(task.error), raw=raw,
        )  # fmt: skip

    def start(self, ref: WorkflowRef, inputs: Mapping[str, Any]) -> Op[Run]:
        if ref.kind == "waterfall":
            values = check_inputs(self.name, inputs)
            enrichments = values.pop("enrichments", None)  # none: the waterfall's default cascade
            verifier = values.pop("email_verifier", None)
            return self.run_waterfall(ref.id, values, enrichments, email_verifier=verifier)
        return self.run_flow(ref.id, inputs)

    def run_flow(self, flow_id: str, inputs: Mapping[str, Any]) -> Op[Run]:
        """POST /v1/flows/{flow_id}/run."""
        ref = WorkflowRef(self.name, "flow", check_id(flow_id, "databar flow id"))
        body = RunFlowIn(inputs=Inputs.from_dict(check_inputs(self.name, inputs, strings_only=True)))
        bound = bind(run_flow._get_kwargs, ref.id, body=body)
        run: Run = yield self.call("run_flow", run_flow, lambda r: self._pending(ref, r), bound, starts=ref)
        return run

    def run_waterfall(
        self,
        identifier: str,
        params: Mapping[str, Any],
        enrichments: Any = None,
        *,
        email_verifier: int | None = None,
    ) -> Op[Run]:
        """POST /v1/waterfalls/{identifier}/run; no ``enrichments`` runs the waterfall's default cascade.

        Like the official SDK, an empty or absent list is left out of the request (the published page
        calls the field required; the SDK's documented behaviour is followed, see the spec overlay).
        """
        ref = WorkflowRef(self.name, "waterfall", check_id(identifier, "databar waterfall id"))
        if enrichments is not None and (
            not isinstance(enrichments, list)
            or not all(isinstance(e, int) and not isinstance(e, bool) for e in enrichments)
        ):
            raise InvalidRequestError("databar waterfall 'enrichments' must be a list of integer ids")
        if email_verifier is not None and (not isinstance(email_verifier, int) or isinstance(email_verifier, bool)):
            raise InvalidRequestError("databar waterfall 'email_verifier' must be an integer id")
        body = WaterfallRequest(params=Params.from_dict(check_inputs(self.name, params)), email_verifier=email_verifier)
        if enrichments:
            body.enrichments = enrichments
        bound = bind(run_waterfall._get_kwargs, ref.id, body=body)
        run: Run = yield self.call("run_waterfall", run_waterfall, lambda r: self._pending(ref, r), bound, starts=ref)
        return run

    def _pending(self, ref: WorkflowRef, started: Any) -> Run:
        raw = to_dict(started)
        status = map_status(self.name, STATUSES, started.status, operation="start", raw=raw)
        task_id = response_id(started.task_id, "databar task id")
        return Run(self.name, ref, task_id, status, started.status, raw=raw)

    def get_task(self, task_id: str, ref: WorkflowRef | None = None) -> Op[Run]:
        """GET /v1/tasks/{task_id}; an expired task (410) comes back as an EXPIRED run."""
        ref = ref or WorkflowRef(self.name, "task", check_id(task_id, "databar task id"))
        bound = bind(get_task._get_kwargs, check_id(task_id, "databar task id"))
        call = self.call("get_task", get_task, lambda t: self._task_run(ref, t, "get_task"), bound)
        try:
            run: Run = yield call
        except GoneError as exc:
            return Run(self.name, ref, task_id, Status.EXPIRED, "gone", error="task data has expired", raw=exc.body)
        return run

    def refresh(self, run: Run) -> Op[Run]:
        return self.get_task(run.id, run.workflow)

    def cancel(self, run: Run) -> Op[Run]:
        return self.cancel_task(run.id, run.workflow)

    def cancel_task(self, task_id: str, ref: WorkflowRef | None = None) -> Op[Run]:
        """POST /v1/tasks/{task_id}/cancel; 409 (ConflictError) if the task already ended."""
        ref = ref or WorkflowRef(self.name, "task", check_id(task_id, "databar task id"))
        bound = bind(cancel_task._get_kwargs, check_id(task_id, "databar task id"))
        run: Run = yield self.call("cancel_task", cancel_task, lambda t: self._task_run(ref, t, "cancel_task"), bound)
        return run

    def get_flow(self, flow_id: str) -> Op[dict[str, Any]]:
        """GET /v1/flows/{flow_id}: the flow with its declared inputs, as JSON data (``inputs[].id``...)."""
        bound = bind(get_flow._get_kwargs, check_id(flow_id, "databar flow id"))
        flow: dict[str, Any] = yield self.call("get_flow", get_flow, to_dict, bound)
        return flow

    def get_user(self) -> Op[dict[str, Any]]:
        """GET /v1/user/me: the account behind the key, as JSON data (``balance`` is the credits left)."""
        user: dict[str, Any] = yield self.call("get_user", get_user, to_dict, bind(get_user._get_kwargs))
        return user

    def read_flow(self, flow_id: str) -> Op[Flow]:
        """GET /v1/flows/{flow_id} as a :class:`Flow` with its declared inputs."""
        flow: Flow = yield self.call("get_flow", get_flow, _flow, check_id(flow_id, "databar flow id"))
        return flow

    def read_account(self) -> Op[Account]:
        """GET /v1/user/me as an :class:`Account` (``balance``: the credits left)."""
        account: Account = yield self.call("get_user", get_user, _account)
        return account


def _flow(detail: FlowDetail) -> Flow:
    # Fields beyond the SDK's FlowDetail stay in ``raw`` (the generated model keeps them aside).
    inputs = tuple(
        DeclaredInput(i.id, required=bool(i.required), type=str(i.type_), description=str(i.description or ""))
        for i in unset(detail.inputs) or []
    )
    return Flow(str(detail.id), str(detail.name), str(detail.description or ""), inputs, raw=detail.to_dict())


def _account(user: User) -> Account:
    workspace = unset(user.workspace)
    return Account(
        email=str(user.email), plan=str(user.plan), balance=float(user.balance),
        workspace=None if workspace is None else str(workspace), raw=user.to_dict(),
    )  # fmt: skip


class Databar(Namespace[DatabarAdapter]):
    """Databar operations. ``client.databar.run_flow("123", {"domain": "stripe.com"})``."""

    provider = "databar"

    def run_flow(self, flow_id: str, inputs: Mapping[str, str]) -> Run:
        """Start a flow (``POST /v1/flows/{flow_id}/run``); returns the pending run.

        >>> client.databar.run_flow("enrich-company", {"domain": "stripe.com"}).status
        <Status.RUNNING: 'RUNNING'>
        """
        return self._client.drive(self._adapter.run_flow(flow_id, inputs))

    def run_waterfall(
        self,
        identifier: str,
        params: Mapping[str, Any],
        enrichments: Sequence[int] | None = None,
        *,
        email_verifier: int | None = None,
    ) -> Run:
        """Start a waterfall with the given enrichment ids (none: its default cascade); returns the pending run."""
        chosen = None if enrichments is None else list(enrichments)
        return self._client.drive(
            self._adapter.run_waterfall(identifier, params, chosen, email_verifier=email_verifier)
        )

    def get_task(self, task_id: str) -> Run:
        """Look at a task (``GET /v1/tasks/{task_id}``); an expired one comes back EXPIRED."""
        return self._client.drive(self._adapter.get_task(task_id))

    def cancel_task(self, task_id: str) -> Run:
        """Cancel a task; :class:`~flowdeck.ConflictError` if it already ended."""
        return self._client.drive(self._adapter.cancel_task(task_id))

    def get_flow(self, flow_id: str) -> Flow:
        """A flow and the inputs it declares (``GET /v1/flows/{flow_id}``); NotFoundError if unknown.

        >>> flow = client.databar.get_flow("enrich-company")
        >>> [(i.id, i.required) for i in flow.inputs]
        [('domain', False)]
        """
        return self._client.drive(self._adapter.read_flow(flow_id))

    def me(self) -> Account:
        """The account behind the API key: email, plan and credit balance (``GET /v1/user/me``).

        >>> account = client.databar.me()
        >>> account.plan, account.balance > 0
        ('mock', True)
        """
        return self._client.drive(self._adapter.read_account())


class AsyncDatabar(AsyncNamespace[DatabarAdapter]):
    """Databar operations, awaited."""

    provider = "databar"

    async def run_flow(self, flow_id: str, inputs: Mapping[str, str]) -> Run:
        """Start a flow; returns the pending run."""
        return await self._client.drive(self._adapter.run_flow(flow_id, inputs))

    async def run_waterfall(
        self,
        identifier: str,
        params: Mapping[str, Any],
        enrichments: Sequence[int] | None = None,
        *,
        email_verifier: int | None = None,
    ) -> Run:
        """Start a waterfall (no enrichments: its default cascade); returns the pending run."""
        chosen = None if enrichments is None else list(enrichments)
        return await self._client.drive(
            self._adapter.run_waterfall(identifier, params, chosen, email_verifier=email_verifier)
        )

    async def get_task(self, task_id: str) -> Run:
        """Look at a task; an expired one comes back EXPIRED."""
        return await self._client.drive(self._adapter.get_task(task_id))

    async def cancel_task(self, task_id: str) -> Run:
        """Cancel a task."""
        return await self._client.drive(self._adapter.cancel_task(task_id))

    async def get_flow(self, flow_id: str) -> Flow:
        """A flow and the inputs it declares.

        >>> async def inputs():
        ...     async with flowdeck.AsyncClient(env=mock_env) as client:
        ...         return (await client.databar.get_flow("enrich-company")).required
        >>> asyncio.run(inputs())
        ()
        """
        return await self._client.drive(self._adapter.read_flow(flow_id))

    async def me(self) -> Account:
        """The account behind the API key: email, plan and credit balance."""
        return await self._client.drive(self._adapter.read_account())


def _declared(adapter: DatabarAdapter, ref: WorkflowRef) -> Op[Flow | None]:
    if ref.kind != "flow":
        return None
    flow: Flow = yield from adapter.read_flow(ref.id)
    return flow


def _verify(adapter: DatabarAdapter) -> Op[str]:
    account: Account = yield from adapter.read_account()
    return f"{account.email}, plan {account.plan}, balance {account.balance:g} credits"


def _balance(adapter: DatabarAdapter) -> Op[float]:
    account: Account = yield from adapter.read_account()
    return account.balance


def _cost(run: Run) -> float | None:
    """The credits a finished task spent: ``credits_spent`` of its last answer, when it is a number."""
    spent = run.raw.get("credits_spent") if isinstance(run.raw, dict) else None
    return float(spent) if isinstance(spent, int | float) and not isinstance(spent, bool) else None


PROVIDER = Provider(
    name="databar",
    title="Databar",
    adapter=DatabarAdapter,
    config=ConfigSpec(
        settings=(Setting("api_key", "DATABAR_API_KEY", argument="databar_api_key"),),
        urls=(URLSetting("base", "databar", "DATABAR_BASE_URL", "https://api.databar.ai"),),
        requires=(("api_key",),),
    ),
    refs=RefSyntax(kinds=("flow", "waterfall")),
    namespaces=(Databar, AsyncDatabar),
    checks=Checks(
        inputs=_declared,
        no_inputs="Databar publishes declared inputs for flows only (GET /v1/flows/{id}), not for waterfalls",
        verify=_verify,
        balance=_balance,
        cost=_cost,
    ),
    mock=MockSpec(
        app="flowdeck.testing._databar:databar_app",
        env=lambda config, url: {"DATABAR_BASE_URL": url, "DATABAR_API_KEY": config.databar_key},
    ),
)
