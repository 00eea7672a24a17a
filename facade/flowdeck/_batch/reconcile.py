"""Resolving a batch's ``UNKNOWN`` rows by asking the provider which runs it has (``batch --reconcile``).

A row is UNKNOWN when its start request was sent and its answer lost: the run may exist. Where the
provider can list a workflow's recent runs (``RunSupport.list_runs``), each UNKNOWN row is matched to
a run of its workflow with the same inputs, created after its start request was sent (less
:data:`SKEW_SECONDS`), and not already some other row's; the match becomes the row's run in the
journal, so the resume that follows waits on it and writes its result.

A row with no match is started again only when nothing there can be its run: the listing is
complete back to its start, it shows no run of that workflow since then that no row has (a run
whose inputs the provider shows differently could be this row's), and the start was sent at least
:data:`SETTLE_SECONDS` ago (a request still on its way could create its run later). Anything less
leaves it UNKNOWN: a paid run is never started twice on a guess.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from flowdeck._batch.journal import Journal, Results
from flowdeck._batch.outcomes import row_error
from flowdeck._batch.rows import BatchRow, fingerprint
from flowdeck._client import AsyncClient
from flowdeck._errors import FlowdeckError
from flowdeck._models import Run
from flowdeck._providers import Listed, RecentRuns, parse_ref
from flowdeck._providers import get as provider_spec

SKEW_SECONDS = 60.0  # how far the provider's clock may be from ours
SETTLE_SECONDS = 300.0  # a start sent more recently may still create its run
LIST_LIMIT = 10_000  # runs read per workflow at most


@attrs.frozen
class Reconciled:
    """What ``--reconcile`` did with one provider's UNKNOWN rows: ``matched`` to runs found there,
    ``restartable`` (certainly never started: started again now), the rest left UNKNOWN for ``left``
    (reason -> rows); ``cannot``: why the provider could not be asked, with where to look instead."""

    provider: str
    unknown: int
    matched: int = 0
    restartable: int = 0
    left: Mapping[str, int] = attrs.field(factory=dict)
    cannot: str | None = None

    def to_json(self) -> dict[str, Any]:
        """As ``batch --json`` reports it, under ``reconciled``."""
        left = sum(self.left.values()) if self.cannot is None else self.unknown
        return {
            "provider": self.provider,
            "unknown": self.unknown,
            "matched": self.matched,
            "restarted": self.restartable,
            "left": left,
            "why": self.cannot or "; ".join(self.left),
        }

    def line(self) -> str:
        """The one line the command prints.

        >>> Reconciled("acme", 3, matched=2, left={"its run may not show yet": 1}).line()
        'acme: 2 of 3 UNKNOWN rows matched runs there (waited on now); 1 left UNKNOWN: its run may not show yet'
        """
        if self.cannot is not None:
            return f"{self.provider}: {self.unknown} UNKNOWN rows left as they are: {self.cannot}"
        parts = [f"{self.provider}: {self.matched} of {self.unknown} UNKNOWN rows matched runs there (waited on now)"]
        if self.restartable:
            parts.append(f"{self.restartable} certainly never started there (started now)")
        if self.left:
            why = "; ".join(f"{n} {reason}" if len(self.left) > 1 else reason for reason, n in self.left.items())
            parts.append(f"{sum(self.left.values())} left UNKNOWN: {why}")
        return "; ".join(parts)


def _unknown_rows(rows: Sequence[BatchRow], journal: Journal) -> list[BatchRow]:
    earlier = journal.load(fingerprint(rows))
    results = earlier.results
    numbers = set(earlier.unresolved)
    if isinstance(results, Results):
        numbers.update(n for n, _ in results.rows_of(lambda r: r.get("status") == "UNKNOWN"))
    else:
        numbers.update(n for n, r in results.items() if r.get("status") == "UNKNOWN")
    return [r for r in rows if r.number in numbers]


async def reconcile(client: AsyncClient, rows: Sequence[BatchRow], journal: Journal) -> list[Reconciled]:
    """Resolve the UNKNOWN rows of the batch ``journal`` keeps (see the module docstring); one
    :class:`Reconciled` per provider that has such rows. Takes the batch's lock while it runs.

    >>> await reconcile(client, read_rows(Path("in.csv"), "superai:..."), Journal(Path("o.jsonl")))
    ... # doctest: +SKIP
    """
    try:
        unknown = _unknown_rows(rows, journal)
        if not unknown:
            return []
        sent = journal.intents([r.number for r in unknown])
        by_provider: dict[str, list[BatchRow]] = {}
        for row in unknown:
            by_provider.setdefault(parse_ref(row.ref).provider, []).append(row)
        outcome: list[Reconciled] = []
        matched: dict[int, Run] = {}
        restart: list[int] = []
        for provider, members in sorted(by_provider.items()):
            spec = provider_spec(provider)
            if spec.runs.list_runs is None:
                cannot = f"{spec.title} cannot list its runs; {spec.unknown_start()}"
                outcome.append(Reconciled(provider, len(members), cannot=cannot))
                continue
            found, free, left = await _provider(client, journal, members, sent)
            matched.update(found)
            restart.extend(free)
            outcome.append(Reconciled(provider, len(members), len(found), len(free), dict(left)))
        _record(journal, {r.number: r for r in unknown}, matched, restart)
        return outcome
    finally:
        journal.close()


def _record(journal: Journal, rows: Mapping[int, BatchRow], matched: Mapping[int, Run], restart: list[int]) -> None:
    """Journal each match as its row's run and each restartable row as never started; their UNKNOWN
    result lines go, so the resume waits on (or starts) them."""
    resolved = {*matched, *restart}
    if not resolved:
        return
    journal.set_aside(resolved)
    for number, run in sorted(matched.items()):
        journal.started(rows[number], run)
    for number in sorted(restart):
        journal.not_started(number)
    journal.finish(resolved)


async def _provider(
    client: AsyncClient, journal: Journal, rows: list[BatchRow], sent: Mapping[int, tuple[float, bool]]
) -> tuple[dict[int, Run], list[int], Counter[str]]:
    """One provider's UNKNOWN rows: the runs matched, the rows safe to start again, why others are left."""
    left: Counter[str] = Counter()
    matched: dict[int, Run] = {}
    restart: list[int] = []
    by_workflow: dict[str, list[BatchRow]] = {}
    for row in rows:
        if row.number not in sent:
            left["no start time in the journal"] += 1
        elif sent[row.number][1]:
            left["started as part of a bulk task, which a listing of runs cannot match"] += 1
        else:
            by_workflow.setdefault(row.ref, []).append(row)
    list_runs = provider_spec(parse_ref(rows[0].ref).provider).runs.list_runs
    assert list_runs is not None  # only asked of providers that can list
    for ref, members in by_workflow.items():
        workflow = parse_ref(ref)
        since = min(sent[r.number][0] for r in members) - SKEW_SECONDS
        try:
            listed = await client.drive(list_runs(client.adapter(workflow.provider), workflow, since, LIST_LIMIT))
        except FlowdeckError as exc:
            left[f"could not list its runs ({row_error(exc)})"] += len(members)
            continue
        found, free, why = _match(members, sent, listed, journal.claimed([x.run.id for x in listed.runs]))
        matched.update(found)
        restart.extend(free)
        left.update(why)
    return matched, restart, left


