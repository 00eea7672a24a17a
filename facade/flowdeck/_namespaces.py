"""Each provider's own operations, as ``client.<provider>.<operation>(...)``.

These are one-liners over the adapters (where the logic lives, written once); the async twins
differ only by ``await``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from flowdeck._models import Run, TaskOutput

if TYPE_CHECKING:
    from flowdeck._client import AsyncClient, Client
    from flowdeck._providers.databar import DatabarAdapter
    from flowdeck._providers.gumloop import GumloopAdapter
    from flowdeck._providers.stackai import StackAIAdapter
    from flowdeck._providers.superai import SuperAIAdapter

A = TypeVar("A")


class _Namespace:
    _provider = ""

    def __init__(self, client: Client) -> None:
        self._client = client

    def _adapter(self) -> Any:
        return self._client.adapter(self._provider)


class _AsyncNamespace:
    _provider = ""

    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    def _adapter(self) -> Any:
        return self._client.adapter(self._provider)


class Databar(_Namespace):
    """Databar operations. ``client.databar.run_flow("123", {"domain": "stripe.com"})``."""

    _provider = "databar"

    def _a(self) -> DatabarAdapter:
        return self._adapter()  # type: ignore[no-any-return]

    def run_flow(self, flow_id: str, inputs: Mapping[str, str]) -> Run:
        """Start a flow (``POST /v1/flows/{flow_id}/run``); returns the pending run."""
        return self._client.drive(self._a().run_flow(flow_id, inputs))

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
        return self._client.drive(self._a().run_waterfall(identifier, params, chosen, email_verifier=email_verifier))

    def get_task(self, task_id: str) -> Run:
        """Look at a task (``GET /v1/tasks/{task_id}``); an expired one comes back EXPIRED."""
        return self._client.drive(self._a().get_task(task_id))

    def cancel_task(self, task_id: str) -> Run:
        """Cancel a task; :class:`~flowdeck.ConflictError` if it already ended."""
        return self._client.drive(self._a().cancel_task(task_id))


class AsyncDatabar(_AsyncNamespace):
    """Databar operations, awaited."""

    _provider = "databar"

    def _a(self) -> DatabarAdapter:
        return self._adapter()  # type: ignore[no-any-return]

    async def run_flow(self, flow_id: str, inputs: Mapping[str, str]) -> Run:
        """Start a flow; returns the pending run."""
        return await self._client.drive(self._a().run_flow(flow_id, inputs))

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
            self._a().run_waterfall(identifier, params, chosen, email_verifier=email_verifier)
        )

    async def get_task(self, task_id: str) -> Run:
        """Look at a task; an expired one comes back EXPIRED."""
        return await self._client.drive(self._a().get_task(task_id))

    async def cancel_task(self, task_id: str) -> Run:
        """Cancel a task."""
        return await self._client.drive(self._a().cancel_task(task_id))


class StackAI(_Namespace):
    """StackAI operations. ``client.stackai.run_deployed_flow("org", "flow", {"in-0": "hi"})``."""

    _provider = "stackai"

    def run_deployed_flow(
        self, org_id: str, flow_id: str, inputs: Mapping[str, Any], *, version: int | None = None
    ) -> Run:
        """Run a deployed flow to completion (the call blocks); returns the terminal run."""
        adapter: StackAIAdapter = self._adapter()
        return self._client.drive(adapter.run_deployed_flow(org_id, flow_id, inputs, version=version))


class AsyncStackAI(_AsyncNamespace):
    """StackAI operations, awaited."""

    _provider = "stackai"

    async def run_deployed_flow(
        self, org_id: str, flow_id: str, inputs: Mapping[str, Any], *, version: int | None = None
    ) -> Run:
        """Run a deployed flow to completion; returns the terminal run."""
        adapter: StackAIAdapter = self._adapter()
        return await self._client.drive(adapter.run_deployed_flow(org_id, flow_id, inputs, version=version))


class Gumloop(_Namespace):
    """Gumloop operations. ``client.gumloop.start_pipeline("saved-item", {"topic": "x"})``."""

    _provider = "gumloop"

    def _a(self) -> GumloopAdapter:
        return self._adapter()  # type: ignore[no-any-return]

    def start_pipeline(self, saved_item_id: str, inputs: Mapping[str, str], *, project_id: str | None = None) -> Run:
        """Start a flow run; returns the pending run (with its UI url)."""
        return self._client.drive(self._a().start_pipeline(saved_item_id, inputs, project_id=project_id))

    def get_run(self, run_id: str) -> Run:
        """Look at a run (``GET /get_pl_run``)."""
        return self._client.drive(self._a().get_pipeline_run(run_id))


class AsyncGumloop(_AsyncNamespace):
    """Gumloop operations, awaited."""

    _provider = "gumloop"

    def _a(self) -> GumloopAdapter:
        return self._adapter()  # type: ignore[no-any-return]

    async def start_pipeline(
        self, saved_item_id: str, inputs: Mapping[str, str], *, project_id: str | None = None
    ) -> Run:
        """Start a flow run; returns the pending run."""
        return await self._client.drive(self._a().start_pipeline(saved_item_id, inputs, project_id=project_id))

    async def get_run(self, run_id: str) -> Run:
        """Look at a run."""
        return await self._client.drive(self._a().get_pipeline_run(run_id))


class SuperAI(_Namespace):
    """SuperAI Flows operations. ``client.superai.create_execution(flow_uuid, {"file_key": "a.pdf"})``."""

    _provider = "superai"

    def _a(self) -> SuperAIAdapter:
        return self._adapter()  # type: ignore[no-any-return]

    def create_execution(self, flow_id: str, inputs: Mapping[str, Any]) -> Run:
        """Create and start a flow execution."""
        return self._client.drive(self._a().create_flow_execution(flow_id, inputs))

    def get_execution(self, execution_id: str) -> Run:
        """Look at an execution (outputs attached once it has ended)."""
        return self._client.drive(self._a().get_flow_execution(execution_id))

    def list_executions(self, flow_id: str, *, page_size: int = 100, **filters: Any) -> Iterator[Run]:
        """Every execution of a flow, fetching pages as the iteration goes.

        >>> for run in client.superai.list_executions(flow_uuid, status=["failed"]):  # doctest: +SKIP
        ...     print(run.id)
        """
        page = 1
        while True:
            runs = self._client.drive(
                self._a().list_flow_executions(flow_id, page=page, page_size=page_size, **filters)
            )
            yield from runs
            if len(runs) < page_size:
                return
            page += 1

    def reexecute(self, execution_id: str, *, only_stale: bool = False) -> Run:
        """Run an execution again under the same id (terminating it first if it is running)."""
        return self._client.drive(self._a().reexecute_flow_execution(execution_id, only_stale=only_stale))

    def task_outputs(self, execution_id: str, *, task_name: str | None = None) -> list[TaskOutput]:
        """The task executions of an execution, with their outputs and errors."""
        return self._client.drive(self._a().list_task_executions(execution_id, task_name=task_name))


class AsyncSuperAI(_AsyncNamespace):
    """SuperAI Flows operations, awaited."""

    _provider = "superai"

    def _a(self) -> SuperAIAdapter:
        return self._adapter()  # type: ignore[no-any-return]

    async def create_execution(self, flow_id: str, inputs: Mapping[str, Any]) -> Run:
        """Create and start a flow execution."""
        return await self._client.drive(self._a().create_flow_execution(flow_id, inputs))

    async def get_execution(self, execution_id: str) -> Run:
        """Look at an execution (outputs attached once it has ended)."""
        return await self._client.drive(self._a().get_flow_execution(execution_id))

    async def list_executions(self, flow_id: str, *, page_size: int = 100, **filters: Any) -> AsyncIterator[Run]:
        """Every execution of a flow, fetching pages as the iteration goes."""
        page = 1
        while True:
            runs = await self._client.drive(
                self._a().list_flow_executions(flow_id, page=page, page_size=page_size, **filters)
            )
            for run in runs:
                yield run
            if len(runs) < page_size:
                return
            page += 1

    async def reexecute(self, execution_id: str, *, only_stale: bool = False) -> Run:
        """Run an execution again under the same id."""
        return await self._client.drive(self._a().reexecute_flow_execution(execution_id, only_stale=only_stale))

    async def task_outputs(self, execution_id: str, *, task_name: str | None = None) -> list[TaskOutput]:
        """The task executions of an execution, with their outputs and errors."""
        return await self._client.drive(self._a().list_task_executions(execution_id, task_name=task_name))
