"""SuperAI Flows: executions are created, polled, re-executed; outputs live on task executions.

Auth is a one-hour JWT: either given (``SUPERAI_TOKEN``) or obtained with email and password
(anon key, then password grant) and refreshed before it expires or when a call answers 401. What this
relies on about SuperAI's API is written down in docs/providers/superai.md.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any, ClassVar

import attrs
from flowdeck_generated.superai.api.auth import get_anon_key, get_token
from flowdeck_generated.superai.api.flow_executions import (
    create_flow_execution,
    get_flow_execution,
    list_flow_executions,
    reexecute_flow_execution,
)
from flowdeck_generated.superai.api.task_executions import list_task_executions
from flowdeck_generated.superai.models import (
    AnonKey,
    FlowExecution,
    FlowExecutionCreate,
    FlowExecutionCreateInput,
    TaskExecution,
    Token,
    TokenRequest,
)

from flowdeck._config import ConfigSpec, ProviderConfig, Setting, URLSetting
from flowdeck._core import Call, Op, Operation, Sleep
from flowdeck._details import TaskOutput
from flowdeck._errors import AuthenticationError, BadRequestError, FlowdeckError, InvalidRequestError
from flowdeck._models import Run, Status, WorkflowRef
from flowdeck._namespaces import AsyncNamespace, Namespace
from flowdeck._providers._base import (
    AdapterBase,
    Bound,
    Checks,
    Clock,
    Listed,
    MockSpec,
    Provider,
    RecentRuns,
    RunSupport,
    as_datetime,
    bind,
    check_inputs,
    map_status,
    not_supported,
    rejected_key,
    to_dict,
    unset,
)
from flowdeck._secrets import Secret

# Assumed: `stale` and `deleted` end a wait, as EXPIRED and CANCELLED.
STATUSES: Mapping[str, Status] = {
    "queued": Status.PENDING,
    "running": Status.RUNNING,
    "in_progress": Status.RUNNING,
    "completed": Status.SUCCEEDED,
    "failed": Status.FAILED,
    "stale": Status.EXPIRED,
    "deleted": Status.CANCELLED,
}
TOKEN_MARGIN = 60.0  # refresh this many seconds before the token expires
# Others wait for the one login in flight rather than each logging in.
LOGIN_CHECK = 0.02
LOGIN_WAIT = 30.0
DEFAULT_TOKEN_LIFETIME = 3600.0  # the documented token lifetime


def as_uuid(value: object, what: str) -> uuid.UUID:
    """``value`` as a UUID, or :class:`InvalidRequestError` (SuperAI ids are UUIDs)."""
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value)) if isinstance(value, str) and len(value) <= 64 else uuid.UUID("")
    except ValueError:
        raise InvalidRequestError(f"{what} must be a UUID, got {str(value)[:60]!r}") from None


@attrs.define
class _Token:
    access: str | None = attrs.field(default=None, repr=False)
    refresh: str | None = attrs.field(default=None, repr=False)
    expires_at: float = 0.0


def outputs_by_task(tasks: list[TaskOutput]) -> dict[str, Any]:
    """Completed tasks' outputs keyed by task name (``name[idx]`` when a task ran more than once)."""
    names = [t.name for t in tasks]
    return {
        (t.name if names.count(t.name) == 1 else f"{t.name}[{t.index}]"): t.output
        for t in tasks
        if t.status == "completed"
    }


def _anon_key(answer: AnonKey) -> str:
    return answer.anon_key


