from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.get_token_grant_type import GetTokenGrantType
from ...models.token import Token
from ...models.token_error import TokenError
from ...models.token_request import TokenRequest
from ...types import UNSET, Response


def _get_kwargs(
    *,
    body: TokenRequest,
    grant_type: GetTokenGrantType,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    params: dict[str, Any] = {}

    json_grant_type: str = grant_type
    params["grant_type"] = json_grant_type

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/auth/v1/token",
        "params": params,
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Token | TokenError | None:
    if response.status_code == 200:
        response_200 = Token.from_dict(response.json())

        return response_200

    if response.status_code == 400:
        response_400 = TokenError.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = TokenError.from_dict(response.json())

        return response_401

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Token | TokenError]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    body: TokenRequest,
    grant_type: GetTokenGrantType,
) -> Response[Token | TokenError]:
    """Exchange email+password (or a refresh token) for a one-hour access token

     Served by the auth service, not the API host.

    Args:
        grant_type (GetTokenGrantType):
        body (TokenRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Token | TokenError]
    """

    kwargs = _get_kwargs(
        body=body,
        grant_type=grant_type,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
    body: TokenRequest,
    grant_type: GetTokenGrantType,
) -> Token | TokenError | None:
    """Exchange email+password (or a refresh token) for a one-hour access token

     Served by the auth service, not the API host.

    Args:
        grant_type (GetTokenGrantType):
        body (TokenRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Token | TokenError
    """

    return sync_detailed(
        client=client,
        body=body,
        grant_type=grant_type,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    body: TokenRequest,
    grant_type: GetTokenGrantType,
) -> Response[Token | TokenError]:
    """Exchange email+password (or a refresh token) for a one-hour access token

     Served by the auth service, not the API host.

    Args:
        grant_type (GetTokenGrantType):
        body (TokenRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Token | TokenError]
    """

    kwargs = _get_kwargs(
        body=body,
        grant_type=grant_type,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    body: TokenRequest,
    grant_type: GetTokenGrantType,
) -> Token | TokenError | None:
    """Exchange email+password (or a refresh token) for a one-hour access token

     Served by the auth service, not the API host.

    Args:
        grant_type (GetTokenGrantType):
        body (TokenRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Token | TokenError
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
            grant_type=grant_type,
        )
    ).parsed
