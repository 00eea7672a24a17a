"""The official SDKs' documented way of running many: their sync loops, pointed at the mock providers.

Runs in its own virtualenv (``.venv-sdks``, made by ``make sdks`` from the ``sdks`` extra): the
gumloop SDK depends on jsonpath-python, whose ``jsonpath`` package overwrites python-jsonpath's in
a shared environment. Prints one JSON object: seconds per run for each SDK.
Usage: ``python bench_sdks.py <databar base url> <gumloop base url> <runs>``.
"""

from __future__ import annotations

import json
import sys
import time
import warnings


def databar_per_run(base_url: str, n: int) -> float:
    """``DatabarClient.run_flow_sync`` in a loop (submit, then poll every 2 s)."""
    from databar import DatabarClient

    started = time.perf_counter()
    with DatabarClient(api_key="mock-databar-key", base_url=base_url + "/v1") as client:
        for i in range(n):
            client.run_flow_sync("bench", {"row": str(i)})
    return (time.perf_counter() - started) / n


def gumloop_per_run(base_url: str, n: int) -> float:
    """``GumloopClient.run_flow`` in a loop (start, then poll every 1 s)."""
    from gumloop import GumloopClient

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        client = GumloopClient(api_key="mock-gumloop-key", user_id="mock-user")
    client.base_url = base_url  # no base-URL parameter: it reads this
    started = time.perf_counter()
    for i in range(n):
        client.run_flow("bench", {"row": str(i)})
    return (time.perf_counter() - started) / n


if __name__ == "__main__":
    databar_url, gumloop_url, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
    print(
        json.dumps(
            {"databar SDK": databar_per_run(databar_url, runs), "gumloop SDK": gumloop_per_run(gumloop_url, runs)}
        )
    )
