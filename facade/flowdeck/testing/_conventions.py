"""How to make the mocks produce each status and error a provider documents, and what flowdeck makes of it.

The table is data (:func:`conventions`) so that ``flowdeck mock --help``, the docs and the tests all
read one source; the status words come from the mocks' own tables and the facade column from the
adapters' status tables and the core's error mapping, so none of them can drift apart unnoticed.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Mapping

import attrs

import flowdeck.testing._databar as _databar
import flowdeck.testing._gumloop as _gumloop
import flowdeck.testing._stackai as _stackai
import flowdeck.testing._superai as _superai
from flowdeck.testing._mockcore import Kind

# No provider documents it: shows how a new status word reaches flowdeck.
NEW_WORD = "brand_new_word"
_NEW_STATUS = "`UnknownStatusError` (raw body kept)"


@attrs.frozen
class Convention:
    """One documented status or error of a provider, how to trigger it on the mocks, and the facade's answer.

    ``key`` is stable (e.g. ``"databar status partially_completed"``, ``"gumloop HTTP 404"``).
    """

    provider: str
    documented: str
    trigger: str
    facade: str
    key: str


def _adapter_statuses(provider: str) -> Mapping[str, object]:
    module, table = {
        "databar": ("flowdeck._providers.databar", "STATUSES"),
        "gumloop": ("flowdeck._providers.gumloop", "STATES"),
        "stackai": ("flowdeck._providers.stackai", "STATES"),
        "superai": ("flowdeck._providers.superai", "STATUSES"),
    }[provider]
    statuses: Mapping[str, object] = getattr(importlib.import_module(module), table)
    return statuses


def _status_rows(
    provider: str, kinds: Mapping[str, Kind], example: str, defaults: Mapping[str, str]
) -> list[Convention]:
    mapped = _adapter_statuses(provider)
    rows = []
    for word in [*kinds, NEW_WORD]:
        if provider == "superai":
            trigger = f"`superai:{_superai.SUPERAI_SCRIPTED_FLOWS[word]}`" if word in kinds else ""
            trigger = trigger or f"`superai:<any flow uuid>` with input `mock_status={NEW_WORD}`"
        else:
            trigger = f"`{example.format(word=word)}`"
        if word in defaults:
            trigger += f"; {defaults[word]}"
        if word in mapped:
            facade = f"`{getattr(mapped[word], 'name', mapped[word])}`"
        elif provider == "stackai":
            facade = "`SUCCEEDED`, `provider_status` kept (a 200 carries the outputs)"
        else:
            facade = _NEW_STATUS
        documented = f"status `{word}`" if word != NEW_WORD else "a status word it does not document yet"
        rows.append(Convention(provider, documented, trigger, facade, f"{provider} status {word}"))
    return rows


def _error_rows(provider: str, triggers: Mapping[int, str]) -> list[Convention]:
    from flowdeck._core import _STATUS_ERRORS

    rows = []
    for code, trigger in triggers.items():
        if code >= 500:
            facade = "`ServerError` (polls, after retries); `StartOutcomeUnknown` (starts, never retried)"
        elif code == 410 and provider == "databar":
            facade = "run `EXPIRED` (a poll); `GoneError` elsewhere"
        else:
            facade = f"`{_STATUS_ERRORS[code].__name__}`" + (" (after retries)" if code == 429 else "")
        rows.append(Convention(provider, f"HTTP {code}", trigger, facade, f"{provider} HTTP {code}"))
    return rows


_FAULT = "`MockConfig(faults=Faults(rate=1.0, kinds=({code!r},)))`"
_ERRORS: Mapping[str, Mapping[int, str]] = {
    "databar": {
        400: "a run of a flow declared in `MockConfig.databar_flows` (`flowdeck mock --required-inputs`) without a "
        "required input",
        403: "a missing or wrong `x-apikey`",
        404: "a flow or waterfall id containing `missing`; an unknown task id",
        406: "`MockConfig(databar_credits=0)` (`flowdeck mock --credits 0`), or a start once the balance is spent",
        409: "cancelling a task that has ended",
        410: "polling a task 48 h after it ended (`mocks.clock.advance(48 * 3600)`); 24 h gives status `gone`",
        422: "a body the schema refuses (e.g. non-string flow inputs, `enrichments: []`)",
        429: _FAULT.format(code="429"),
        500: _FAULT.format(code="500"),
    },
    "gumloop": {
        400: "a `saved_item_id` containing `missing` (unknown flow); no `user_id`/`project_id`; a reserved "
        "or conflicting input name",
        401: "a missing or unknown API key",
        403: "a `user_id`/`x-auth-key` that is not the key's user, or a project it is not a member of",
        404: "an unknown `run_id`, or another user's run",
        429: _FAULT.format(code="429"),
        500: _FAULT.format(code="500"),
    },
    "stackai": {
        400: "a `user_id` input that is not a string (400 and 403 are our spec's guesses, not StackAI's)",
        401: "a missing or wrong bearer key",
        403: "an org id containing `forbidden`",
        404: "a flow id containing `missing`",
        422: "a body that is not a JSON object; a non-integer `version`",
        429: _FAULT.format(code="429"),
        500: _FAULT.format(code="500"),
    },
    "superai": {
        400: "a wrong password at login; a bad `grant_type`",
        401: "an expired or unknown token",
        403: "a flow UUID ending in `000000000403`",
        404: "a flow UUID ending in `000000000404`; an unknown or deleted execution",
        409: "re-executing a running execution of a flow UUID ending in `000000000409`",
        422: "a malformed UUID or query value",
        429: _FAULT.format(code="429"),
        500: _FAULT.format(code="500"),
    },
}


@functools.cache
def conventions() -> tuple[Convention, ...]:
    """Every documented status and error of each provider: its mock trigger and the facade's answer.

    >>> rows = conventions()
    >>> next(r for r in rows if r.key == "databar status partially_completed").facade
    '`SUCCEEDED`'
    """
    rows = [
        *_status_rows(
            "databar",
            _databar.STATUS_KINDS,
            "databar:flow/x-status-{word}",
            {
                "processing": "every run while it runs",
                "completed": "any flow",
                "failed": "a flow id containing `fail`",
                "cancelled": "`client.cancel(run)` while it runs",
                "gone": "any task 24 h after it ended (`mocks.clock.advance`)",
            },
        ),
        *_error_rows("databar", _ERRORS["databar"]),
        *_status_rows(
            "gumloop",
            _gumloop.STATE_KINDS,
            "gumloop:x-status-{word}",
            {
                "RUNNING": "every run while it runs",
                "DONE": "any flow",
                "FAILED": "an id containing `fail`",
                "TERMINATING": "`client.cancel(run)`, for half a second",
                "TERMINATED": "`client.cancel(run)`",
            },
        ),
        *_error_rows("gumloop", _ERRORS["gumloop"]),
        *_status_rows("stackai", _stackai.STATE_KINDS, "stackai:org/x-status-{word}", {"COMPLETED": "any flow"}),
        *_error_rows("stackai", _ERRORS["stackai"]),
        *_status_rows(
            "superai",
            _superai.STATUS_KINDS,
            "",
            {
                "queued": "every run, its first fifth",
                "running": "every run, until half-way",
                "in_progress": "every run, its second half",
                "completed": "any flow",
                "failed": "input `mock_outcome=fail`",
                "deleted": "shown in listings; its GET answers 404",
            },
        ),
        *_error_rows("superai", _ERRORS["superai"]),
    ]
    rows.insert(
        [r.key for r in rows].index("stackai HTTP 401"),
        Convention(
            "stackai", "a run with `error` set (200)", "a flow id containing `fail`", "`FAILED`", "stackai error set"
        ),
    )
    return tuple(rows)


def conventions_markdown(provider: str | None = None) -> str:
    """The conventions as a Markdown table (all providers, or one).

    >>> print(conventions_markdown("stackai").splitlines()[0])
    | provider | documented | mock trigger | flowdeck |
    """
    lines = ["| provider | documented | mock trigger | flowdeck |", "|---|---|---|---|"]
    lines += [
        f"| {r.provider} | {r.documented} | {r.trigger} | {r.facade} |"
        for r in conventions()
        if provider is None or r.provider == provider
    ]
    return "\n".join(lines)


def conventions_text(provider: str | None = None) -> str:
    """The conventions as plain lines, for a terminal (``flowdeck mock --help``)."""
    return "\n".join(
        f"{r.provider:8} {r.documented:40} <- {r.trigger.replace('`', '')}  =>  {r.facade.replace('`', '')}"
        for r in conventions()
        if provider is None or r.provider == provider
    )