class SuperAIAdapter(AdapterBase):
    """SuperAI flow executions (``superai:<flow uuid>``)."""

    name: ClassVar[str] = "superai"

    def __init__(self, config: ProviderConfig, *, clock: Clock) -> None:
        super().__init__(config, clock=clock)
        self._auth_url = config.urls["auth"]
        given = config.get("token")
        self._static = None if given is None else Secret(given)
        self._token = _Token()
        self._logging_in = False

    # --- auth ---

    def _auth(self, *, refused: str | None = None) -> Op[dict[str, str]]:
        """The headers of a call with a valid token; ``refused``: a token the provider just answered 401 to."""
        if self._static is not None:
            return {"Authorization": f"Bearer {self._static.reveal()}"}
        waited = 0.0
        while self._logging_in and waited < LOGIN_WAIT:  # another operation is logging in
            yield Sleep(LOGIN_CHECK)
            waited += LOGIN_CHECK
        token = self._token
        if token.access is None or token.access == refused or self.clock() >= token.expires_at:
            self._logging_in = True
            try:
                yield from self._login()
            finally:
                self._logging_in = False
        return {"Authorization": f"Bearer {self._token.access}"}

    def _login(self) -> Op[None]:
        anon: str = yield self.call("get_anon_key", get_anon_key, _anon_key, bind(get_anon_key._get_kwargs), headers={})
        grant: Token | None = None
        if self._token.refresh is not None:
            try:
                grant = yield self._token_call(anon, "refresh_token", TokenRequest(refresh_token=self._token.refresh))
            except AuthenticationError:
                grant = None  # refresh token refused: use the password
        if grant is None:
            # require() names whichever is missing.
            body = TokenRequest(email=self.config.require("email"), password=self.config.require("password"))
            grant = yield self._token_call(anon, "password", body)
        lifetime = unset(grant.expires_in)
        self._token = _Token(
            access=grant.access_token,
            refresh=unset(grant.refresh_token),
            expires_at=self.clock()
            + (lifetime if isinstance(lifetime, int) else DEFAULT_TOKEN_LIFETIME)
            - TOKEN_MARGIN,
        )

    def _token_call(self, anon: str, grant_type: Any, body: TokenRequest) -> Call[Token]:
        def parse(token: Token) -> Token:
            if not isinstance(token.access_token, str) or not token.access_token:
                raise ValueError("access_token missing")
            return token

        return self.call(
            "get_token",
            get_token,
            parse,
            bind(get_token._get_kwargs, body=body, grant_type=grant_type),
            headers={"apikey": anon},
            base_url=self._auth_url,
            secrets=self._live_secrets(),
        )

    def _live_secrets(self) -> tuple[str, ...]:
        return tuple(t for t in (self._token.access, self._token.refresh) if t)

    def _authed(self, operation: str, module: Operation, parse: Any, bound: Bound, *, starts: str = "") -> Op[Any]:
        """One API call with a valid token; on 401 log in again once and repeat it."""
        refused = None
        for attempt in (0, 1):
            headers = yield from self._auth(refused=refused)
            refused = self._token.access
            call = self.call(
                operation, module, parse, bound, starts=starts or None, headers=headers, secrets=self._live_secrets()
            )
            try:
                return (yield call)
            except AuthenticationError:
                if attempt == 1 or self._static is not None:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    # --- runs ---

    def _run(self, ref: WorkflowRef | None, execution: FlowExecution, operation: str) -> Run:
        raw = to_dict(execution)
        status = map_status(self.name, STATUSES, execution.status, operation=operation, raw=raw)
        flow = WorkflowRef(self.name, None, str(execution.flow_id))
        return Run(
            provider=self.name,
            workflow=ref or flow,
            id=str(execution.id),
            status=status,
            provider_status=execution.status,
            created_at=as_datetime(execution.created_at),
            finished_at=as_datetime(execution.updated_at) if status.is_terminal else None,
            raw=raw,
        )

    def start(self, ref: WorkflowRef, inputs: Mapping[str, Any]) -> Op[Run]:
        return self.create_flow_execution(ref.id, inputs)

    def create_flow_execution(self, flow_id: str, inputs: Mapping[str, Any]) -> Op[Run]:
        """POST /flow-executions (201); the execution starts at once."""
        flow_uuid = as_uuid(flow_id, "superai flow_id")
        ref = WorkflowRef(self.name, None, str(flow_uuid))
        body = FlowExecutionCreate(
            flow_id=flow_uuid, input_=FlowExecutionCreateInput.from_dict(check_inputs(self.name, inputs))
        )
        run: Run = yield from self._authed(
            "create_flow_execution",
            create_flow_execution,
            lambda e: self._run(ref, e, "create_flow_execution"),
            bind(create_flow_execution._get_kwargs, body=body),
            starts=str(ref),
        )
        if run.is_terminal:  # a fast flow may be done: outputs are on its executions
            run = yield from self.get_flow_execution(run.id, ref)
        return run

    def get_flow_execution(
        self, execution_id: str, ref: WorkflowRef | None = None, *, with_outputs: bool = True
    ) -> Op[Run]:
        """GET /flow-executions/{id}; once it has ended, its task outputs (or first task error) are attached."""
        exec_uuid = as_uuid(execution_id, "superai flow_execution_id")
        run: Run = yield from self._authed(
            "get_flow_execution",
            get_flow_execution,
            lambda e: self._run(ref, e, "get_flow_execution"),
            bind(get_flow_execution._get_kwargs, exec_uuid),
        )
        if with_outputs and run.status in (Status.SUCCEEDED, Status.FAILED):
            tasks = yield from self.list_task_executions(run.id)
            outputs = outputs_by_task(tasks)
            errors = [f"{t.name}: {t.error}" for t in tasks if t.error]
            run = attrs.evolve(
                run, outputs=outputs, error=errors[0] if errors and run.status is Status.FAILED else None
            )
        return run

    def list_task_executions(self, execution_id: str, *, task_name: str | None = None) -> Op[list[TaskOutput]]:
        """GET /task-executions?flow_execution_id=: the tasks of an execution with their outputs."""
        exec_uuid = as_uuid(execution_id, "superai flow_execution_id")
        bound = (
            bind(list_task_executions._get_kwargs, flow_execution_id=exec_uuid)
            if task_name is None
            else bind(list_task_executions._get_kwargs, flow_execution_id=exec_uuid, task_name=task_name)
        )

        def parse(tasks: list[TaskExecution]) -> list[TaskOutput]:
            out = []
            for t in tasks:
                if not isinstance(t.task_name, str) or not isinstance(t.status, str):
                    raise TypeError("task_name and status must be strings")
                err = unset(t.error)
                out.append(
                    TaskOutput(
                        t.task_name,
                        unset(t.task_execution_idx),
                        t.status,
                        unset(t.output),
                        None if err is None else str(err.message),
                    )
                )
            return out

        tasks: list[TaskOutput] = yield from self._authed("list_task_executions", list_task_executions, parse, bound)
        return tasks

    def list_flow_executions(self, flow_id: str, *, page: int, page_size: int, **filters: Any) -> Op[list[Run]]:
        """One page of GET /flow-executions (a bare list: the last page is the first shorter one)."""
        flow_uuid = as_uuid(flow_id, "superai flow_id")
        ref = WorkflowRef(self.name, None, str(flow_uuid))
        if not 1 <= page <= 10000 or not 1 <= page_size <= 1000:
            raise InvalidRequestError("superai page must be 1..10000 and page_size 1..1000")
        runs: list[Run] = yield from self._authed(
            "list_flow_executions",
            list_flow_executions,
            lambda items: [self._run(ref, e, "list_flow_executions") for e in items],
            bind(list_flow_executions._get_kwargs, flow_id=flow_uuid, page=page, page_size=page_size, **filters),
        )
        return runs

    def reexecute_flow_execution(self, execution_id: str, *, only_stale: bool = False) -> Op[Run]:
        """POST /flow-executions/{id}/execute (204): runs the same execution again, then reads it back."""
        exec_uuid = as_uuid(execution_id, "superai flow_execution_id")
        yield from self._authed(
            "reexecute_flow_execution",
            reexecute_flow_execution,
            lambda r: r,
            bind(reexecute_flow_execution._get_kwargs, exec_uuid, only_stale=only_stale),
            starts=f"superai:execution/{exec_uuid}",
        )
        run: Run = yield from self.get_flow_execution(str(exec_uuid), with_outputs=False)
        return run

    def refresh(self, run: Run) -> Op[Run]:
        return self.get_flow_execution(run.id, run.workflow)

    def cancel(self, run: Run) -> Op[Run]:
        raise not_supported(self.name, "cancelling executions (no cancel endpoint is documented)")
        yield  # pragma: no cover


