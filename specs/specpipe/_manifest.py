"""Edits to specs/manifest.yaml that keep its comments: one raw page's fields at a time."""

from __future__ import annotations

import re
from pathlib import Path

from specpipe._build import load_manifest, sha256_of
from specpipe._errors import SpecPipelineError


def set_fields(text: str, page: str, fields: dict[str, str]) -> str:
    r"""Set ``fields`` (already YAML-formatted values) of raw page ``page`` in the manifest text.

    Existing keys are rewritten in place; missing ones are added after the entry's last line.

    >>> text = "raw:\n  a.md:\n    sha256: old\n  b.md:\n    sha256: x\n"
    >>> print(set_fields(text, "a.md", {"sha256": "new", "retrieved": '"2026-12-01"'}), end="")
    raw:
      a.md:
        sha256: new
        retrieved: "2026-12-01"
      b.md:
        sha256: x
    """
    lines = text.splitlines(keepends=True)
    try:
        start = next(i for i, line in enumerate(lines) if line.rstrip("\n") == f"  {page}:")
    except StopIteration:
        raise SpecPipelineError(f"specs/manifest.yaml has no raw entry {page!r}") from None
    end = start + 1
    while end < len(lines) and (lines[end].startswith("    ") or not lines[end].strip()):
        end += 1
    while end > start + 1 and not lines[end - 1].strip():
        end -= 1  # blank lines after the entry belong to what follows
    todo = dict(fields)
    for i in range(start + 1, end):
        match = re.match(r"^    ([A-Za-z0-9_]+):", lines[i])
        if match and match.group(1) in todo:
            key = match.group(1)
            comment = re.search(r"\s+#.*$", lines[i].rstrip("\n"))
            lines[i] = f"    {key}: {todo.pop(key)}{comment.group(0) if comment else ''}\n"
    lines[end:end] = [f"    {key}: {value}\n" for key, value in todo.items()]
    return "".join(lines)


def record_accepted(specs: Path, pages: list[str], *, today: str, obtained: str) -> None:
    """Record that ``pages`` were accepted today: their sha256, retrieval date and how they were obtained.

    The dates written here are real: the day specpipe accepted (or fetched) the page.
    """
    path = specs / "manifest.yaml"
    text = path.read_text(encoding="utf-8")
    for page in pages:
        text = set_fields(
            text,
            page,
            {"sha256": sha256_of(specs / "raw" / page), "retrieved": f'"{today}"', "obtained": obtained},
        )
    path.write_text(text, encoding="utf-8")
    load_manifest(specs)  # still valid YAML


def record_hashes(specs: Path) -> list[str]:
    """Rewrite the sha256 of every changed raw page (and nothing else); return the names.

    Kept for tests and hand use; ``make spec-update`` uses :func:`record_accepted` after a full build.
    """
    from specpipe._build import changed_pages

    changed = changed_pages(specs)
    path = specs / "manifest.yaml"
    text = path.read_text(encoding="utf-8")
    for page in changed:
        text = set_fields(text, page, {"sha256": sha256_of(specs / "raw" / page)})
    path.write_text(text, encoding="utf-8")
    return changed
