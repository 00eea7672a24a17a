from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.enrichment_run_request import EnrichmentRunRequest
from ...models.error import Error
from ...models.http_validation_error import HTTPValidationError
from ...models.run_response import RunResponse
from ...types import Response


def _get_kwargs(
    enrichment_id: int,
    *,
    body: EnrichmentRunRequest,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/enrichments/{enrichment_id}/run".format(
            enrichment_id=quote(str(enrichment_id), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Error | HTTPValidationError | RunResponse | None:
    if response.status_code == 200:
        response_200 = RunResponse.from_dict(response.json())

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
) -> Response[Error | HTTPValidationError | RunResponse]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    enrichment_id: int,
    *,
    client: AuthenticatedClient | Client,
    body: EnrichmentRunRequest,
) -> Response[Error | HTTPValidationError | RunResponse]:
    """Run an enrichment

     Poll the task for the enrichment's data.

    Args:
        enrichment_id (int):
        body (EnrichmentRunRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | HTTPValidationError | RunResponse]
    """

    kwargs = _get_kwargs(
        enrichment_id=enrichment_id,
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    enrichment_id: int,
    *,
    client: AuthenticatedClient | Client,
    body: EnrichmentRunRequest,
) -> Error | HTTPValidationError | RunResponse | None:
    """Run an enrichment

     Poll the task for the enrichment's data.

    Args:
        enrichment_id (int):
        body (EnrichmentRunRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | HTTPValidationError | RunResponse
    """

    return sync_detailed(
        enrichment_id=enrichment_id,
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    enrichment_id: int,
    *,
    client: AuthenticatedClient | Client,
    body: EnrichmentRunRequest,
) -> Response[Error | HTTPValidationError | RunResponse]:
    """Run an enrichment

     Poll the task for the enrichment's data.

    Args:
        enrichment_id (int):
        body (EnrichmentRunRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | HTTPValidationError | RunResponse]
    """

    kwargs = _get_kwargs(
        enrichment_id=enrichment_id,
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    enrichment_id: int,
    *,
    client: AuthenticatedClient | Client,
    body: EnrichmentRunRequest,
) -> Error | HTTPValidationError | RunResponse | None:
    """Run an enrichment

     Poll the task for the enrichment's data.

    Args:
        enrichment_id (int):
        body (EnrichmentRunRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | HTTPValidationError | RunResponse
    """

    return (
        await asyncio_detailed(
            enrichment_id=enrichment_id,
            client=client,
            body=body,
        )
    ).parsed