class SuperAI(Namespace[SuperAIAdapter]):
    """SuperAI Flows operations. ``client.superai.create_execution(flow_uuid, {"file_key": "a.pdf"})``."""

    provider = "superai"

    def create_execution(self, flow_id: str, inputs: Mapping[str, Any]) -> Run:
        """Create and start a flow execution."""
        return self._client.drive(self._adapter.create_flow_execution(flow_id, inputs))

    def get_execution(self, execution_id: str) -> Run:
        """Look at an execution (outputs attached once it has ended)."""
        return self._client.drive(self._adapter.get_flow_execution(execution_id))

    def list_executions(self, flow_id: str, *, page_size: int = 100, **filters: Any) -> Iterator[Run]:
        """Every execution of a flow, fetching pages as the iteration goes.

        >>> run = client.run(f"superai:{flow_uuid}", {"file_key": "a.pdf"})
        >>> any(r.id == run.id for r in client.superai.list_executions(flow_uuid, status=["completed"]))
        True
        """
        page = 1
        while True:
            runs = self._client.drive(
                self._adapter.list_flow_executions(flow_id, page=page, page_size=page_size, **filters)
            )
            yield from runs
            if len(runs) < page_size:
                return
            page += 1

    def reexecute(self, execution_id: str, *, only_stale: bool = False) -> Run:
        """Run an execution again under the same id (terminating it first if it is running)."""
        return self._client.drive(self._adapter.reexecute_flow_execution(execution_id, only_stale=only_stale))

    def task_outputs(self, execution_id: str, *, task_name: str | None = None) -> list[TaskOutput]:
        """The task executions of an execution, with their outputs and errors."""
        return self._client.drive(self._adapter.list_task_executions(execution_id, task_name=task_name))


