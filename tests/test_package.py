"""The package as users install it: a small core, optional parts behind extras that say their name."""

# ruff: noqa: S603 - every subprocess here runs our own interpreter, venv, wheel or pytest

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OPTIONAL = {"typer", "click", "rich", "starlette", "uvicorn", "aiolimiter", "anyio", "asyncio", "flowdeck_generated"}
CORE_PACKAGES_MAX = 14  # flowdeck itself included


def _imported(code: str, python: str = sys.executable) -> set[str]:
    out = subprocess.run(
        [python, "-c", f"{code}\nimport sys, json; print(json.dumps(sorted(sys.modules)))"],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    return {m.partition(".")[0] for m in json.loads(out.stdout)}


def test_import_flowdeck_loads_nothing_optional_beyond_httpx() -> None:
    # httpx itself imports click and rich when they are installed (its own optional CLI): compare to it.
    extra = _imported("import flowdeck") - _imported("import httpx")
    assert not extra & OPTIONAL, sorted(extra & OPTIONAL)


def test_using_one_provider_loads_only_its_generated_client() -> None:
    code = "import flowdeck; flowdeck.parse_ref('gumloop:x'); flowdeck.Client(env={}).config('gumloop')"
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys; print(' '.join(sys.modules))"],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    generated = {m.split(".")[1] for m in out.stdout.split() if m.startswith("flowdeck_generated.")}
    assert generated == {"gumloop"}


@pytest.mark.slow
def test_wheel_without_extras(tmp_path: Path) -> None:
    """Build the wheel, install it alone into a fresh venv: a small core, and clear words for what is missing."""
    build = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path)]
    subprocess.run([*build, str(ROOT)], check=True, timeout=120)
    [wheel] = tmp_path.glob("flowdeck-*.whl")
    venv = tmp_path / "venv"
    # Without pip in the new venv (ensurepip takes most of a minute here): the running pip installs into it.
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
