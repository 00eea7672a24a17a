"""Databar: flows and waterfalls start tasks; ``GET /v1/tasks/{id}`` polls them; results expire in 24 h.

What this relies on about Databar's API is written down in docs/providers/databar.md.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, TypeVar

from flowdeck_generated.databar.api.enrichments import run_enrichment
from flowdeck_generated.databar.api.flows import get_flow, run_flow, run_flow_bulk
from flowdeck_generated.databar.api.tasks import cancel_task, get_task
from flowdeck_generated.databar.api.user import get_user
from flowdeck_generated.databar.api.waterfall import run_waterfall, run_waterfall_bulk
from flowdeck_generated.databar.models import (
    BulkRunFlowIn,
    BulkWaterfallRequest,
    EnrichmentPagination,
    EnrichmentRunRequest,
    EnrichmentRunRequestParams,
    FlowDetail,
    Inputs,
    Params,
    RunFlowIn,
    RunResponse,
    Task,
    User,
    WaterfallRequest,
    WaterfallTask,
)

from flowdeck._config import ConfigSpec, ProviderConfig, Setting, URLSetting
from flowdeck._core import Call, Op
from flowdeck._details import Account, DeclaredInput, Flow
from flowdeck._errors import GoneError, InvalidRequestError
from flowdeck._models import Run, Status, WorkflowRef, credits_text
from flowdeck._namespaces import AsyncNamespace, Namespace
from flowdeck._providers._base import (
    AdapterBase,
    Bulk,
    Checks,
    Clock,
    MockSpec,
    Provider,
    RefSyntax,
    RunSupport,
    bind,
    check_id,
    check_inputs,
    map_status,
    response_id,
    to_dict,
    unset,
)

T = TypeVar("T")

# The official SDK's TaskStatus words, read as its poller reads them.
# An open string in our spec, so a new word reaches this table.
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
            provider=self.name,
            workflow=ref,
            id=response_id(task.task_id, "databar task id"),
            status=status,
            provider_status=task.status,
            outputs=unset(task.data),
            error=_error_text(task.error),
            raw=raw,
        )

    def start(self, ref: WorkflowRef, inputs: Mapping[str, Any]) -> Op[Run]:
        if ref.kind == "waterfall":
            values = check_inputs(self.name, inputs)
            enrichments = values.pop("enrichments", None)  # none: the waterfall's default cascade
            verifier = values.pop("email_verifier", None)
            return self.run_waterfall(ref.id, values, enrichments, email_verifier=verifier)
        if ref.kind == "enrichment":
            return self.run_enrichment(ref.id, inputs)
        return self.run_flow(ref.id, inputs)

    def run_enrichment(
        self, enrichment_id: int | str, params: Mapping[str, Any], *, pages: int | None = None
    ) -> Op[Run]:
        """POST /v1/enrichments/{enrichment_id}/run: one enrichment on one set of params, as a task.

        ``pages`` (more than 1) fetches that many pages of a list-style enrichment's results; like the
        official SDK, 1 or None leaves pagination out of the request.
        """
        number = _enrichment_id(enrichment_id)
        ref = WorkflowRef(self.name, "enrichment", str(number))
        if pages is not None and (not isinstance(pages, int) or isinstance(pages, bool) or pages < 1):
            raise InvalidRequestError(f"databar enrichment pages must be an integer >= 1, not {pages!r}")
        body = EnrichmentRunRequest(params=EnrichmentRunRequestParams.from_dict(check_inputs(self.name, params)))
        if pages is not None and pages > 1:
            body.pagination = EnrichmentPagination(pages=pages)
        bound = bind(run_enrichment._get_kwargs, number, body=body)
        run: Run = yield self.call("run_enrichment", run_enrichment, lambda r: self._pending(ref, r), bound, starts=ref)
        return run

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
        _check_waterfall_options(enrichments, email_verifier)
        body = WaterfallRequest(params=Params.from_dict(check_inputs(self.name, params)), email_verifier=email_verifier)
        if enrichments:
            body.enrichments = enrichments
        bound = bind(run_waterfall._get_kwargs, ref.id, body=body)
        run: Run = yield self.call("run_waterfall", run_waterfall, lambda r: self._pending(ref, r), bound, starts=ref)
        return run

    def run_flow_bulk(self, flow_id: str, inputs: Sequence[Mapping[str, Any]]) -> Op[Run]:
        """POST /v1/flows/{flow_id}/bulk-run: one task over many input sets (its data: a list aligned to them)."""
        ref = WorkflowRef(self.name, "flow", check_id(flow_id, "databar flow id"))
        items = [check_inputs(self.name, i, strings_only=True) for i in _non_empty(inputs, "inputs")]
        body = BulkRunFlowIn.from_dict({"inputs": items})
        bound = bind(run_flow_bulk._get_kwargs, ref.id, body=body)
        run: Run = yield self.call("run_flow_bulk", run_flow_bulk, lambda r: self._pending(ref, r), bound, starts=ref)
        return run

    def run_waterfall_bulk(
        self,
        identifier: str,
        params: Sequence[Mapping[str, Any]],
        enrichments: Any = None,
        *,
        email_verifier: int | None = None,
    ) -> Op[Run]:
        """POST /v1/waterfalls/{identifier}/bulk-run: one task over many params (no enrichments: default cascade)."""
        ref = WorkflowRef(self.name, "waterfall", check_id(identifier, "databar waterfall id"))
        _check_waterfall_options(enrichments, email_verifier)
        body: dict[str, Any] = {"params": [check_inputs(self.name, p) for p in _non_empty(params, "params")]}
        if enrichments:
            body["enrichments"] = list(enrichments)
        if email_verifier is not None:
            body["email_verifier"] = email_verifier
        bound = bind(run_waterfall_bulk._get_kwargs, ref.id, body=BulkWaterfallRequest.from_dict(body))
        run: Run = yield self.call(
            "run_waterfall_bulk", run_waterfall_bulk, lambda r: self._pending(ref, r), bound, starts=ref
        )
        return run

    def _pending(self, ref: WorkflowRef, started: RunResponse | WaterfallTask) -> Run:
        raw = to_dict(started)
        status = map_status(self.name, STATUSES, started.status, operation="start", raw=raw)
        task_id = response_id(started.task_id, "databar task id")
        return Run(self.name, ref, task_id, status, started.status, raw=raw)

    def get_task(self, task_id: str, ref: WorkflowRef | None = None, *, include_partial: bool = False) -> Op[Run]:
        """GET /v1/tasks/{task_id}; an expired task (410) comes back as an EXPIRED run.

        ``include_partial``: a running bulk task's data holds the inputs already finished (not aligned).
        """
        ref = ref or WorkflowRef(self.name, "task", check_id(task_id, "databar task id"))
        bound = bind(get_task._get_kwargs, check_id(task_id, "databar task id"), include_partial=include_partial)
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
        flow: dict[str, Any] = yield self._flow_call(flow_id, to_dict)
        return flow

    def get_user(self) -> Op[dict[str, Any]]:
        """GET /v1/user/me: the account behind the key, as JSON data (``balance`` is the credits left)."""
        user: dict[str, Any] = yield self._user_call(to_dict)
        return user

    def read_flow(self, flow_id: str) -> Op[Flow]:
        """GET /v1/flows/{flow_id} as a :class:`Flow` with its declared inputs."""
        flow: Flow = yield self._flow_call(flow_id, _flow)
        return flow

    def read_account(self) -> Op[Account]:
        """GET /v1/user/me as an :class:`Account` (``balance``: the credits left)."""
        account: Account = yield self._user_call(_account)
        return account

    # One bound call per operation, whichever form the answer is read into.
    def _flow_call(self, flow_id: str, parse: Callable[[FlowDetail], T]) -> Call[T]:
        return self.call("get_flow", get_flow, parse, bind(get_flow._get_kwargs, check_id(flow_id, "databar flow id")))

    def _user_call(self, parse: Callable[[User], T]) -> Call[T]:
        return self.call("get_user", get_user, parse, bind(get_user._get_kwargs))


def _enrichment_id(value: object) -> int:
    """An enrichment id: Databar's are integers (``databar:enrichment/123``)."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    text = check_id(value, "databar enrichment id") if not isinstance(value, int) else str(value)
    if not text.isascii() or not text.isdigit():
        raise InvalidRequestError(f"databar enrichment id must be an integer, not {text[:40]!r}")
    return int(text)


