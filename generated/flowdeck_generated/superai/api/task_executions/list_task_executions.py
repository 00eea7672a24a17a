from http import HTTPStatus
from typing import Any
from uuid import UUID

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error import Error
from ...models.http_validation_error import HTTPValidationError
from ...models.task_execution import TaskExecution
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    flow_execution_id: UUID,
    task_name: str | Unset = UNSET,
    task_execution_idx: int | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    json_flow_execution_id = str(flow_execution_id)
    params["flow_execution_id"] = json_flow_execution_id

    params["task_name"] = task_name

    params["task_execution_idx"] = task_execution_idx

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/task-executions",
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Error | HTTPValidationError | list[TaskExecution] | None:
    if response.status_code == 200:
        response_200 = []
        _response_200 = response.json()
        for response_200_item_data in _response_200:
            response_200_item = TaskExecution.from_dict(response_200_item_data)

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
) -> Response[Error | HTTPValidationError | list[TaskExecution]]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    flow_execution_id: UUID,
    task_name: str | Unset = UNSET,
    task_execution_idx: int | Unset = UNSET,
) -> Response[Error | HTTPValidationError | list[TaskExecution]]:
    """List the task executions of a flow execution (where outputs live)

    Args:
        flow_execution_id (UUID):
        task_name (str | Unset):
        task_execution_idx (int | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | HTTPValidationError | list[TaskExecution]]
    """

    kwargs = _get_kwargs(
        flow_execution_id=flow_execution_id,
        task_name=task_name,
        task_execution_idx=task_execution_idx,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    flow_execution_id: UUID,
    task_name: str | Unset = UNSET,
    task_execution_idx: int | Unset = UNSET,
) -> Error | HTTPValidationError | list[TaskExecution] | None:
    """List the task executions of a flow execution (where outputs live)

    Args:
        flow_execution_id (UUID):
        task_name (str | Unset):
        task_execution_idx (int | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | HTTPValidationError | list[TaskExecution]
    """

    return sync_detailed(
        client=client,
        flow_execution_id=flow_execution_id,
        task_name=task_name,
        task_execution_idx=task_execution_idx,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    flow_execution_id: UUID,
    task_name: str | Unset = UNSET,
    task_execution_idx: int | Unset = UNSET,
) -> Response[Error | HTTPValidationError | list[TaskExecution]]:
    """List the task executions of a flow execution (where outputs live)

    Args:
        flow_execution_id (UUID):
        task_name (str | Unset):
        task_execution_idx (int | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | HTTPValidationError | list[TaskExecution]]
    """

    kwargs = _get_kwargs(
        flow_execution_id=flow_execution_id,
        task_name=task_name,
        task_execution_idx=task_execution_idx,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    flow_execution_id: UUID,
    task_name: str | Unset = UNSET,
    task_execution_idx: int | Unset = UNSET,
) -> Error | HTTPValidationError | list[TaskExecution] | None:
    """List the task executions of a flow execution (where outputs live)

    Args:
        flow_execution_id (UUID):
        task_name (str | Unset):
        task_execution_idx (int | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | HTTPValidationError | list[TaskExecution]
    """

    return (
        await asyncio_detailed(
            client=client,
            flow_execution_id=flow_execution_id,
            task_name=task_name,
            task_execution_idx=task_execution_idx,
        )
    ).parsed
