"""The README's Python examples run as written, against the mock providers."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flowdeck.testing import MockProviders

ROOT = Path(__file__).resolve().parents[1]


BLOCKS = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(encoding="utf-8"), re.S)


def test_readme_opens_with_the_two_commands() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    first_block = re.search(r"```bash\n(.*?)```", text, re.S)
    assert first_block is not None
    commands = [line.split("#")[0].strip() for line in first_block.group(1).splitlines() if line.strip()]
    assert commands == ["make demo", "make test"]
    assert "make test" in (ROOT / ".ci" / "run").read_text()


@pytest.mark.parametrize("block", [b for b in BLOCKS if "flowdeck.Client" in b or "AsyncClient" in b])
def test_readme_example_runs(block: str, served_mocks: MockProviders, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in served_mocks.env.items():
        monkeypatch.setenv(key, value)
    exec(compile(block, "README.md", "exec"), {"__name__": "readme"})  # noqa: S102 - our own docs
