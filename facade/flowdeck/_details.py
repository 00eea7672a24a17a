"""The values a provider describes besides runs: a workflow and its declared inputs, an account, a
SuperAI task's output. Public (``flowdeck.Flow``...), immutable and comparable like ``flowdeck._models``'
values, but loaded only when a provider or a user needs them, not by ``import flowdeck``.
"""

from __future__ import annotations

from typing import Any

import attrs


@attrs.frozen
class TaskOutput:
    """One task execution of a SuperAI flow execution: where SuperAI keeps outputs."""

    name: str
    index: int | None
    status: str
    output: Any = None
    error: str | None = None


@attrs.frozen
class DeclaredInput:
    """One input a workflow declares: its ``id`` (the key of a run's inputs), type, whether it is required.

    >>> DeclaredInput("domain", required=True, type="text")
    DeclaredInput(id='domain', required=True, type='text', description='')
    """

    id: str
    required: bool = False
    type: str = ""
    description: str = ""


@attrs.frozen
class Flow:
    """A workflow as its provider describes it: name and declared inputs. ``raw`` is the provider's answer."""

    id: str
    name: str
    description: str = ""
    inputs: tuple[DeclaredInput, ...] = ()
    raw: Any = attrs.field(default=None, repr=False, eq=False)

    @property
    def required(self) -> tuple[str, ...]:
        """The ids of the required inputs."""
        return tuple(i.id for i in self.inputs if i.required)


@attrs.frozen
class Account:
    """The account behind a credential: who, which plan, how many credits are left (``balance``)."""

    email: str
    plan: str
    balance: float
    workspace: str | None = None
    raw: Any = attrs.field(default=None, repr=False, eq=False)
