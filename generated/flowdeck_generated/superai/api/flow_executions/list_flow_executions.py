from http import HTTPStatus
from typing import Any
from uuid import UUID

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error import Error
from ...models.flow_execution import FlowExecution
from ...models.http_validation_error import HTTPValidationError
from ...models.list_flow_executions_sort_direction import (
    ListFlowExecutionsSortDirection,
)
from ...models.list_flow_executions_sort_field import (
    ListFlowExecutionsSortField,
)
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    flow_id: UUID,
    sort_field: ListFlowExecutionsSortField | Unset = "updated_at",
    sort_direction: ListFlowExecutionsSortDirection | Unset = "desc",
    status: list[str] | Unset = UNSET,
    tags: list[str] | Unset = UNSET,
    include_run_number: bool | Unset = False,
    page: int | Unset = 1,
    page_size: int | Unset = 10,
    start_from_execution_id: UUID | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    json_flow_id = str(flow_id)
    params["flow_id"] = json_flow_id

    json_sort_field: str | Unset = UNSET
    if not isinstance(sort_field, Unset):
        json_sort_field = sort_field

    params["sort_field"] = json_sort_field

    json_sort_direction: str | Unset = UNSET
    if not isinstance(sort_direction, Unset):
        json_sort_direction = sort_direction

    params["sort_direction"] = json_sort_direction

    json_status: list[str] | Unset = UNSET
    if not isinstance(status, Unset):
        json_status = status

    params["status"] = json_status

    json_tags: list[str] | Unset = UNSET
    if not isinstance(tags, Unset):
        json_tags = tags

    params["tags"] = json_tags

    params["include_run_number"] = include_run_number

    params["page"] = page

    params["page_size"] = page_size

    json_start_from_execution_id: str | Unset = UNSET
    if not isinstance(start_from_execution_id, Unset):
        json_start_from_execution_id = str(start_from_execution_id)
    params["start_from_execution_id"] = json_start_from_execution_id

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/flow-executions",
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Error | HTTPValidationError | list[FlowExecution] | None:
    if response.status_code == 200:
        response_200 = []
        _response_200 = response.json()
        for response_200_item_data in _response_200:
            response_200_item = FlowExecution.from_dict(response_200_item_data)

            response_200.append(response_200_item)

        return response_200

    if response.status_code == 400:
        response_400 = Error.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = Error.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = Error.from_dict(response.json())

        return response_403

    if response.status_code == 422:
        response_422 = HTTPValidationError.from_dict(response.json())

        return response_422

    if response.status_code == 500:
        response_500 = Error.from_dict(response.json())

        return response_500

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Error | HTTPValidationError | list[FlowExecution]]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    flow_id: UUID,
    sort_field: ListFlowExecutionsSortField | Unset = "updated_at",
    sort_direction: ListFlowExecutionsSortDirection | Unset = "desc",
    status: list[str] | Unset = UNSET,
    tags: list[str] | Unset = UNSET,
    include_run_number: bool | Unset = False,
    page: int | Unset = 1,
    page_size: int | Unset = 10,
    start_from_execution_id: UUID | Unset = UNSET,
) -> Response[Error | HTTPValidationError | list[FlowExecution]]:
    """List flow executions with filtering and pagination

    Args:
        flow_id (UUID):
        sort_field (ListFlowExecutionsSortField | Unset):  Default: 'updated_at'.
        sort_direction (ListFlowExecutionsSortDirection | Unset):  Default: 'desc'.
        status (list[str] | Unset):
        tags (list[str] | Unset):
        include_run_number (bool | Unset):  Default: False.
        page (int | Unset):  Default: 1.
        page_size (int | Unset):  Default: 10.
        start_from_execution_id (UUID | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | HTTPValidationError | list[FlowExecution]]
    """

    kwargs = _get_kwargs(
        flow_id=flow_id,
        sort_field=sort_field,
        sort_direction=sort_direction,
        status=status,
        tags=tags,
        include_run_number=include_run_number,
        page=page,
        page_size=page_size,
        start_from_execution_id=start_from_execution_id,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    flow_id: UUID,
    sort_field: ListFlowExecutionsSortField | Unset = "updated_at",
    sort_direction: ListFlowExecutionsSortDirection | Unset = "desc",
    status: list[str] | Unset = UNSET,
    tags: list[str] | Unset = UNSET,
    include_run_number: bool | Unset = False,
    page: int | Unset = 1,
    page_size: int | Unset = 10,
    start_from_execution_id: UUID | Unset = UNSET,
) -> Error | HTTPValidationError | list[FlowExecution] | None:
    """List flow executions with filtering and pagination

    Args:
        flow_id (UUID):
        sort_field (ListFlowExecutionsSortField | Unset):  Default: 'updated_at'.
        sort_direction (ListFlowExecutionsSortDirection | Unset):  Default: 'desc'.
        status (list[str] | Unset):
        tags (list[str] | Unset):
        include_run_number (bool | Unset):  Default: False.
        page (int | Unset):  Default: 1.
        page_size (int | Unset):  Default: 10.
        start_from_execution_id (UUID | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | HTTPValidationError | list[FlowExecution]
    """

    return sync_detailed(
        client=client,
        flow_id=flow_id,
        sort_field=sort_field,
        sort_direction=sort_direction,
        status=status,
        tags=tags,
        include_run_number=include_run_number,
        page=page,
        page_size=page_size,
        start_from_execution_id=start_from_execution_id,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    flow_id: UUID,
    sort_field: ListFlowExecutionsSortField | Unset = "updated_at",
    sort_direction: ListFlowExecutionsSortDirection | Unset = "desc",
    status: list[str] | Unset = UNSET,
    tags: list[str] | Unset = UNSET,
    include_run_number: bool | Unset = False,
    page: int | Unset = 1,
    page_size: int | Unset = 10,
    start_from_execution_id: UUID | Unset = UNSET,
) -> Response[Error | HTTPValidationError | list[FlowExecution]]:
    """List flow executions with filtering and pagination

    Args:
        flow_id (UUID):
        sort_field (ListFlowExecutionsSortField | Unset):  Default: 'updated_at'.
        sort_direction (ListFlowExecutionsSortDirection | Unset):  Default: 'desc'.
        status (list[str] | Unset):
        tags (list[str] | Unset):
        include_run_number (bool | Unset):  Default: False.
        page (int | Unset):  Default: 1.
        page_size (int | Unset):  Default: 10.
        start_from_execution_id (UUID | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | HTTPValidationError | list[FlowExecution]]
    """

    kwargs = _get_kwargs(
        flow_id=flow_id,
        sort_field=sort_field,
        sort_direction=sort_direction,
        status=status,
        tags=tags,
        include_run_number=include_run_number,
        page=page,
        page_size=page_size,
        start_from_execution_id=start_from_execution_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    flow_id: UUID,
    sort_field: ListFlowExecutionsSortField | Unset = "updated_at",
    sort_direction: ListFlowExecutionsSortDirection | Unset = "desc",
    status: list[str] | Unset = UNSET,
    tags: list[str] | Unset = UNSET,
    include_run_number: bool | Unset = False,
    page: int | Unset = 1,
    page_size: int | Unset = 10,
    start_from_execution_id: UUID | Unset = UNSET,
) -> Error | HTTPValidationError | list[FlowExecution] | None:
    """List flow executions with filtering and pagination

    Args:
        flow_id (UUID):
        sort_field (ListFlowExecutionsSortField | Unset):  Default: 'updated_at'.
        sort_direction (ListFlowExecutionsSortDirection | Unset):  Default: 'desc'.
        status (list[str] | Unset):
        tags (list[str] | Unset):
        include_run_number (bool | Unset):  Default: False.
        page (int | Unset):  Default: 1.
        page_size (int | Unset):  Default: 10.
        start_from_execution_id (UUID | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | HTTPValidationError | list[FlowExecution]
    """

    return (
        await asyncio_detailed(
            client=client,
            flow_id=flow_id,
            sort_field=sort_field,
            sort_direction=sort_direction,
            status=status,
            tags=tags,
            include_run_number=include_run_number,
            page=page,
            page_size=page_size,
            start_from_execution_id=start_from_execution_id,
        )
    ).parsed