def _check_waterfall_options(enrichments: Any, email_verifier: Any) -> None:
    if enrichments is not None and (
        not isinstance(enrichments, list)
        or not all(isinstance(e, int) and not isinstance(e, bool) for e in enrichments)
    ):
        raise InvalidRequestError("databar waterfall 'enrichments' must be a list of integer ids")
    if email_verifier is not None and (not isinstance(email_verifier, int) or isinstance(email_verifier, bool)):
        raise InvalidRequestError("databar waterfall 'email_verifier' must be an integer id")


def _non_empty(items: Any, what: str) -> list[Any]:
    if isinstance(items, str | bytes | Mapping) or not isinstance(items, Sequence) or not items:
        raise InvalidRequestError(f"databar bulk {what} must be a non-empty list of mappings")
    return list(items)


def _flow(detail: FlowDetail) -> Flow:
    # Fields beyond the SDK's FlowDetail stay in ``raw``.
    inputs = tuple(
        DeclaredInput(i.id, required=bool(i.required), type=str(i.type_), description=str(i.description or ""))
        for i in unset(detail.inputs) or []
    )
    return Flow(str(detail.id), str(detail.name), str(detail.description or ""), inputs, raw=detail.to_dict())


def _account(user: User) -> Account:
    workspace = unset(user.workspace)
    return Account(
        email=str(user.email),
        plan=str(user.plan),
        balance=float(user.balance),
        workspace=None if workspace is None else str(workspace),
        raw=user.to_dict(),
    )


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

    def run_enrichment(self, enrichment_id: int, params: Mapping[str, Any], *, pages: int | None = None) -> Run:
        """Start an enrichment (``POST /v1/enrichments/{enrichment_id}/run``); returns the pending run.

        >>> run = client.wait(client.databar.run_enrichment(123, {"email": "alice@example.com"}))
        >>> run.status, run.outputs["inputs"]
        (<Status.SUCCEEDED: 'SUCCEEDED'>, {'email': 'alice@example.com'})
        """
        return self._client.drive(self._adapter.run_enrichment(enrichment_id, params, pages=pages))

    def get_task(self, task_id: str, *, include_partial: bool = False) -> Run:
        """Look at a task (``GET /v1/tasks/{task_id}``); an expired one comes back EXPIRED.

        For a running bulk task, ``raw["progress"]`` counts its inputs, and ``include_partial=True``
        puts the results of the inputs already finished in ``outputs`` (not aligned to the inputs).
        """
        return self._client.drive(self._adapter.get_task(task_id, include_partial=include_partial))

    def cancel_task(self, task_id: str) -> Run:
        """Cancel a task; :class:`~flowdeck.ConflictError` if it already ended."""
        return self._client.drive(self._adapter.cancel_task(task_id))

    def run_flow_bulk(self, flow_id: str, inputs: Sequence[Mapping[str, str]]) -> Run:
        """Start one task running a flow over many input sets; wait for it, then ``outputs`` is a list
        aligned to ``inputs`` with None for each input that found nothing. :func:`bulk_rows` splits it.

        >>> run = client.wait(client.databar.run_flow_bulk("enrich", [{"domain": "a.com"}, {"domain": "b.com"}]))
        >>> [row["inputs"]["domain"] for row in run.outputs], run.raw["progress"]["completed"]
        (['a.com', 'b.com'], 2)
        """
        return self._client.drive(self._adapter.run_flow_bulk(flow_id, inputs))

    @staticmethod
    def bulk_rows(run: Run, count: int) -> list[Run]:
        """One run per input of a finished bulk task of ``count`` inputs, in input order, each with its
        own status (an input that found nothing is FAILED).

        >>> task = client.wait(client.databar.run_flow_bulk("enrich", [{"domain": "a.com"}]))
        >>> [row.status.value for row in client.databar.bulk_rows(task, 1)]
        ['SUCCEEDED']
        """
        return bulk_rows(run, count)

    def run_waterfall_bulk(
        self,
        identifier: str,
        params: Sequence[Mapping[str, Any]],
        enrichments: Sequence[int] | None = None,
        *,
        email_verifier: int | None = None,
    ) -> Run:
        """Start one task running a waterfall over many params (no enrichments: its default cascade).

        >>> run = client.wait(client.databar.run_waterfall_bulk("email_getter", [{"email": "a@b.c"}]))
        >>> run.provider_status, len(run.outputs)
        ('completed', 1)
        """
        chosen = None if enrichments is None else list(enrichments)
        return self._client.drive(
            self._adapter.run_waterfall_bulk(identifier, params, chosen, email_verifier=email_verifier)
        )

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

    async def run_enrichment(self, enrichment_id: int, params: Mapping[str, Any], *, pages: int | None = None) -> Run:
        """Start an enrichment (``POST /v1/enrichments/{enrichment_id}/run``); returns the pending run."""
        return await self._client.drive(self._adapter.run_enrichment(enrichment_id, params, pages=pages))

    async def get_task(self, task_id: str, *, include_partial: bool = False) -> Run:
        """Look at a task; an expired one comes back EXPIRED (``include_partial``: see the sync twin)."""
        return await self._client.drive(self._adapter.get_task(task_id, include_partial=include_partial))

    async def cancel_task(self, task_id: str) -> Run:
        """Cancel a task."""
        return await self._client.drive(self._adapter.cancel_task(task_id))

    async def run_flow_bulk(self, flow_id: str, inputs: Sequence[Mapping[str, str]]) -> Run:
        """Start one task running a flow over many input sets; returns the pending run."""
        return await self._client.drive(self._adapter.run_flow_bulk(flow_id, inputs))

    @staticmethod
    def bulk_rows(run: Run, count: int) -> list[Run]:
        """One run per input of a finished bulk task, as :meth:`Databar.bulk_rows` (no I/O: not awaited)."""
        return bulk_rows(run, count)

    async def run_waterfall_bulk(
        self,
        identifier: str,
        params: Sequence[Mapping[str, Any]],
        enrichments: Sequence[int] | None = None,
        *,
        email_verifier: int | None = None,
    ) -> Run:
        """Start one task running a waterfall over many params; returns the pending run."""
        chosen = None if enrichments is None else list(enrichments)
        return await self._client.drive(
            self._adapter.run_waterfall_bulk(identifier, params, chosen, email_verifier=email_verifier)
        )

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
    return f"{account.email}, plan {account.plan}, balance {credits_text(account.balance)} credits"


