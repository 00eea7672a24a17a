"""Drives the official SDKs for the witness suite; runs in ``.venv-sdks`` (never imports flowdeck).

One JSON command per stdin line, one JSON answer per stdout line::

    {"sdk": "databar", "config": {"base_url": ..., "api_key": ...}, "method": "run_flow_sync", "args": [...]}
    -> {"ok": <result as JSON>}  or  {"error": {"type": ..., "mro": [...], "status_code": ..., ...}}

The SDKs are used unmodified: ``DatabarClient`` gets its base URL (and poll pace) through its
constructor; the legacy ``GumloopClient`` has no base-URL parameter, so its ``base_url`` attribute
(what every call reads) is set after construction.
"""

from __future__ import annotations

import json
import sys
import warnings
from typing import Any


def make(sdk: str, config: dict[str, Any]) -> Any:
    """A client of ``sdk`` pointed at ``config["base_url"]``."""
    if sdk == "databar":
        from databar import DatabarClient

        return DatabarClient(
            api_key=config["api_key"],
            base_url=config["base_url"],
            poll_interval_s=config.get("poll_interval", 0.02),
            max_poll_attempts=config.get("max_polls", 500),
        )
    from gumloop import GumloopClient

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # "GumloopClient is the flows client"
        client = GumloopClient(
            api_key=config["api_key"], user_id=config["user_id"], project_id=config.get("project_id")
        )
    client.base_url = config["base_url"]
    return client


def jsonable(value: Any) -> Any:
    """SDK results (pydantic models, lists of them, dicts) as JSON data."""
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    return value


def describe(exc: BaseException) -> dict[str, Any]:
    """What the SDK raised: its class (and bases), status, body, and the SDK's own extra attributes."""
    out: dict[str, Any] = {"type": type(exc).__name__, "mro": [c.__name__ for c in type(exc).__mro__],
                           "message": str(exc)}  # fmt: skip
    for attr in ("status_code", "response_body", "task_id", "partial_data", "errors"):
        if hasattr(exc, attr):
            out[attr] = jsonable(getattr(exc, attr))
    response = getattr(exc, "response", None)  # httpx.HTTPStatusError from the legacy gumloop client
    if response is not None:
        from gumloop.errors import to_api_error

        parsed = to_api_error(response)  # Gumloop's own reading of an error body
        out |= {"status_code": response.status_code, "response_body": response.text,
                "sdk_error": {"message": str(parsed), "code": parsed.code}}  # fmt: skip
    return out


def main() -> None:
    """Serve commands until stdin closes."""
    for line in sys.stdin:
        command = json.loads(line)
        client = make(command["sdk"], command["config"])
        try:
            result = getattr(client, command["method"])(*command.get("args", []), **command.get("kwargs", {}))
            answer: dict[str, Any] = {"ok": jsonable(result)}
        except Exception as exc:  # the point is to report whatever the SDK raises
            answer = {"error": describe(exc)}
        finally:
            client.close()
        print(json.dumps(answer, default=str), flush=True)


if __name__ == "__main__":
    main()
