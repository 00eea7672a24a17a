from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error import Error
from ...models.http_validation_error import HTTPValidationError
from ...models.inputs import Inputs
from ...models.run_result import RunResult
from ...types import UNSET, Response, Unset


def _get_kwargs(
    org_id: str,
    flow_id: str,
    *,
    body: Inputs,
    version: int | Unset = -1,
    verbose: bool | Unset = True,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    params: dict[str, Any] = {}

    params["version"] = version

    params["verbose"] = verbose

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/inference/v0/run/{org_id}/{flow_id}".format(
            org_id=quote(str(org_id), safe=""),
            flow_id=quote(str(flow_id), safe=""),
        ),
        "params": params,
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Error | HTTPValidationError | RunResult | None:
    if response.status_code == 200:
        response_200 = RunResult.from_dict(response.json())

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

    if response.status_code == 429:
        response_429 = Error.from_dict(response.json())

        return response_429

    if response.status_code == 500:
        response_500 = Error.from_dict(response.json())

        return response_500

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Error | HTTPValidationError | RunResult]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    org_id: str,
    flow_id: str,
    *,
    client: AuthenticatedClient | Client,
    body: Inputs,
    version: int | Unset = -1,
    verbose: bool | Unset = True,
) -> Response[Error | HTTPValidationError | RunResult]:
    """Run Deployed Flow

     Run a flow and get the result.

    Args:
        org_id (str):
        flow_id (str): The flow ID. [Learn how to get it](/docs/api-reference/how-to-get-flow-id).
        version (int | Unset): Version of the flow Default: -1.
        verbose (bool | Unset): Return the full model Default: True.
        body (Inputs): Input parameters for the flow

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | HTTPValidationError | RunResult]
    """

    kwargs = _get_kwargs(
        org_id=org_id,
        flow_id=flow_id,
        body=body,
        version=version,
        verbose=verbose,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    org_id: str,
    flow_id: str,
    *,
    client: AuthenticatedClient | Client,
    body: Inputs,
    version: int | Unset = -1,
    verbose: bool | Unset = True,
) -> Error | HTTPValidationError | RunResult | None:
    """Run Deployed Flow

     Run a flow and get the result.

    Args:
        org_id (str):
        flow_id (str): The flow ID. [Learn how to get it](/docs/api-reference/how-to-get-flow-id).
        version (int | Unset): Version of the flow Default: -1.
        verbose (bool | Unset): Return the full model Default: True.
        body (Inputs): Input parameters for the flow

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | HTTPValidationError | RunResult
    """

    return sync_detailed(
        org_id=org_id,
        flow_id=flow_id,
        client=client,
        body=body,
        version=version,
        verbose=verbose,
    ).parsed


async def asyncio_detailed(
    org_id: str,
    flow_id: str,
    *,
    client: AuthenticatedClient | Client,
    body: Inputs,
    version: int | Unset = -1,
    verbose: bool | Unset = True,
) -> Response[Error | HTTPValidationError | RunResult]:
    """Run Deployed Flow

     Run a flow and get the result.

    Args:
        org_id (str):
        flow_id (str): The flow ID. [Learn how to get it](/docs/api-reference/how-to-get-flow-id).
        version (int | Unset): Version of the flow Default: -1.
        verbose (bool | Unset): Return the full model Default: True.
        body (Inputs): Input parameters for the flow

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | HTTPValidationError | RunResult]
    """

    kwargs = _get_kwargs(
        org_id=org_id,
        flow_id=flow_id,
        body=body,
        version=version,
        verbose=verbose,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    org_id: str,
    flow_id: str,
    *,
    client: AuthenticatedClient | Client,
    body: Inputs,
    version: int | Unset = -1,
    verbose: bool | Unset = True,
) -> Error | HTTPValidationError | RunResult | None:
    """Run Deployed Flow

     Run a flow and get the result.

    Args:
        org_id (str):
        flow_id (str): The flow ID. [Learn how to get it](/docs/api-reference/how-to-get-flow-id).
        version (int | Unset): Version of the flow Default: -1.
        verbose (bool | Unset): Return the full model Default: True.
        body (Inputs): Input parameters for the flow

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | HTTPValidationError | RunResult
    """

    return (
        await asyncio_detailed(
            org_id=org_id,
            flow_id=flow_id,
            client=client,
            body=body,
            version=version,
            verbose=verbose,
        )
    ).parsed
