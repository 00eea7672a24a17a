"""Batch runs: one run per input row, bounded concurrency and start rate, resumable after any crash.

By purpose: ``rows`` reads the input file, ``journal`` keeps what makes a batch resumable (the
results and state files), ``runner`` runs the rows (``run_batch``), ``outcomes`` says what became of
them (each row's error, failures grouped, the summary), ``reconcile`` resolves UNKNOWN rows by the
runs a provider lists (``batch --reconcile``).
"""

from __future__ import annotations

from flowdeck._batch.journal import (
    FORMAT,
    RESUMABLE,
    Earlier,
    Journal,
    forget_failed,
    left_marks,
    rows_left,
    run_from_json,
    run_to_json,
    write_atomically,
)
from flowdeck._batch.outcomes import (
    PERMANENT_STATUS_CODES,
    UNSTARTED,
    BatchSummary,
    CredentialRefusal,
    FailureGroup,
    credits_spent,
    failure_groups,
    is_rejection,
    reason,
    row_error,
)
from flowdeck._batch.rows import (
    DELIMITERS,
    ENCODINGS_HINT,
    BatchRow,
    InputFileError,
    Rows,
    by_ref,
    distinct_refs,
    fingerprint,
    is_blank,
    likely_encoding,
    loads_json,
    read_rows,
    read_text,
    sniff_delimiter,
    utf16_without_bom,
)
from flowdeck._batch.runner import (
    CREDENTIAL_PROBE_SECONDS,
    INTERRUPTED_START,
    BatchObserver,
    BulkGroup,
    plan_bulk,
    run_batch,
    start_limiter,
)

__all__ = [
    "CREDENTIAL_PROBE_SECONDS",
    "DELIMITERS",
    "ENCODINGS_HINT",
    "FORMAT",
    "INTERRUPTED_START",
    "PERMANENT_STATUS_CODES",
    "RESUMABLE",
    "UNSTARTED",
    "BatchObserver",
    "BatchRow",
    "BatchSummary",
    "BulkGroup",
    "CredentialRefusal",
    "Earlier",
    "FailureGroup",
    "InputFileError",
    "Journal",
    "Rows",
    "by_ref",
    "credits_spent",
    "distinct_refs",
    "failure_groups",
    "fingerprint",
    "forget_failed",
    "is_blank",
    "is_rejection",
    "left_marks",
    "likely_encoding",
    "loads_json",
    "plan_bulk",
    "read_rows",
    "read_text",
    "reason",
    "row_error",
    "rows_left",
    "run_batch",
    "run_from_json",
    "run_to_json",
    "sniff_delimiter",
    "start_limiter",
    "utf16_without_bom",
    "write_atomically",
]