def _key(inputs: Mapping[str, Any] | None) -> str | None:
    return None if inputs is None else json.dumps(inputs, sort_keys=True, default=str)


def _match(
    rows: list[BatchRow], sent: Mapping[int, tuple[float, bool]], listed: RecentRuns, claimed: set[str]
) -> tuple[dict[int, Run], list[int], Counter[str]]:
    """Each row, earliest start first, takes the earliest unclaimed run with its inputs created after its
    start was sent; the rest are restartable only as the module docstring says."""
    free: list[Listed] = sorted(
        (x for x in listed.runs if x.run.id not in claimed),
        key=lambda x: x.run.created_at.timestamp() if x.run.created_at else 0.0,
    )
    matched: dict[int, Run] = {}
    unmatched: list[BatchRow] = []
    for row in sorted(rows, key=lambda r: sent[r.number][0]):
        after = sent[row.number][0] - SKEW_SECONDS
        key = _key(row.inputs)
        hit = next((x for x in free if _key(x.inputs) == key and _created(x) >= after), None)
        if hit is None:
            unmatched.append(row)
        else:
            free.remove(hit)
            matched[row.number] = hit.run
    restart: list[int] = []
    left: Counter[str] = Counter()
    now = time.time()
    for row in unmatched:
        at = sent[row.number][0]
        if not listed.complete:
            left[f"no run found among the {len(listed.runs)} most recent, and older ones were not read"] += 1
        elif any(_created(x) >= at - SKEW_SECONDS for x in free):
            left["a run there no row has could be its run (inputs shown otherwise, or started elsewhere)"] += 1
        elif now - at < SETTLE_SECONDS:
            left[f"sent under {SETTLE_SECONDS:.0f} s ago, its run may not show yet (reconcile again later)"] += 1
        else:
            restart.append(row.number)
    return matched, restart, left


def _created(listed: Listed) -> float:
    created = listed.run.created_at
    return created.timestamp() if created is not None else float("inf")
