"""``make mutate``: remove each overlay action in turn and find the test that notices.

An overlay action no test depends on is either dead (removing it changes nothing) or unguarded (a
fix that could silently disappear). For every action of every ``specs/overlays/*.yaml`` this builds
the specs without it in a scratch copy of the project, regenerates the affected clients, and runs,
stopping at the first failure:

1. the build itself (an action others depend on: a dangling ``$ref``, an invalid document),
2. the spec guards (``contract_tests/test_spec_guards.py``, then ``tests/test_spec_pipeline.py``):
   fast, and written to kill exactly these mutants,
3. ``mypy`` on the whole project (the facade against the regenerated clients),
4. the whole suite, only if all of that passed. A failure there counts only if the same test passes
   on the unmutated copy (the machine is shared; a flaky test is no guard).

It prints ``action -> killing test`` (or SURVIVED) and exits 1 if any action survived.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

import attrs
import yaml

from specpipe._build import build_all, dump, load_manifest, load_yaml
from specpipe._errors import SpecPipelineError
from specpipe._generate import PACKAGE, generate_one

# Guards first: the table then names the test that says why.
GUARDS = ["contract_tests/test_spec_guards.py", "tests/test_spec_pipeline.py"]
# All but what is installed, cached or built (venvs are shared).
_NOT_COPIED = (
    ".git", ".venv", ".venv-*", "node_modules", "__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache",
    ".hypothesis", ".specpipe", "bench-results", "build", "dist", "*.whl",
)  # fmt: skip
PHASE_TIMEOUT = 1800.0


@attrs.frozen
class Mutant:
    """One overlay action to remove."""

    overlay: str
    index: int
    target: str
    description: str
    providers: tuple[str, ...]

    @property
    def id(self) -> str:
        """``<overlay stem>#<index>``, e.g. ``databar#3``."""
        return f"{self.overlay.removesuffix('.yaml').removesuffix('.overlay')}#{self.index}"


@attrs.frozen
class Result:
    """What killed a mutant (``killer``), or why it survived (``killer`` is None)."""

    mutant: Mutant
    killer: str | None
    phase: str
    seconds: float


def mutants(specs: Path) -> list[Mutant]:
    """Every action of every overlay file, read from specs/overlays/ (never a fixed list)."""
    manifest = load_manifest(specs)
    out = []
    for path in sorted((specs / "overlays").glob("*.yaml")):
        users = tuple(p for p, e in manifest["providers"].items() if path.name in e.get("overlays", []))
        for i, action in enumerate(load_yaml(path).get("actions") or []):
            desc = " ".join(str(action.get("description", "")).split())
            out.append(Mutant(path.name, i, str(action.get("target")), desc, users))
    return out


def _copy_project(root: Path, dest: Path) -> None:
    shutil.copytree(root, dest, ignore=shutil.ignore_patterns(*_NOT_COPIED), dirs_exist_ok=True)
    if (root / "node_modules").exists():
        (dest / "node_modules").symlink_to(root / "node_modules")
    if (root / ".mypy_cache").exists():  # a warm start: mypy re-checks only what changed
        shutil.copytree(root / ".mypy_cache", dest / ".mypy_cache")


def _env(copy: Path) -> dict[str, str]:
    # PYTHONPATH comes before the editable install: the copy is imported.
    paths = [copy / "facade", copy / "generated", copy / "specs", copy]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(map(str, paths)), "PYTHONDONTWRITEBYTECODE": "1"}


def _run(cmd: list[str], copy: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 (our own interpreter's pytest and mypy)
        cmd, cwd=copy, env=_env(copy), capture_output=True, text=True, check=False, timeout=PHASE_TIMEOUT
    )


_FAILED = re.compile(r"^(FAILED|ERROR) (.+?)(?: - .*)?$", re.M)  # "FAILED <test id> - <message>"


def _pytest(copy: Path, targets: list[str], *extra: str) -> str | None:
    """The first failing test id, or None if all passed."""
    cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-rfE", "-p", "no:cacheprovider", *extra, *targets]
    proc = _run(cmd, copy)
    if proc.returncode in (0, 5):
        return None
    match = _FAILED.search(proc.stdout)
    return match.group(2) if match else f"pytest exit {proc.returncode}: {proc.stdout.strip().splitlines()[-1:]}"


def _mypy(copy: Path) -> str | None:
    proc = _run([sys.executable, "-m", "mypy"], copy)
    if proc.returncode == 0:
        return None
    errors = [line for line in proc.stdout.splitlines() if ": error:" in line]
    return "mypy: " + (errors[0] if errors else proc.stdout.strip()[:200])


@contextmanager
def _scratch() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="flowdeck-mutate-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _reset(clean: Path, copy: Path) -> None:
    for name in ("specs", "generated"):
        shutil.rmtree(copy / name)
        shutil.copytree(clean / name, copy / name)


def without_action(text: str, index: int) -> str:
    r"""The overlay text with action ``index`` cut out and every other line as it was.

    Tests edit overlay text (to break it on purpose); a re-dumped YAML would change its layout.

    >>> text = "actions:\n  - target: $.a\n    remove: true\n  # b\n  - target: $.b\n    remove: true\n"
    >>> print(without_action(text, 0), end="")
    actions:
      # b
      - target: $.b
        remove: true
    """
    lines = text.splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.rstrip() == "actions:")
    items = [i for i in range(start + 1, len(lines)) if lines[i].startswith("  - ")]
    first = items[index]
    last = items[index + 1] if index + 1 < len(items) else len(lines)
    while last > first + 1 and lines[last - 1].lstrip().startswith("#"):
        last -= 1  # a comment just before the next action introduces that action
    cut = "".join(lines[:first] + lines[last:])
    before, after = yaml.safe_load(text)["actions"], yaml.safe_load(cut)["actions"]
    if after != before[:index] + before[index + 1 :]:
        raise SpecPipelineError(f"cannot cut action #{index} out of the overlay text cleanly")
    return cut


