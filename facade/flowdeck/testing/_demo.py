"""What ``flowdeck demo`` runs: input rows over the built-in mock providers, some scripted to fail."""

from __future__ import annotations

from typing import Any

DEMO_OVER = "Databar, StackAI, Gumloop and SuperAI mocks"
DEMO_FLOW = "7c9e6679-7425-40de-944b-e07fc1f90ae7"


DEMO_SCRIPTED = (
    "The failing rows are scripted to fail, to show those paths: workflow ids with 'fail-' fail at the provider "
    "(FAILED), an unknown SuperAI flow is refused at start (REJECTED), and about 3% of the other runs fail at random."
)


def demo_rows(n: int) -> list[dict[str, Any]]:
    """A few hundred input rows spread over the four providers, some scripted to fail."""
    rows = []
    for i in range(n):
        fail = i % 9 == 4
        kind = i % 4
        if kind == 0:
            rows.append(
                {"workflow": f"databar:flow/{'fail-' if fail else ''}enrich-company", "domain": f"company{i}.com"}
            )
        elif kind == 1:
            rows.append({"workflow": f"stackai:acme/{'fail-' if fail else ''}summarize", "in-0": f"ticket #{i}"})
        elif kind == 2:
            rows.append({"workflow": f"gumloop:{'fail-' if fail else ''}weekly-digest", "topic": f"topic {i}"})
        else:
            flow = "00000000-0000-4000-8000-000000000404" if fail else DEMO_FLOW  # unknown flow: refused at start
            rows.append({"workflow": f"superai:{flow}", "file_key": f"invoices/{i}.pdf"})
    return rows
