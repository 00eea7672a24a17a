"""Accept changed provider pages: report, refuse breaking changes, build, generate, type-check, drive, record.

Order matters: the manifest (hash, retrieval date) is the record that a page was *accepted*, so it
is written last, only after the normalized spec was built, the clients generated, the facade
type-checked against them and driven against its mock under the new spec (``_gate.py``). Until then
nothing under specs/ or generated/ changes except the report. ``ACCEPT_BREAKING=1`` accepts changes
that are breaking in the spec; it never accepts a page under which flowdeck or its mock stops working.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

import attrs
import yaml

from specpipe._build import build_all, changed_pages, dump, load_manifest, providers_of, sha256_of
from specpipe._diff import Change, diff_specs, is_breaking
from specpipe._errors import BreakingChangesRefused, GateRefused, TypeCheckError
from specpipe._gate import check as drive_facade
from specpipe._generate import PACKAGE, generate_tree
from specpipe._impact import Impact, impact
from specpipe._manifest import record_accepted
from specpipe._report import format_markdown, summary


@attrs.frozen
class ProviderReport:
    """One provider's changes and the Markdown written for them."""

    provider: str
    pages: tuple[str, ...]
    changes: tuple[Change, ...]
    markdown: str
    impact: Impact | None = None


def reports_for(
    specs: Path, built: Mapping[str, dict[str, Any]], pages: list[str], *, source: str, when: str
) -> list[ProviderReport]:
    """Compare each affected provider's committed normalized spec with the newly built one."""
    manifest = load_manifest(specs)
    affected: dict[str, list[str]] = {}
    for page in pages:
        for provider in providers_of(specs, page):
            affected.setdefault(provider, []).append(page)
    out = []
    for provider, its_pages in affected.items():
        committed = specs / "normalized" / f"{provider}.yaml"
        old = yaml.safe_load(committed.read_text(encoding="utf-8")) if committed.exists() else {}
        changes = diff_specs(old or {}, built[provider])
        entry = manifest["providers"][provider]
        if "authored" in entry:
            # A prose page, a hand-written spec: no diff sees the change.
            changes = [
                Change(
                    "warning", "", f"specs/raw/{p}", f"prose page changed: review specs/authored/{entry['authored']}"
                )
                for p in its_pages
            ] + changes
        note = (
            f"{source} on {when}: {', '.join(f'`specs/raw/{p}`' for p in its_pages)}. Compared: the committed "
            f"`specs/normalized/{provider}.yaml` with the spec built from the new page(s) and flowdeck's overlays."
        )
        found = impact(specs.parent, provider, old or {}, built[provider])
        markdown = format_markdown(provider, changes, note=note, impact=found)
        out.append(ProviderReport(provider, tuple(its_pages), tuple(changes), markdown, found))
    return out


def write_reports(specs: Path, reports: list[ProviderReport], today: str, out_dir: Path | None = None) -> list[Path]:
    """Write ``<dir>/<date>-<provider>.md`` for each report (default dir: specs/reports)."""
    target = out_dir or specs / "reports"
    target.mkdir(parents=True, exist_ok=True)
    paths = []
    for report in reports:
        path = target / f"{today}-{report.provider}.md"
        path.write_text(f"# Spec change report\n\n{report.markdown}\n", encoding="utf-8")
        paths.append(path)
    return paths


def type_check(root: Path, generated_root: Path) -> None:
    """mypy --strict (the project's config) on the facade, importing clients from ``generated_root``."""
    facade = root / "facade" / "flowdeck"
    if not facade.is_dir():
        raise TypeCheckError(f"{facade} not found: nothing to type-check the new clients against")
    # MYPYPATH goes before mypy_path: the new clients shadow the old.
    env = {**os.environ, "MYPYPATH": str(generated_root)}
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "facade/flowdeck"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise TypeCheckError(
            "the facade does not type-check against the new clients:\n" + (proc.stdout + proc.stderr).strip()
        )


def update(
    root: Path,
    *,
    today: str,
    accept_breaking: bool = False,
    fetched: Mapping[str, bytes] | None = None,
    out: TextIO | None = None,
) -> int:
    """``make spec-update``: accept every raw page whose bytes differ from the manifest.

    ``fetched`` (from spec-watch) holds new page bytes not yet written to specs/raw/; they are
    written only once everything succeeded. Returns the exit code; raises SpecPipelineError.
    """
    out = out or sys.stdout
    specs = root / "specs"
    fetched = dict(fetched or {})
    manifest = load_manifest(specs)
    if fetched:
        pages = [n for n, b in fetched.items() if hashlib.sha256(b).hexdigest() != manifest["raw"][n]["sha256"]]
    else:
        pages = changed_pages(specs)
    if not pages:
        print("no raw page differs from specs/manifest.yaml: nothing to update", file=out)
        return 0
    texts = {n: b.decode("utf-8") for n, b in fetched.items()}
    built = build_all(specs, pages=texts)  # a stale overlay stops here; nothing written
    source = "fetched by `make spec-watch`" if fetched else "changed in specs/raw/"
    reports = reports_for(specs, built, pages, source=source, when=today)
    written = write_reports(specs, reports, today)
    for report in reports:
        print(report.markdown + "\n", file=out)
    print("report(s): " + ", ".join(str(p.relative_to(root)) for p in written), file=out)
    breaking = [r for r in reports if is_breaking(list(r.changes))]
    if breaking and not accept_breaking:
        raise BreakingChangesRefused(
            "; ".join(f"{r.provider}: {summary(list(r.changes))}" for r in breaking)
            + ". Nothing was accepted. Review the report, then rerun with ACCEPT_BREAKING=1"
        )
    # In the project (git-ignored): easy to find after a failed check.
    (root / ".specpipe").mkdir(exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="update-", dir=root / ".specpipe"))
    normalized = scratch / "normalized"
    normalized.mkdir()
    paths = {}
    for provider, doc in built.items():
        paths[provider] = normalized / f"{provider}.yaml"
        paths[provider].write_text(dump(doc), encoding="utf-8")
    generate_tree(specs, paths, scratch / "generated")
    try:
        type_check(root, scratch / "generated")
    except TypeCheckError as exc:
        raise TypeCheckError(
            f"{exc}\nNothing was accepted (manifest, specs/normalized/ and generated/ unchanged); "
            f"the new clients are in {scratch.relative_to(root)}/generated to fix the facade against"
        ) from None
    used_by = {op: users for r in reports if r.impact is not None for op, users in r.impact.used_by().items()}
    try:
        driven = drive_facade(root, {r.provider: paths[r.provider] for r in reports}, scratch / "generated", used_by)
    except GateRefused as exc:
        raise GateRefused(
            f"{exc}\nNothing was accepted (manifest, specs/normalized/ and generated/ unchanged); "
            f"the new spec and clients are in {scratch.relative_to(root)}"
        ) from None
    print(driven, file=out)
    for name, data in fetched.items():
        (specs / "raw" / name).write_bytes(data)
    for provider, path in paths.items():
        shutil.copyfile(path, specs / "normalized" / f"{provider}.yaml")
    target = root / "generated" / PACKAGE
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(scratch / "generated" / PACKAGE, target)
    shutil.rmtree(scratch)
    record_accepted(specs, pages, today=today, obtained="spec-watch" if fetched else "spec-update")
    for page in pages:
        print(
            f"accepted specs/raw/{page} (sha256 {sha256_of(specs / 'raw' / page)[:12]}…, retrieved {today})", file=out
        )
    return 0