def _without(copy: Path, mutant: Mutant) -> None:
    path = copy / "specs" / "overlays" / mutant.overlay
    path.write_text(without_action(path.read_text(encoding="utf-8"), mutant.index), encoding="utf-8")


def _regenerate(copy: Path, provider: str) -> None:
    specs = copy / "specs"
    target = copy / "generated" / PACKAGE / provider
    with tempfile.TemporaryDirectory(prefix="flowdeck-mutate-gen-") as tmp:
        out = Path(tmp) / provider
        generate_one(specs / "normalized" / f"{provider}.yaml", specs / "generator" / f"{provider}.yaml", out)
        shutil.rmtree(target)
        shutil.copytree(out, target, ignore=shutil.ignore_patterns("__pycache__", ".ruff_cache"))


def _first_line(exc: Exception) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    # openapi-python-client says what it dropped after its "Warning(s) encountered" banner
    banner = next((i for i, line in enumerate(lines) if line.startswith("Warning(s) encountered")), None)
    if banner is not None:
        lines = [lines[0].rstrip(":") + ":", *lines[banner + 1 : banner + 3]]
    text = " ".join(lines[:3]) if lines and lines[0].endswith(":") else (lines[0] if lines else type(exc).__name__)
    return text if len(text) <= 150 else text[:149] + "…"


def run_mutant(mutant: Mutant, clean: Path, copy: Path) -> Result:
    """Remove one action, rebuild, regenerate, and run the phases until one fails."""
    started = time.monotonic()

    def done(killer: str | None, phase: str) -> Result:
        return Result(mutant, killer, phase, time.monotonic() - started)

    _reset(clean, copy)
    _without(copy, mutant)
    try:
        built = build_all(copy / "specs")
    except SpecPipelineError as exc:
        return done(f"build: {_first_line(exc)}", "build")
    changed = [
        p
        for p in mutant.providers
        if dump(built[p]) != (clean / "specs" / "normalized" / f"{p}.yaml").read_text(encoding="utf-8")
    ]
    if not changed:
        return done(None, "dead: removing it changes no normalized spec")
    for provider in changed:
        (copy / "specs" / "normalized" / f"{provider}.yaml").write_text(dump(built[provider]), encoding="utf-8")
        try:
            _regenerate(copy, provider)
        except SpecPipelineError as exc:
            return done(f"generate: {_first_line(exc)}", "generate")
    killer = _pytest(copy, GUARDS, "-m", "not slow")
    if killer:
        return done(killer, "guards")
    killer = _mypy(copy)
    if killer:
        return done(killer, "mypy")
    # As `make test` runs it, less the CPU-starvation soak.
    killer = _pytest(copy, [], "-n", "2", "-m", "not contention and not soak")
    if killer:
        _reset(clean, copy)
        if _pytest(copy, [killer]) is None:
            return done(killer, "suite")
        return done(None, f"only {killer} failed, and it fails without the mutation too")
    return done(None, "no test failed")


def table(results: list[Result]) -> str:
    """The Markdown table ``make mutate`` prints."""
    lines = ["| action | target | killed by | phase | s |", "|---|---|---|---|---|"]
    for r in results:
        killer = f"`{r.killer}`" if r.killer else f"**SURVIVED** ({r.phase})"
        target = r.mutant.target.replace("|", "\\|")
        lines.append(f"| {r.mutant.id} | `{target}` | {killer} | {r.phase if r.killer else ''} | {r.seconds:.0f} |")
    return "\n".join(lines)


def mutate(root: Path, *, only: list[str] | None = None, out: TextIO | None = None) -> int:
    """Run every mutant (or those in ``only``); returns 1 if any survived, 2 if the suite fails as is."""
    out = out or sys.stdout
    todo = [m for m in mutants(root / "specs") if not only or m.id in only]
    if not todo:
        print(f"no overlay action matches {only}", file=out)
        return 2
    with _scratch() as scratch:
        clean, copy = scratch / "clean", scratch / "project"
        clean.mkdir()
        copy.mkdir()
        for name in ("specs", "generated"):
            shutil.copytree(root / name, clean / name, ignore=shutil.ignore_patterns("__pycache__"))
        _copy_project(root, copy)
        print(f"{len(todo)} overlay action(s); checking the unmutated project first", file=out, flush=True)
        broken = _pytest(copy, GUARDS, "-m", "not slow") or _mypy(copy)
        if broken:
            print(f"error: the project fails without any mutation ({broken}); fix that first", file=out)
            return 2
        results = []
        for mutant in todo:
            result = run_mutant(mutant, clean, copy)
            verdict = result.killer or f"SURVIVED ({result.phase})"
            print(f"  {mutant.id:<12} {verdict}  [{result.seconds:.0f} s]", file=out, flush=True)
            results.append(result)
    print("\n" + table(results), file=out)
    survivors = [r for r in results if r.killer is None]
    print(f"\n{len(results) - len(survivors)} of {len(results)} action(s) killed, {len(survivors)} survived", file=out)
    return 1 if survivors else 0
