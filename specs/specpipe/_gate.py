"""The gate's run-time half: drive the unchanged facade and mocks against a provider's new spec.

The type check proves the facade still compiles against the new clients; this proves it still works:
``_drive.py`` runs in a child process whose ``sys.path`` puts the new generated clients before the
committed ones, drives the provider's public operations against its mock, and checks every request
flowdeck sent and every answer the mock gave against the new normalized spec. Any problem refuses
the update, whatever ``ACCEPT_BREAKING`` says: a page under which flowdeck or its mock stops working
must come with the adapter, the mock and the provider notes changed to match it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import attrs

from specpipe._errors import GateRefused

DRIVE_TIMEOUT = 100.0  # frozen clocks: this only stops a hang
MAX_LINES = 8


@attrs.frozen
class Finding:
    """One way flowdeck, its mock and the new spec disagree (printed by ``_drive.py`` as JSON)."""

    kind: str  # "facade" (a public operation failed), "request" (flowdeck's), "response" (the mock's)
    scenario: str  # the public operation being driven
    operation: str = ""
    path: str = ""
    field: str = ""
    message: str = ""
    code: str = ""  # where the facade failed, for a "facade" finding


def prism_binary(root: Path) -> Path | None:
    """Prism (``make install`` puts it in node_modules/), in the project or beside this pipeline; None without node."""
    if shutil.which("node") is None:
        return None
    for project in (root, Path(__file__).resolve().parents[2]):
        if (binary := project / "node_modules" / ".bin" / "prism").is_file():
            return binary
    return None


def drive(root: Path, provider: str, spec: Path, generated_root: Path, prism: Path | None = None) -> list[Finding]:
    """Run ``_drive.py`` for ``provider`` with the clients under ``generated_root``; its findings."""
    # PYTHONPATH goes before the editable installs: the new clients win;
    # the caller's own PYTHONPATH is left out.
    path = os.pathsep.join(str(p) for p in (generated_root, root / "facade", root / "specs"))
    env = {**os.environ, "PYTHONPATH": path, "PYTHONDONTWRITEBYTECODE": "1"}
    cmd = [sys.executable, "-m", "specpipe._drive", provider, str(spec), *([str(prism)] if prism else [])]
    try:
        proc = subprocess.run(  # noqa: S603 (our own interpreter and module)
            cmd, cwd=root, env=env, capture_output=True, text=True, timeout=DRIVE_TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired:
        return [Finding("facade", "", message=f"driving the facade did not end within {DRIVE_TIMEOUT:.0f} s")]
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
        return [Finding("facade", "", message=f"the facade could not be driven against the new clients: {last}")]
    return [Finding(**json.loads(line)) for line in proc.stdout.splitlines() if line.strip()]


def _lines_naming(path: Path, field: str, *, attribute: bool) -> list[int]:
    """Lines of ``path`` that read ``field`` (``.field`` or ``"field"``)."""
    if not field or not path.is_file():
        return []
    quoted = rf"[\"']{re.escape(field)}[\"']"
    pattern = re.compile(rf"\.{re.escape(field)}\b|{quoted}" if attribute else quoted)
    return [n for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if pattern.search(line)]


def _where(root: Path, rel: str, field: str, *, attribute: bool) -> str:
    lines = _lines_naming(root / rel, field, attribute=attribute)
    return f"{rel}:{','.join(map(str, lines[:4]))}" if lines else ""


def explain(root: Path, provider: str, findings: list[Finding], used_by: Mapping[str, list[str]]) -> str:
    """A few lines: each problem with its operation, field and the code that reads it; then what to change."""
    adapter = f"facade/flowdeck/_providers/{provider}.py"
    mock = f"facade/flowdeck/testing/_{provider}.py"
    lines = [f"{provider}: flowdeck or its mock breaks under the new spec:"]
    seen: set[tuple[str, str, str, str]] = set()
    for f in findings:
        key = (f.kind, f.path or f.scenario, f.field, f.message if f.kind == "facade" else "")
        if key in seen:
            continue
        seen.add(key)
        what = f"{f.operation} ({f.path})" if f.operation else f.path or f.scenario
        users = ", ".join(used_by.get(f.operation, [])) or f.scenario
        if f.kind == "facade":
            at = f" at {f.code}" if f.code else ""
            lines.append(f"  {f.scenario} fails{at}: {f.message}")
            continue
        leaf = next((p for p in reversed(f.field.split(".")) if p and not p.isdigit()), "")
        places = (_where(root, adapter, leaf, attribute=True), _where(root, mock, leaf, attribute=False))
        readers = [w for w in places if w]
        field = f" `{f.field}`" if f.field else ""
        side = "flowdeck's request" if f.kind == "request" else "the mock's answer"
        read = f"; read/written at {' and '.join(readers)}" if readers else ""
        lines.append(f"  {what}{field}, used by {users}: {side} breaks the new spec ({f.message}){read}")
    shown = lines[: MAX_LINES + 1]
    if len(lines) > len(shown):
        shown.append(f"  … and {len(lines) - len(shown)} more")
    shown.append(
        f"  Change together: the adapter ({adapter}), the mock ({mock}) and docs/providers/{provider}.md, "
        "then rerun `make spec-update` (ACCEPT_BREAKING=1 does not accept this)."
    )
    return "\n".join(shown)


def check(root: Path, specs: Mapping[str, Path], generated_root: Path, used_by: Mapping[str, list[str]]) -> str:
    """Drive each provider in ``specs``; raise :class:`GateRefused` naming every problem.

    Returns what was driven, for the update's output (Prism is left out, and said so, without node).
    """
    prism = prism_binary(root)
    problems = []
    for provider, spec in specs.items():
        findings = drive(root, provider, spec, generated_root, prism)
        if findings:
            problems.append(explain(root, provider, findings, used_by))
    if problems:
        raise GateRefused("\n".join(problems))
    where = "its mock and Prism on the new spec" if prism else "its mock (no Prism: `make install` and Node.js)"
    return f"drove flowdeck against {where}: {', '.join(specs)} passed"
