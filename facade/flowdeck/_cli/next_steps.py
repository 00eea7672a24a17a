"""What ``flowdeck batch`` tells a user to do about each group of rows that did not succeed."""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from pathlib import Path

from flowdeck._batch import (
    CredentialRefusal,
    FailureGroup,
)
from flowdeck._cli.explain import credential_variables, url_of
from flowdeck._cli.output import (
    unknown_means,
)
from flowdeck._providers import get as provider_spec


def next_step(
    group: FailureGroup, resume: list[str], out: Path, refused: Mapping[str, CredentialRefusal] | None = None
) -> str:
    """What to do about a group of rows that did not succeed (``refused``: providers that refused the credential)."""
    again = shlex.join(resume)
    credential_step = (
        f"check {' / '.join(credential_variables(group.provider))}, then run: "
        f"{shlex.join([*resume, '--retry-rejected'])}"
    )
    if group.status == "REJECTED":
        known = ("AuthenticationError", "PermissionDeniedError", "MissingCredentialError")
        if group.error_type in known or group.provider in (refused or {}):
            return credential_step
        if group.error_type == "NotFoundError":
            return f"check the workflow reference and account, then run: {shlex.join([*resume, '--retry-rejected'])}"
        if group.error_type == "InsufficientCreditsError":
            return f"add credits at {group.provider}, then run: {shlex.join([*resume, '--retry-rejected'])}"
        return "fix these rows' inputs and run them with a new --out (a changed input file cannot resume this batch)"
    if group.status == "UNKNOWN":
        if provider_spec(group.provider).runs.list_runs is not None:
            return (
                f"no whole answer came back to these starts; to find their runs at {group.provider} and wait on "
                f"them (rows with none there are started only when certainly never started), run: "
                f"{shlex.join([*resume, '--reconcile'])}"
            )
        return (
            f"no whole answer came back to these starts: {unknown_means(group.provider)}. Reruns leave these rows "
            f"alone; once you know they did not start, start them with (a run that did start runs twice): "
            f"{shlex.join([*resume, '--retry-unknown'])}"
        )
    if group.status == "NOT_STARTED":
        if group.error_type is None and group.provider in (refused or {}) and group.reason.startswith("not sent: "):
            return credential_step  # refused rows retried with them
        if group.error_type == "RateLimitError" and "--adaptive-rate" not in resume:
            # The same pace would meet the same quota.
            return (
                f"{group.provider} refused these starts (HTTP 429, a quota); to start them at the pace it "
                f"accepts run: {shlex.join([*resume, '--adaptive-rate'])}"
            )
        if group.error_type == "TransportError" and "could not connect" in group.reason:
            where, source = url_of(group.provider, group.reason.partition(":")[0].rpartition(" ")[2])
            return f"{group.provider} could not be reached at {where}, {source}; then run: {again}"
        return f"nothing was started for these rows; to try again run: {again}"
    if group.status == "POLL_ERROR" and group.error_type == "NotFoundError":
        # The same 404 again: the runs are not at this server.
        return (
            f"{group.provider} does not know these runs (HTTP 404): they were started at another server or "
            f"account than the one configured now; check its base URL and key (flowdeck doctor)"
        )
    if group.status == "TIMEOUT" and "--timeout" in resume:
        # The same --timeout would likely expire again: wait until they end.
        at = resume.index("--timeout")
        until_done = shlex.join([*resume[:at], *resume[at + 2 :]])
        return (
            f"the runs go on at {group.provider}; to wait until they end run: {until_done} "
            f"(or add a --timeout longer than {resume[at + 1]})"
        )
    if group.status in ("TIMEOUT", "POLL_ERROR"):
        return f"the runs go on at {group.provider}; to wait for them again run: {again}"
    if group.status == "FAILED":
        return (
            f"the workflow failed at {group.provider}; each row's error is in {out}. To run these rows again "
            f"(each a new run, paid again): {shlex.join([*resume, '--retry-failed'])}"
        )
    return f"see each row in {out}"
