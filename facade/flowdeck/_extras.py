"""The optional parts of flowdeck and the extras that install them.

``pip install flowdeck`` is the library alone (httpx, attrs, python-dateutil, sniffio). The command
line needs ``flowdeck[cli]``; the mock providers and pytest fixtures need ``flowdeck[testing]``.
"""

from __future__ import annotations

EXTRA_OF = {
    "typer": "cli",
    "click": "cli",
    "rich": "cli",
    "aiolimiter": "cli",
    "starlette": "testing",
    "uvicorn": "testing",
    "aiohttp": "aiohttp",
    "multidict": "aiohttp",
    "yarl": "aiohttp",
}
"""Top-level module -> the extra that installs it."""


def extra_for(exc: ModuleNotFoundError) -> str | None:
    """The extra that would have installed the module ``exc`` is about, or None if it is none of ours.

    >>> extra_for(ModuleNotFoundError("No module named 'uvicorn'", name="uvicorn"))
    'testing'
    """
    return EXTRA_OF.get((exc.name or "").partition(".")[0])


def install_hint(what: str, extra: str, module: str | None) -> str:
    """One line saying what to install.

    >>> install_hint("flowdeck.testing", "testing", "starlette")
    "flowdeck.testing needs the [testing] extra (module 'starlette' is missing): pip install 'flowdeck[testing]'"
    """
    return f"{what} needs the [{extra}] extra (module {module!r} is missing): pip install 'flowdeck[{extra}]'"
