from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote
from uuid import UUID

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error import Error
from ...models.http_validation_error import HTTPValidationError
from ...types import UNSET, Response, Unset


def _get_kwargs(
    flow_execution_id: UUID,
    *,
    only_stale: bool | Unset = False,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["only_stale"] = only_stale

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/flow-executions/{flow_execution_id}/execute".format(
            flow_execution_id=quote(str(flow_execution_id), safe=""),
        ),
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Any | Error | HTTPValidationError | None:
    if response.status_code == 204:
        response_204 = cast(Any, None)
        return response_204

    if response.status_code == 401:
        response_401 = Error.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = Error.from_dict(response.json())

        return response_403

    if response.status_code == 404:
        response_404 = Error.from_dict(response.json())

        return response_404

    if response.status_code == 409:
        response_409 = Error.from_dict(response.json())

        return response_409

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
) -> Response[Any | Error | HTTPValidationError]:
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
    only_stale: bool | Unset = False,
) -> Response[Any | Error | HTTPValidationError]:
    """Re-execute a flow execution (same id; terminates it first if running)

    Args:
        flow_execution_id (UUID):
        only_stale (bool | Unset):  Default: False.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | Error | HTTPValidationError]
    """

    kwargs = _get_kwargs(
        flow_execution_id=flow_execution_id,
        only_stale=only_stale,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    flow_execution_id: UUID,
    *,
    client: AuthenticatedClient | Client,
    only_stale: bool | Unset = False,
) -> Any | Error | HTTPValidationError | None:
    """Re-execute a flow execution (same id; terminates it first if running)

    Args:
        flow_execution_id (UUID):
        only_stale (bool | Unset):  Default: False.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | Error | HTTPValidationError
    """

    return sync_detailed(
        flow_execution_id=flow_execution_id,
        client=client,
        only_stale=only_stale,
    ).parsed


async def asyncio_detailed(
    flow_execution_id: UUID,
    *,
    client: AuthenticatedClient | Client,
    only_stale: bool | Unset = False,
) -> Response[Any | Error | HTTPValidationError]:
    """Re-execute a flow execution (same id; terminates it first if running)

    Args:
        flow_execution_id (UUID):
        only_stale (bool | Unset):  Default: False.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | Error | HTTPValidationError]
    """

    kwargs = _get_kwargs(
        flow_execution_id=flow_execution_id,
        only_stale=only_stale,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    flow_execution_id: UUID,
    *,
    client: AuthenticatedClient | Client,
    only_stale: bool | Unset = False,
) -> Any | Error | HTTPValidationError | None:
    """Re-execute a flow execution (same id; terminates it first if running)

    Args:
        flow_execution_id (UUID):
        only_stale (bool | Unset):  Default: False.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | Error | HTTPValidationError
    """

    return (
        await asyncio_detailed(
            flow_execution_id=flow_execution_id,
            client=client,
            only_stale=only_stale,
        )
    ).parsed
