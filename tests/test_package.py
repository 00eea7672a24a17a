"""The package as users install it: a small core, optional parts behind extras that say their name."""

# ruff: noqa: S603 - every subprocess here runs our own interpreter, venv, wheel or pytest

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OPTIONAL = {"typer", "click", "rich", "starlette", "uvicorn", "aiolimiter", "anyio", "asyncio", "flowdeck_generated"}
CORE_PACKAGES_MAX = 13  # flowdeck itself included


def _modules(code: str, python: str = sys.executable) -> set[str]:
    out = subprocess.run(
        [python, "-c", f"{code}\nimport sys, json; print(json.dumps(sorted(sys.modules)))"],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    return set(json.loads(out.stdout))


def _imported(code: str, python: str = sys.executable) -> set[str]:
    return {m.partition(".")[0] for m in _modules(code, python)}


def test_import_loads_nothing_optional() -> None:
    """import flowdeck loads no optional dependency beyond what httpx loads."""
    # httpx itself imports click and rich when they are installed (its own optional CLI): compare to it.
    extra = _imported("import flowdeck") - _imported("import httpx")
    assert not extra & OPTIONAL, sorted(extra & OPTIONAL)


# What `import flowdeck` and making both clients must not load: each module here is either optional
# (CLI, mocks, aiohttp) or needed only once a provider is used (its declaration, configuration and
# generated client), or by few paths (a heap: waiting for many runs at once; the extras' names: a
# missing extra's message), and each attrs class costs most of a millisecond to build at import.
PROVIDER_TIME = {
    "flowdeck._providers._base", "flowdeck._config", "flowdeck._details", "flowdeck._namespaces",
    *(f"flowdeck._providers.{name}" for name in ("databar", "stackai", "gumloop", "superai")),
}  # fmt: skip
NEVER_AT_IMPORT = {
    "flowdeck._cli", "flowdeck._cli.output", "flowdeck._batch", "flowdeck._doctor", "flowdeck._preflight",
    "flowdeck._aiohttp", "flowdeck._pytest_plugin", "flowdeck.testing", "flowdeck._extras", "flowdeck._adaptive",
    "aiohttp", *PROVIDER_TIME,
}  # fmt: skip
# All that `import flowdeck` may load beyond what `import httpx` does: flowdeck's own modules, attrs (its
# public values are attrs classes) and contextvars (the transport's per-call policy). Anything else
# (heapq, statistics, dateutil, a new flowdeck module...) is import time every user pays: it fails here.
AT_IMPORT_BEYOND_HTTPX = {
    "flowdeck", "flowdeck._startup", "flowdeck._client", "flowdeck._core", "flowdeck._errors",
    "flowdeck._lifecycle", "flowdeck._models", "flowdeck._providers", "flowdeck._secrets",
    "flowdeck._transport", "flowdeck._version", "contextvars", "_contextvars",
}  # fmt: skip
# The public values (and the transport's policy) are attrs classes; the internals built on every request
# or wait (Call, Sleep, Waiter, Scheduler) are plain ones.
# (Public classes are named as users import them: flowdeck.Run, not flowdeck._models.Run.)
ATTRS_CLASSES_AT_IMPORT = {
    "flowdeck.WorkflowRef", "flowdeck.Run", "flowdeck.Secret", "flowdeck.PollPolicy",
    "flowdeck._transport.CallPolicy",
}  # fmt: skip


def test_clients_load_no_provider_code() -> None:
    """import flowdeck and building clients load no provider machinery."""
    code = """
import flowdeck, sys, json
flowdeck.AsyncClient(env={})
flowdeck.Client(env={}).close()
import attrs
ours = [mod for name, mod in list(sys.modules.items()) if name.startswith("flowdeck")]
built = sorted({f"{v.__module__}.{v.__qualname__}" for mod in ours for v in vars(mod).values()
                if isinstance(v, type) and attrs.has(v) and v.__module__.startswith("flowdeck")})
print(json.dumps([sorted(sys.modules), built]))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    modules, built = json.loads(out.stdout)
    assert not NEVER_AT_IMPORT & set(modules), sorted(NEVER_AT_IMPORT & set(modules))
    assert set(built) <= ATTRS_CLASSES_AT_IMPORT, sorted(set(built) - ATTRS_CLASSES_AT_IMPORT)


def test_import_adds_only_ours_and_attrs() -> None:
    """import flowdeck loads nothing beyond httpx's modules but flowdeck's and attrs."""
    extra = _modules("import flowdeck") - _modules("import httpx")
    unexpected = {m for m in extra - AT_IMPORT_BEYOND_HTTPX if m.partition(".")[0] not in ("attr", "attrs")}
    assert not unexpected, sorted(unexpected)


def test_lazy_names_still_public() -> None:
    """Names loaded lazily stay in the package's public surface."""
    # The values only a provider's answers carry load with their module; they stay in the package's surface.
    code = """
import flowdeck, sys, json
names = set(dir(flowdeck))
print(json.dumps([sorted(set(flowdeck.__all__) - names), "flowdeck._details" in sys.modules,
                  flowdeck.Flow.__module__, "flowdeck._details" in sys.modules]))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert json.loads(out.stdout) == [[], False, "flowdeck", True]


def test_one_provider_one_client() -> None:
    """Using one provider loads only its generated client."""
    code = "import flowdeck; flowdeck.parse_ref('gumloop:x'); flowdeck.Client(env={}).config('gumloop')"
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys; print(' '.join(sys.modules))"],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    generated = {m.split(".")[1] for m in out.stdout.split() if m.startswith("flowdeck_generated.")}
    assert generated == {"gumloop"}


def _assert_wheel_holds_only_the_library(wheel: Path) -> None:
    """The import names users get, and the one command: no development tool rides along."""
    with zipfile.ZipFile(wheel) as whl:
        names = whl.namelist()
        [entry_points] = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
        entries = whl.read(entry_points).decode()
    top = {n.split("/", 1)[0] for n in names if not n.split("/", 1)[0].endswith(".dist-info")}
    # flowdeck_generated: the generated clients keep their own import name (ARCHITECTURE.md "The package").
    assert top == {"flowdeck", "flowdeck_generated"}, sorted(top)
    assert "flowdeck/py.typed" in names
    sections = {
        head: sorted(line.split(" = ")[0] for line in body.strip().splitlines())
        for head, _, body in (part.partition("]\n") for part in entries.split("[")[1:])
    }
    assert sections == {"console_scripts": ["flowdeck"], "pytest11": ["flowdeck"]}, entries


@pytest.mark.slow
def test_wheel_without_extras(tmp_path: Path) -> None:
    """The wheel installed alone is a small core, with clear words for what is missing."""
    build = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path)]
    subprocess.run([*build, str(ROOT)], check=True, timeout=120)
    [wheel] = tmp_path.glob("flowdeck-*.whl")
    _assert_wheel_holds_only_the_library(wheel)
    venv = tmp_path / "venv"
    # Without pip in the new venv (ensurepip is slow): the running pip installs into it.
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    bin_ = venv / "bin"
    python = str(bin_ / "python")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--python", python]
    # --no-compile: byte-compiling every installed module (pytest's pygments most of all) is seconds of CPU
    # this throwaway venv never gets back.
    install = [*pip, "install", "--no-compile", "-q"]
    subprocess.run([*install, str(wheel)], check=True, timeout=300, env=env, stderr=subprocess.DEVNULL)

    listed = json.loads(subprocess.check_output([*pip, "list", "--format=json"], env=env, timeout=60))
    installed = {p["name"].lower() for p in listed}
    assert "flowdeck" in installed and len(installed) <= CORE_PACKAGES_MAX, sorted(installed)
    assert not installed & {"typer", "rich", "starlette", "uvicorn", "aiolimiter", "click"}

    loaded = _imported("import flowdeck; flowdeck.Client(env={}).close()", python)
    # anyio is httpx's own (its transport imports it); everything else optional must stay out.
    assert "flowdeck" in loaded and not loaded & (OPTIONAL - {"anyio"}), sorted(loaded & OPTIONAL)

    script = subprocess.run([str(bin_ / "flowdeck"), "doctor"], capture_output=True, text=True, env=env, timeout=60)
    assert script.returncode == 2, script
    assert script.stdout == "" and script.stderr.count("\n") == 1, script.stderr
    assert "pip install 'flowdeck[cli]'" in script.stderr and "Traceback" not in script.stderr

    testing = subprocess.run([python, "-c", "import flowdeck.testing"], capture_output=True, text=True, env=env)
    assert testing.returncode == 1
    assert "ModuleNotFoundError: flowdeck.testing needs the [testing] extra" in testing.stderr
    assert "pip install 'flowdeck[testing]'" in testing.stderr

    # pytest loads flowdeck's plugin in every run: without [testing] it must still work, and the
    # fixtures must say what to install.
    subprocess.run([*install, "pytest"], check=True, timeout=300, env=env, stderr=subprocess.DEVNULL)
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "test_user.py").write_text(
        textwrap.dedent("""
            def test_plain():
                assert True

            def test_with_mocks(flowdeck_mocks):
                pass
        """)
    )
    run = subprocess.run(
        [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path / "t")],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert "1 passed, 1 error" in run.stdout, run.stdout
    assert "flowdeck.testing needs the [testing] extra" in run.stdout
