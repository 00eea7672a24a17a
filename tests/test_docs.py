"""The documentation site builds strict, and every code block on its pages runs as written."""

# ruff: noqa: S603 - the venv's own mkdocs, pytest and bash, on this repository's pages

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main
from flowdeck._cli import app
from flowdeck.testing import MockProviders

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted((ROOT / "docs").rglob("*.md"))
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
RUNS = {"python", "bash"}  # what runs; text is output shown as it is printed


def _blocks(kind: str) -> list[tuple[str, str]]:
    return [
        (str(page.relative_to(ROOT)), body)
        for page in PAGES
        for lang, body in FENCE.findall(page.read_text(encoding="utf-8"))
        if lang == kind
    ]


def _ids(blocks: list[tuple[str, str]]) -> list[str]:
    return [f"{page}:{i}" for i, (page, _) in enumerate(blocks)]


CLIENT = [(p, b) for p, b in _blocks("python") if "def test_" not in b and "@pytest.fixture" not in b]
PYTEST = [(p, b) for p, b in _blocks("python") if (p, b) not in CLIENT]
PYTEST += [
    ("README.md", body)
    for lang, body in FENCE.findall((ROOT / "README.md").read_text(encoding="utf-8"))
    if lang == "python" and "def test_" in body
]


def test_every_fence_names_its_language() -> None:
    """A block says whether it runs (python, bash) or is output (text)."""
    langs = {(str(p.relative_to(ROOT)), lang) for p in PAGES for lang, _ in FENCE.findall(p.read_text())}
    assert {lang for _, lang in langs} <= RUNS | {"text", "toml"}, sorted(langs)  # toml: a mock.toml, checked


@pytest.mark.slow
def test_site_builds_strict(tmp_path: Path) -> None:
    """make docs' build: a broken link, reference or generated part fails it."""
    mkdocs = Path(sys.executable).parent / "mkdocs"
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    done = subprocess.run(
        [str(mkdocs), "build", "--strict", "-q", "-d", str(tmp_path / "site")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    cli = (tmp_path / "site" / "cli" / "index.html").read_text(encoding="utf-8")
    assert "<!-- cli-reference -->" not in cli
    group = typer.main.get_group(app)
    for name, command in group.commands.items():
        assert f"flowdeck {name}</code>" in cli, name
        assert all(f"<code>{opt}</code>" in cli for p in command.params for opt in p.opts if opt.startswith("-"))
    perf = (tmp_path / "site" / "performance" / "index.html").read_text(encoding="utf-8")
    assert "runs_10k_vs_ideal" in perf and (tmp_path / "site" / "throughput.svg").exists()


@pytest.mark.parametrize(("page", "block"), CLIENT, ids=_ids(CLIENT))
def test_example_runs(page: str, block: str, served_mocks: MockProviders, monkeypatch: pytest.MonkeyPatch) -> None:
    """A page's client example runs as written, against the mock providers."""
    for key, value in served_mocks.env.items():
        monkeypatch.setenv(key, value)
    exec(compile(block, page, "exec"), {"__name__": "docs"})  # noqa: S102 - our own docs


@pytest.mark.slow
def test_pytest_examples_pass(tmp_path: Path) -> None:
    """The testing kit's pytest examples pass in a project of their own, with flowdeck's plugin."""
    assert PYTEST, "the testing kit page lost its pytest examples"
    # A user's project as pytest-asyncio (installed beside it here) asks it to be configured.
    (tmp_path / "pytest.ini").write_text("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    for i, (_, block) in enumerate(PYTEST):
        (tmp_path / f"test_example_{i}.py").write_text(block, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "error", str(tmp_path)],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:]


def test_shell_blocks_are_the_readmes() -> None:
    """A page's shell block is the README's, which tests/test_cli_mock.py runs in bash as written."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    # The testing kit's run in tests/test_testing_docs.py.
    assert all(f"```bash\n{b}```" in readme for p, b in _blocks("bash") if p != "docs/testing.md")


def test_index_links_every_page() -> None:
    """The home page links each page of the site's nav (a provider's page through the providers' one)."""
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8").partition("\nnav:\n")[2]
    pages = set(re.findall(r"^ +- (?:[^\n]*: )?(\S+\.md)$", nav, re.M))
    index = (ROOT / "docs" / "index.md").read_text(encoding="utf-8")
    linked = set(re.findall(r"\]\(([^)#]+\.md)", index))
    wanted = {p for p in pages if p != "index.md" and (not p.startswith("providers/") or p.endswith("README.md"))}
    assert len(wanted) > 10 and wanted <= linked, sorted(wanted - linked)


def test_namespace_lists_are_the_classes() -> None:
    """Getting started lists every public operation of each ``client.<provider>``, and no other."""
    from flowdeck import _providers
    from flowdeck._namespaces import Namespace

    text = (ROOT / "docs" / "getting-started.md").read_text(encoding="utf-8")
    said = {name: set(re.findall(r"`(\w+)`", ops)) for name, ops in re.findall(r"`client\.(\w+)` \(([^)]*)\)", text)}
    base = {m for m in dir(Namespace) if not m.startswith("_")} | {"provider"}  # the class's provider name
    assert said.keys() == set(_providers.names())
    for name, listed in said.items():
        namespaces = _providers.get(name).namespaces or ()
        sync, async_ = ({m for m in dir(cls) if not m.startswith("_")} - base for cls in namespaces)
        assert listed == sync == async_, (name, listed, sync, async_)
