from typing import Literal

GetTokenGrantType = Literal["password", "refresh_token"]

GET_TOKEN_GRANT_TYPE_VALUES: set[GetTokenGrantType] = {
    "password",
    "refresh_token",
}


def check_get_token_grant_type(value: str) -> GetTokenGrantType:
    if value in GET_TOKEN_GRANT_TYPE_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {GET_TOKEN_GRANT_TYPE_VALUES!r}"
    )
