"""``flowdeck mock --config mock.toml``: a :class:`MockConfig` written as TOML, read with the standard library.

The file's keys are ``MockConfig``'s fields (``[faults]`` a table of ``Faults``' fields); each value is
checked for its type here and for its range by the classes themselves, so a mistake is one line naming
the file, the key and the value.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flowdeck.testing._mockcore import Faults


class MockFileError(ValueError):
    """A configuration file that cannot be read, or holds a key or value MockConfig does not take."""


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError("is not a number")
    return float(value)


def _whole(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError("is not a whole number")
    return value


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("is not a string")
    return value


def _pair(value: Any) -> tuple[float, float]:
    if not isinstance(value, list) or len(value) != 2:
        raise TypeError("is not [shortest, longest] seconds")
    return _number(value[0]), _number(value[1])


def _table(value: Any, of: Callable[[Any], Any], what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise TypeError(f"is not a table of {what}")
    try:
        return {str(k): of(v) for k, v in value.items()}
    except TypeError:
        raise TypeError(f"is not a table of {what}") from None


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError("is not true or false")
    return value


def _flows(value: Any) -> dict[str, dict[str, bool]]:
    return _table(value, lambda inputs: _table(inputs, _flag, "input = true (required) or false"), "flows")


def _projects(value: Any) -> dict[str, tuple[str, ...]]:
    def members(users: Any) -> tuple[str, ...]:
        if not isinstance(users, list):
            raise TypeError
        return tuple(_text(u) for u in users)

    return _table(value, members, "project = [user ids]")


_FAULT_KEYS: dict[str, Callable[[Any], Any]] = {
    "rate": _number,
    "kinds": lambda v: tuple(_text(k) for k in v) if isinstance(v, list) else _text(v),
    "retry_after": _whole,
    "latency": _number,
    "jitter": _number,
    "slow_seconds": _number,
}


def _faults(value: Any) -> Faults:
    fields = _fields(value, _FAULT_KEYS, "faults.")
    try:
        return Faults(**fields)
    except ValueError as exc:
        raise MockFileError(str(exc)) from None


KEYS: dict[str, Callable[[Any], Any]] = {
    "seed": _whole,
    "run_seconds": _pair,
    "failure_rate": _number,
    "databar_key": _text,
    "databar_credits": _number,
    "databar_flows": _flows,
    "stackai_key": _text,
    "gumloop_key": _text,
    "gumloop_user": _text,
    "gumloop_accounts": lambda v: _table(v, _text, "key = user id"),
    "gumloop_projects": _projects,
    "superai_email": _text,
    "superai_password": _text,
    "superai_token": _text,
    "start_quota": _number,
    "faults": _faults,
}
"""Each key a configuration file may hold (``MockConfig``'s fields), with its reader."""


def _fields(table: Any, readers: dict[str, Callable[[Any], Any]], prefix: str = "") -> dict[str, Any]:
    if not isinstance(table, dict):
        raise MockFileError(f"{prefix.rstrip('.')} is not a table")
    fields: dict[str, Any] = {}
    for key, value in table.items():
        if key not in readers:
            raise MockFileError(f"unknown key '{prefix}{key}'; the keys are: {', '.join(prefix + k for k in readers)}")
        try:
            fields[key] = readers[key](value)
        except TypeError as exc:
            raise MockFileError(f"{prefix}{key} = {value!r} {exc}") from None
    return fields


def read_mock_file(path: str) -> dict[str, Any]:
    """``MockConfig``'s keyword arguments from the TOML file at ``path``; :class:`MockFileError` naming
    the file and what is wrong in it.

    >>> read_mock_file("no-such-file.toml")
    Traceback (most recent call last):
    flowdeck.testing._mockfile.MockFileError: no-such-file.toml: no such file
    """
    try:
        with Path(path).open("rb") as file:
            table = tomllib.load(file)
    except FileNotFoundError:
        raise MockFileError(f"{path}: no such file") from None
    except OSError as exc:
        raise MockFileError(f"{path}: cannot be read ({exc.strerror})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise MockFileError(f"{path}: not valid TOML ({exc})") from None
    try:
        return _fields(table, KEYS)
    except MockFileError as exc:
        raise MockFileError(f"{path}: {exc}") from None
