"""The README is a front page whose every claim holds: its examples run, its install table is pyproject's."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from flowdeck.testing import MockProviders
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"```python\n(.*?)```", README, re.S)
FOR_THIS_REPOSITORY = {"dev", "sdks"}  # `make install` and `make sdks`; not for users


def test_readme_is_a_front_page() -> None:
    """At most 250 lines: the rest lives on the documentation site."""
    assert len(README.splitlines()) <= 250


def test_readme_opens_with_the_two_commands() -> None:
    """Its first block is make demo and make test, verbs of the Makefile, make test being CI's."""
    first_block = re.search(r"```bash\n(.*?)```", README, re.S)
    assert first_block is not None
    commands = [line.split("#")[0].strip() for line in first_block.group(1).splitlines() if line.strip()]
    assert commands == ["make demo", "make test"]
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^demo:", makefile, re.M) and re.search(r"^test:", makefile, re.M)
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def _names(requirements: list[str], extras: dict[str, list[str]]) -> set[str]:
    names: set[str] = set()
    for text in requirements:
        req = Requirement(text)
        if req.name == "flowdeck":  # an extra of our own: what it brings
            names |= {n for extra in req.extras for n in _names(extras[extra], extras)}
        else:
            names.add(req.name)
    return names


@pytest.mark.parametrize("path", ["README.md", "docs/getting-started.md"])
def test_install_table_is_pyprojects(path: str) -> None:
    """Each row names an extra and exactly the packages pyproject.toml has it bring; every extra has one."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras: dict[str, list[str]] = project["optional-dependencies"]
    text = (ROOT / path).read_text(encoding="utf-8")
    table = text[text.index("## Install") :].split("\n\n")[1]
    rows: dict[str, set[str]] = {}
    for line in table.splitlines()[2:]:
        _, install, brings = (cell.strip() for cell in line.strip("|").split("|"))
        extra = re.fullmatch(r"`pip install (?:flowdeck|'flowdeck\[(\w+)\]')`", install)
        assert extra, line
        rows[extra.group(1) or ""] = {name.strip() for name in brings.removeprefix("+ ").split(",")}
    expected = {"": _names(project["dependencies"], extras)}
    expected |= {name: _names(reqs, extras) for name, reqs in extras.items() if name not in FOR_THIS_REPOSITORY}
    assert rows == expected


def _section(title: str, text: str = README) -> str:
    return text.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


@pytest.mark.parametrize(("path", "title"), [("README.md", "Quick start"), ("docs/getting-started.md", "Credentials")])
def test_variables_are_the_registrys(path: str, title: str) -> None:
    """Every provider variable named is one the providers read, and none is left out."""
    from flowdeck import _providers

    settings = {s.variable for p in _providers.providers() for s in p.config.settings}
    text = _section(title, (ROOT / path).read_text(encoding="utf-8"))
    named = set(re.findall(r"`((?:DATABAR|STACKAI|GUMLOOP|SUPERAI)_[A-Z_]+)`", text))
    assert named == settings


def test_run_and_namespaces_are_as_said() -> None:
    """The fields, statuses and namespaces the Quick start lists are the Run's, Status's and Client's."""
    import attrs
    import flowdeck
    from flowdeck import _providers

    text = _section("Quick start").split("A `Run` is an immutable value:", 1)[1]
    said = set(re.findall(r"`(\w+)`", text))
    fields = {f.name for f in attrs.fields(flowdeck.Run)}
    statuses = set(flowdeck.Status.__members__)
    namespaces = set(re.findall(r"`client\.(\w+)`", text))
    assert statuses <= said and said - statuses - {"Run"} - namespaces <= fields
    assert namespaces == set(_providers.names())
    with flowdeck.Client(env={}) as client:
        assert all(getattr(client, name) is not None for name in namespaces)


def test_errors_table_is_the_hierarchy() -> None:
    """Each error named is public and a FlowdeckError; those in brackets subclass the row's first."""
    import flowdeck

    for line in _section("Errors").splitlines():
        if not line.startswith("| `"):
            continue
        names = re.findall(r"`(\w+)`", line.split("|")[1])
        classes = [getattr(flowdeck, name) for name in names]
        assert all(issubclass(c, flowdeck.FlowdeckError) for c in classes), line
        if "(" in line.split("|")[1]:
            assert all(issubclass(c, classes[0]) for c in classes[1:]), line


def test_commands_are_the_clis() -> None:
    """The command line section names every command flowdeck has, in its order."""
    import typer.main
    from flowdeck._cli import app

    text = _section("The command line").split("```\n", 2)[-1]
    named = re.findall(r"`(\w+)`", text.split(". Errors", 1)[0])
    assert [n for n in named if n != "kill"] == list(typer.main.get_group(app).commands)


def test_readme_links_resolve() -> None:
    """Every relative link points at a file of this repository."""
    links = [t for t in re.findall(r"\]\(([^)#]+)\)", README) if "://" not in t]
    assert links and not [t for t in links if not (ROOT / t).exists()]


@pytest.mark.parametrize("block", [b for b in BLOCKS if "flowdeck.Client" in b or "AsyncClient" in b])
def test_readme_example_runs(block: str, served_mocks: MockProviders, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each client example runs as written, against the mock providers."""
    for key, value in served_mocks.env.items():
        monkeypatch.setenv(key, value)
    exec(compile(block, "README.md", "exec"), {"__name__": "readme"})  # noqa: S102 - our own docs
