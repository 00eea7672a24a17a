from http import HTTPStatus
from typing import Any
from urllib.parse import quote
from uuid import UUID

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error import Error
from ...models.flow_execution import FlowExecution
from ...models.http_validation_error import HTTPValidationError
from ...types import UNSET, Response, Unset


def _get_kwargs(
    flow_execution_id: UUID,
    *,
    include_run_number: bool | Unset = False,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["include_run_number"] = include_run_number

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/flow-executions/{flow_execution_id}".format(
            flow_execution_id=quote(str(flow_execution_id), safe=""),
        ),
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Error | FlowExecution | HTTPValidationError | None:
    if response.status_code == 200:
        response_200 = FlowExecution.from_dict(response.json())

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

    if response.status_code == 404:
        response_404 = Error.from_dict(response.json())

        return response_404

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
) -> Response[Error | FlowExecution | HTTPValidationError]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    flow_execution_id: UUID,
    *,
    client: AuthenticatedClient | Client,
    include_run_number: bool | Unset = False,
) -> Response[Error | FlowExecution | HTTPValidationError]:
    """Retrieve a flow execution

    Args:
        flow_execution_id (UUID):
        include_run_number (bool | Unset):  Default: False.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | FlowExecution | HTTPValidationError]
    """

    kwargs = _get_kwargs(
        flow_execution_id=flow_execution_id,
        include_run_number=include_run_number,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    flow_execution_id: UUID,
    *,
    client: AuthenticatedClient | Client,
    include_run_number: bool | Unset = False,
) -> Error | FlowExecution | HTTPValidationError | None:
    """Retrieve a flow execution

    Args:
        flow_execution_id (UUID):
        include_run_number (bool | Unset):  Default: False.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | FlowExecution | HTTPValidationError
    """

    return sync_detailed(
        flow_execution_id=flow_execution_id,
        client=client,
        include_run_number=include_run_number,
    ).parsed


async def asyncio_detailed(
    flow_execution_id: UUID,
    *,
    client: AuthenticatedClient | Client,
    include_run_number: bool | Unset = False,
) -> Response[Error | FlowExecution | HTTPValidationError]:
    """Retrieve a flow execution

    Args:
        flow_execution_id (UUID):
        include_run_number (bool | Unset):  Default: False.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | FlowExecution | HTTPValidationError]
    """

    kwargs = _get_kwargs(
        flow_execution_id=flow_execution_id,
        include_run_number=include_run_number,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    flow_execution_id: UUID,
    *,
    client: AuthenticatedClient | Client,
    include_run_number: bool | Unset = False,
) -> Error | FlowExecution | HTTPValidationError | None:
    """Retrieve a flow execution

    Args:
        flow_execution_id (UUID):
        include_run_number (bool | Unset):  Default: False.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | FlowExecution | HTTPValidationError
    """

    return (
        await asyncio_detailed(
            flow_execution_id=flow_execution_id,
            client=client,
            include_run_number=include_run_number,
        )
    ).parsed
