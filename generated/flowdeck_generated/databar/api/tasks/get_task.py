from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error import Error
from ...models.http_validation_error import HTTPValidationError
from ...models.task import Task
from ...types import UNSET, Response, Unset


def _get_kwargs(
    task_id: str,
    *,
    include_partial: bool | Unset = False,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["include_partial"] = include_partial

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/tasks/{task_id}".format(
            task_id=quote(str(task_id), safe=""),
        ),
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Error | HTTPValidationError | Task | None:
    if response.status_code == 200:
        response_200 = Task.from_dict(response.json())

        return response_200

    if response.status_code == 403:
        response_403 = Error.from_dict(response.json())

        return response_403

    if response.status_code == 404:
        response_404 = Error.from_dict(response.json())

        return response_404

    if response.status_code == 410:
        response_410 = Error.from_dict(response.json())

        return response_410

    if response.status_code == 422:
        response_422 = HTTPValidationError.from_dict(response.json())

        return response_422

    if response.status_code == 429:
        response_429 = Error.from_dict(response.json())

        return response_429

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Error | HTTPValidationError | Task]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    task_id: str,
    *,
    client: AuthenticatedClient | Client,
    include_partial: bool | Unset = False,
) -> Response[Error | HTTPValidationError | Task]:
    """Get task status

     Poll a task started by any run endpoint. Results are kept 24 hours, then `gone` or 410.

    Args:
        task_id (str):
        include_partial (bool | Unset):  Default: False.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | HTTPValidationError | Task]
    """

    kwargs = _get_kwargs(
        task_id=task_id,
        include_partial=include_partial,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    task_id: str,
    *,
    client: AuthenticatedClient | Client,
    include_partial: bool | Unset = False,
) -> Error | HTTPValidationError | Task | None:
    """Get task status

     Poll a task started by any run endpoint. Results are kept 24 hours, then `gone` or 410.

    Args:
        task_id (str):
        include_partial (bool | Unset):  Default: False.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | HTTPValidationError | Task
    """

    return sync_detailed(
        task_id=task_id,
        client=client,
        include_partial=include_partial,
    ).parsed


async def asyncio_detailed(
    task_id: str,
    *,
    client: AuthenticatedClient | Client,
    include_partial: bool | Unset = False,
) -> Response[Error | HTTPValidationError | Task]:
    """Get task status

     Poll a task started by any run endpoint. Results are kept 24 hours, then `gone` or 410.

    Args:
        task_id (str):
        include_partial (bool | Unset):  Default: False.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | HTTPValidationError | Task]
    """

    kwargs = _get_kwargs(
        task_id=task_id,
        include_partial=include_partial,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    task_id: str,
    *,
    client: AuthenticatedClient | Client,
    include_partial: bool | Unset = False,
) -> Error | HTTPValidationError | Task | None:
    """Get task status

     Poll a task started by any run endpoint. Results are kept 24 hours, then `gone` or 410.

    Args:
        task_id (str):
        include_partial (bool | Unset):  Default: False.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | HTTPValidationError | Task
    """

    return (
        await asyncio_detailed(
            task_id=task_id,
            client=client,
            include_partial=include_partial,
        )
    ).parsed