def _balance(adapter: DatabarAdapter) -> Op[float]:
    account: Account = yield from adapter.read_account()
    return account.balance


def _cost(run: Run) -> float | None:
    """The credits a finished task spent: ``credits_spent`` of its last answer, when it is a number."""
    spent = run.raw.get("credits_spent") if isinstance(run.raw, dict) else None
    return float(spent) if isinstance(spent, int | float) and not isinstance(spent, bool) else None


# No documented maximum; this keeps a task's result list within the
# largest answer the API documents (its `per_page` maximum).
BULK_SIZE = 500


def bulk_rows(run: Run, count: int) -> list[Run]:
    """One run per input of a finished bulk task, in input order, each with its own status.

    A completed or partially completed task's data is a list aligned to the inputs: an input with
    data SUCCEEDED, one with ``None`` (no data, or its own failure) FAILED. A failed, cancelled or
    expired task gives every input its status (a cancelled task's finished results are not aligned
    to the inputs, so none is given to a row). Each row's ``raw["credits_spent"]`` is its share.

    >>> inputs = [{"domain": "a"}, {"domain": "b", "mock_outcome": "miss"}]
    >>> task = client.wait(client.databar.run_flow_bulk("f", inputs))
    >>> [(r.status.value, r.error) for r in bulk_rows(task, 2)]
    [('SUCCEEDED', None), ('FAILED', 'no data for this input (bulk task partially_completed)')]
    """
    raw = run.raw if isinstance(run.raw, dict) else {}
    spent = raw.get("credits_spent")
    share = {"credits_spent": spent / count} if isinstance(spent, int | float) and count else {}

    def row(status: Status, outputs: Any = None, error: str | None = None) -> Run:
        return Run(
            run.provider,
            run.workflow,
            run.id,
            status,
            run.provider_status,
            outputs,
            error,
            run.created_at,
            run.finished_at,
            run.url,
            raw=share,
        )

    if run.status is not Status.SUCCEEDED:
        why = run.error
        if run.status is Status.CANCELLED:
            why = "the bulk task was cancelled (results of inputs that finished are not aligned to the inputs)"
        return [row(run.status, error=why) for _ in range(count)]
    data = run.outputs
    if not isinstance(data, list) or len(data) != count:
        got = f"{len(data)} items" if isinstance(data, list) else type(data).__name__
        return [row(Status.FAILED, error=f"bulk task data is {got} for {count} inputs") for _ in range(count)]
    miss = f"no data for this input (bulk task {run.provider_status})"
    return [row(Status.SUCCEEDED, item) if item is not None else row(Status.FAILED, error=miss) for item in data]