class AsyncSuperAI(AsyncNamespace[SuperAIAdapter]):
    """SuperAI Flows operations, awaited."""

    provider = "superai"

    async def create_execution(self, flow_id: str, inputs: Mapping[str, Any]) -> Run:
        """Create and start a flow execution."""
        return await self._client.drive(self._adapter.create_flow_execution(flow_id, inputs))

    async def get_execution(self, execution_id: str) -> Run:
        """Look at an execution (outputs attached once it has ended)."""
        return await self._client.drive(self._adapter.get_flow_execution(execution_id))

    async def list_executions(self, flow_id: str, *, page_size: int = 100, **filters: Any) -> AsyncIterator[Run]:
        """Every execution of a flow, fetching pages as the iteration goes."""
        page = 1
        while True:
            runs = await self._client.drive(
                self._adapter.list_flow_executions(flow_id, page=page, page_size=page_size, **filters)
            )
            for run in runs:
                yield run
            if len(runs) < page_size:
                return
            page += 1

    async def reexecute(self, execution_id: str, *, only_stale: bool = False) -> Run:
        """Run an execution again under the same id."""
        return await self._client.drive(self._adapter.reexecute_flow_execution(execution_id, only_stale=only_stale))

    async def task_outputs(self, execution_id: str, *, task_name: str | None = None) -> list[TaskOutput]:
        """The task executions of an execution, with their outputs and errors."""
        return await self._client.drive(self._adapter.list_task_executions(execution_id, task_name=task_name))


RECENT_PAGE = 500  # executions a page when looking for recent ones


def _recent_runs(adapter: SuperAIAdapter, ref: WorkflowRef, since: float, limit: int) -> Op[RecentRuns]:
    """The flow's executions created at or after ``since``, reading at most ``limit``. Asked newest
    first, the page holding the first one older than ``since`` is the last read, unless the order
    does not hold (a run in order before a newer one, or no creation time): then every page is read,
    as one out of order must not be missed."""
    found: list[Listed] = []
    page, ordered, newest, cut = 1, True, float("inf"), False
    while (page - 1) * RECENT_PAGE < limit:
        runs = yield from adapter.list_flow_executions(
            ref.id, page=page, page_size=RECENT_PAGE, sort_field="created_at", sort_direction="desc"
        )
        for run in runs:
            created = run.created_at.timestamp() if run.created_at is not None else None
            ordered = ordered and created is not None and created <= newest
            newest = created if created is not None else newest
            if created is not None and created < since:
                cut = True
                continue
            given = run.raw.get("input") if isinstance(run.raw, dict) else None
            found.append(Listed(run, given if isinstance(given, dict) else None))
        if len(runs) < RECENT_PAGE or (cut and ordered):
            return RecentRuns(tuple(found), complete=True)
        page += 1
    return RecentRuns(tuple(found), complete=False)


# Listing this flow's executions reads nothing but needs a valid token.
NO_SUCH_FLOW = "00000000-0000-4000-8000-000000000000"


def _verify(adapter: SuperAIAdapter) -> Op[str]:
    if adapter.config.get("token") is None:
        yield from adapter._login()  # an invalid login is refused here
        how = f"login accepted for {adapter.config.get('email')}"
    else:
        how = "token accepted"
    yield from adapter.list_flow_executions(NO_SUCH_FLOW, page=1, page_size=1)
    return how


def _rejects(exc: FlowdeckError) -> bool:
    """401/403, or the password grant's 400 ``invalid_grant`` (a wrong email or password)."""
    if isinstance(exc, BadRequestError) and exc.operation == "get_token":
        return True
    return rejected_key(exc)


PROVIDER = Provider(
    name="superai",
    title="SuperAI Flows",
    adapter=SuperAIAdapter,
    config=ConfigSpec(
        settings=(
            Setting("token", "SUPERAI_TOKEN", argument="superai_token"),
            Setting("email", "SUPERAI_EMAIL", secret=False, header=False, argument="superai_email"),
            Setting("password", "SUPERAI_PASSWORD", header=False, argument="superai_password"),
        ),
        urls=(
            URLSetting("base", "superai", "SUPERAI_BASE_URL", "https://flows.super.ai/api"),
            URLSetting(
                "auth", "superai_auth", "SUPERAI_AUTH_URL", "https://core.flows.super.ai", operations=("get_token",)
            ),
        ),
        requires=(("token",), ("email", "password")),
    ),
    namespaces=(SuperAI, AsyncSuperAI),
    runs=RunSupport(
        no_cancel="SuperAI Flows documents no endpoint to cancel an execution",
        unknown_start="SuperAI may have created the flow execution; look among the flow's executions at SuperAI",
        list_runs=_recent_runs,
    ),
    checks=Checks(
        no_inputs="SuperAI's API publishes no declared inputs (a flow execution takes a free-form input object)",
        verify=_verify,
        rejects=_rejects,
    ),
    mock=MockSpec(
        app="flowdeck.testing._superai:superai_app",
        path="/api",
        env=lambda config, url: {
            "SUPERAI_BASE_URL": url,
            "SUPERAI_AUTH_URL": url,
            "SUPERAI_EMAIL": config.superai_email,
            "SUPERAI_PASSWORD": config.superai_password,
        },
    ),
)
