from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error import Error
from ...models.http_validation_error import HTTPValidationError
from ...models.waterfall_request import WaterfallRequest
from ...models.waterfall_task import WaterfallTask
from ...types import Response


def _get_kwargs(
    waterfall_identifier: str,
    *,
    body: WaterfallRequest,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/waterfalls/{waterfall_identifier}/run".format(
            waterfall_identifier=quote(str(waterfall_identifier), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Error | HTTPValidationError | WaterfallTask | None:
    if response.status_code == 200:
        response_200 = WaterfallTask.from_dict(response.json())

        return response_200

    if response.status_code == 400:
        response_400 = Error.from_dict(response.json())

        return response_400

    if response.status_code == 403:
        response_403 = Error.from_dict(response.json())

        return response_403

    if response.status_code == 404:
        response_404 = Error.from_dict(response.json())

        return response_404

    if response.status_code == 406:
        response_406 = Error.from_dict(response.json())

        return response_406

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
) -> Response[Error | HTTPValidationError | WaterfallTask]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    waterfall_identifier: str,
    *,
    client: AuthenticatedClient | Client,
    body: WaterfallRequest,
) -> Response[Error | HTTPValidationError | WaterfallTask]:
    """Run a waterfall task

     Executes a waterfall task with the provided parameters and enrichments. The enrichments field
    specifies which data providers to use for the waterfall. Please note: data is stored in our systems
    for 24 hours. After 24 hours, all data and requests made via enrichments and waterfalls will be
    removed and your request id will no longer be active.

    Args:
        waterfall_identifier (str): The identifier of the waterfall to run
        body (WaterfallRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | HTTPValidationError | WaterfallTask]
    """

    kwargs = _get_kwargs(
        waterfall_identifier=waterfall_identifier,
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    waterfall_identifier: str,
    *,
    client: AuthenticatedClient | Client,
    body: WaterfallRequest,
) -> Error | HTTPValidationError | WaterfallTask | None:
    """Run a waterfall task

     Executes a waterfall task with the provided parameters and enrichments. The enrichments field
    specifies which data providers to use for the waterfall. Please note: data is stored in our systems
    for 24 hours. After 24 hours, all data and requests made via enrichments and waterfalls will be
    removed and your request id will no longer be active.

    Args:
        waterfall_identifier (str): The identifier of the waterfall to run
        body (WaterfallRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | HTTPValidationError | WaterfallTask
    """

    return sync_detailed(
        waterfall_identifier=waterfall_identifier,
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    waterfall_identifier: str,
    *,
    client: AuthenticatedClient | Client,
    body: WaterfallRequest,
) -> Response[Error | HTTPValidationError | WaterfallTask]:
    """Run a waterfall task

     Executes a waterfall task with the provided parameters and enrichments. The enrichments field
    specifies which data providers to use for the waterfall. Please note: data is stored in our systems
    for 24 hours. After 24 hours, all data and requests made via enrichments and waterfalls will be
    removed and your request id will no longer be active.

    Args:
        waterfall_identifier (str): The identifier of the waterfall to run
        body (WaterfallRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | HTTPValidationError | WaterfallTask]
    """

    kwargs = _get_kwargs(
        waterfall_identifier=waterfall_identifier,
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    waterfall_identifier: str,
    *,
    client: AuthenticatedClient | Client,
    body: WaterfallRequest,
) -> Error | HTTPValidationError | WaterfallTask | None:
    """Run a waterfall task

     Executes a waterfall task with the provided parameters and enrichments. The enrichments field
    specifies which data providers to use for the waterfall. Please note: data is stored in our systems
    for 24 hours. After 24 hours, all data and requests made via enrichments and waterfalls will be
    removed and your request id will no longer be active.

    Args:
        waterfall_identifier (str): The identifier of the waterfall to run
        body (WaterfallRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | HTTPValidationError | WaterfallTask
    """

    return (
        await asyncio_detailed(
            waterfall_identifier=waterfall_identifier,
            client=client,
            body=body,
        )
    ).parsed