def _bulk_start(adapter: DatabarAdapter, ref: WorkflowRef, inputs: list[Mapping[str, Any]]) -> Op[Run]:
    if ref.kind == "waterfall":
        params = [dict(i) for i in inputs]
        options = [(p.pop("enrichments", None), p.pop("email_verifier", None)) for p in params]
        if any(o != options[0] for o in options):
            raise InvalidRequestError("databar bulk waterfall inputs must share their enrichments and email_verifier")
        enrichments, verifier = options[0]
        run: Run = yield from adapter.run_waterfall_bulk(ref.id, params, enrichments, email_verifier=verifier)
        return run
    run = yield from adapter.run_flow_bulk(ref.id, inputs)
    return run


def _bulk_group(inputs: Mapping[str, Any]) -> str:
    """Inputs share a task only with the same waterfall options."""
    return json.dumps([inputs.get("enrichments"), inputs.get("email_verifier")], default=str)


PROVIDER = Provider(
    name="databar",
    title="Databar",
    adapter=DatabarAdapter,
    config=ConfigSpec(
        settings=(Setting("api_key", "DATABAR_API_KEY", argument="databar_api_key"),),
        urls=(URLSetting("base", "databar", "DATABAR_BASE_URL", "https://api.databar.ai"),),
        requires=(("api_key",),),
    ),
    refs=RefSyntax(kinds=("flow", "waterfall", "enrichment")),
    namespaces=(Databar, AsyncDatabar),
    runs=RunSupport(
        unknown_start=(
            "Databar may have created the task (and charged its credits); look for it in your Databar account"
        ),
    ),
    checks=Checks(
        inputs=_declared,
        no_inputs=(
            "Databar publishes declared inputs for flows only (GET /v1/flows/{id}), not for waterfalls or enrichments"
        ),
        verify=_verify,
        balance=_balance,
        cost=_cost,
    ),
    bulk=Bulk(start=_bulk_start, rows=bulk_rows, size=BULK_SIZE, kinds=("flow", "waterfall"), group=_bulk_group),
    mock=MockSpec(
        app="flowdeck.testing._databar:databar_app",
        env=lambda config, url: {"DATABAR_BASE_URL": url, "DATABAR_API_KEY": config.databar_key},
    ),
)
