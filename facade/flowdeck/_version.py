"""flowdeck's version: one place, read by the package, its User-Agent and the build (pyproject.toml)."""

__version__ = "0.1.0"
