"""``make spec-watch``: fetch every provider page, compare it with the vendored copy, report.

Exit codes (what a nightly CI job acts on): 0 unchanged, 3 changed but nothing breaking, 1 a
breaking change (or a new page our overlays do not apply to), 2 could not check (a page could not
be fetched). Only the provider pages listed in specs/manifest.yaml are fetched, and only by this
command; the build itself never touches the network.
"""

from __future__ import annotations

import html.parser
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit

import httpx

from specpipe._build import build_all, load_manifest
from specpipe._diff import Change, diff_specs, is_breaking
from specpipe._errors import ExtractError, FetchError, InputError, SpecPipelineError
from specpipe._extract import extract_openapi
from specpipe._report import format_markdown
from specpipe._update import ProviderReport, reports_for, update, write_reports

UNCHANGED, BREAKING, CHECK_FAILED, CHANGED = 0, 1, 2, 3
TIMEOUT = 30.0


def source_urls(
    specs: Path, *, mirror: str | None = None, overrides: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Where each raw page is fetched from: its ``source_url``, or a mirror of it (tests, proxies).

    A mirror serves ``<mirror>/<host><path>`` for ``https://<host><path>``.

    >>> import pathlib, specpipe
    >>> urls = source_urls(pathlib.Path(specpipe.__file__).parents[1], mirror="http://127.0.0.1:8000")
    >>> urls["gumloop-start-pipeline.md"]
    'http://127.0.0.1:8000/docs.gumloop.com/api-reference/running-an-automation/start-automation.md'
    """
    urls = {}
    for name, entry in load_manifest(specs)["raw"].items():
        url = str(entry["source_url"])
        if mirror:
            parts = urlsplit(url)
            url = f"{mirror.rstrip('/')}/{parts.netloc}{parts.path}"
        urls[name] = (overrides or {}).get(name, url)
    return urls


def parse_sources(specs: Path, items: list[str]) -> dict[str, str]:
    """``--source NAME=URL`` items as ``{NAME: URL}``; a NAME the manifest does not list is refused.

    Checked before anything is fetched: a misspelt name must not quietly fetch the real page instead.

    >>> import pathlib, specpipe
    >>> specs = pathlib.Path(specpipe.__file__).parents[1]
    >>> parse_sources(specs, ["databar-run-flow.md=http://127.0.0.1:8000/p"])
    {'databar-run-flow.md': 'http://127.0.0.1:8000/p'}
    """
    known = list(load_manifest(specs)["raw"])
    out = {}
    for item in items:
        name, sep, url = item.partition("=")
        if not sep or not name or not url:
            raise InputError(f"--source {item!r}: expected NAME=URL (NAME one of: {', '.join(known)})")
        if name not in known:
            raise InputError(f"--source {name}: no such page in specs/manifest.yaml (known: {', '.join(known)})")
        out[name] = url
    return out


HINT = "no network here? fetch from a mirror (--mirror URL) or give a page's URL (--source NAME=URL)"


def fetch_all(urls: Mapping[str, str]) -> dict[str, bytes]:
    """Every page's bytes. Every page is tried; if any failed, one :class:`FetchError` holds one line per
    failed page, then the hint."""
    pages, failed = {}, []
    with httpx.Client(timeout=TIMEOUT, follow_redirects=True, headers={"User-Agent": "flowdeck-specpipe"}) as client:
        for name, url in urls.items():
            try:
                response = client.get(url)
            except httpx.HTTPError as exc:
                reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                failed.append(f"specs/raw/{name}: cannot fetch {url}: {reason}")
                continue
            if response.status_code != 200:
                failed.append(f"specs/raw/{name}: GET {url} answered HTTP {response.status_code}")
                continue
            pages[name] = response.content
    if failed:
        raise FetchError("\n".join(failed))
    return pages


class _Text(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.words: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        self._skip += tag in ("script", "style")

    def handle_endtag(self, tag: str) -> None:
        self._skip -= tag in ("script", "style") and self._skip > 0

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.words += data.split()


def words(text: str) -> list[str]:
    """The visible words of a page (HTML tags, scripts and styles dropped; whitespace ignored).

    >>> words("<p>Create <b>and</b> start</p><script>x()</script>")
    ['Create', 'and', 'start']
    """
    if re.search(r"<(html|body|p|div|span)\b", text, re.I):
        parser = _Text()
        parser.feed(text)
        return parser.words
    return text.split()


def differs(entry: Mapping[str, Any], old: str, new: str) -> bool:
    """True if the page changed in what we use: its OpenAPI document, or for prose pages its words.

    A reformatted document (keys reordered, YAML restyled, prose around it edited) is no change.
    """
    if entry.get("extract") == "none":
        return words(old) != words(new)
    try:
        return extract_openapi(old) != extract_openapi(new)
    except ExtractError:
        return old != new


def watch(
    root: Path,
    *,
    today: str,
    urls: Mapping[str, str],
    save: bool = False,
    accept_breaking: bool = False,
    out_dir: Path | None = None,
    out: TextIO | None = None,
) -> int:
    """Fetch, compare, report; returns the exit code (see the module docstring)."""
    out = out or sys.stdout
    specs = root / "specs"
    manifest = load_manifest(specs)
    try:
        fetched = fetch_all(urls)
    except FetchError as exc:
        # stdout carries the report, kept apart from what went wrong.
        lines = str(exc).splitlines()
        print("\n".join(f"error: {line}" for line in lines), file=sys.stderr)
        print(f"{len(lines)} of {len(urls)} page(s) could not be fetched; {HINT}", file=sys.stderr)
        return CHECK_FAILED
    changed = {
        name: data
        for name, data in fetched.items()
        if differs(
            manifest["raw"][name],
            (specs / "raw" / name).read_text(encoding="utf-8"),
            data.decode("utf-8", errors="replace"),
        )
    }
    if not changed:
        print(f"{len(fetched)} page(s) fetched: no provider spec changed", file=out)
        return UNCHANGED
    if save:
        return update(root, today=today, accept_breaking=accept_breaking, fetched=changed, out=out)
    texts = {name: data.decode("utf-8", errors="replace") for name, data in changed.items()}
    source = "fetched by `make spec-watch`"
    try:
        built = build_all(specs, pages=texts)
        reports = reports_for(specs, built, list(changed), source=source, when=today)
    except SpecPipelineError as exc:
        reports = _unbuildable(specs, texts, exc, today)
    written = write_reports(specs, reports, today, out_dir)
    for report in reports:
        print(report.markdown + "\n", file=out)
    print("report(s): " + ", ".join(str(p) for p in written), file=out)
    if any(is_breaking(list(r.changes)) for r in reports):
        return BREAKING
    return CHANGED


def _unbuildable(specs: Path, texts: Mapping[str, str], error: Exception, today: str) -> list[ProviderReport]:
    """When the new pages do not build, report the published documents' own diff plus why."""
    manifest = load_manifest(specs)
    by_provider: dict[str, list[str]] = {}
    for name in texts:
        by_provider.setdefault(manifest["raw"][name]["provider"], []).append(name)
    lines = [line.strip() for line in str(error).splitlines() if line.strip()] or [type(error).__name__]
    out = []
    for provider, names in by_provider.items():
        changes = [Change("breaking", "", "build", f"the new page no longer builds: {line}") for line in lines]
        for name in names:
            try:
                old = extract_openapi((specs / "raw" / name).read_text(encoding="utf-8"))
                changes += diff_specs(old, extract_openapi(texts[name]))
            except ExtractError:
                pass
        note = (
            f"fetched by `make spec-watch` on {today}: {', '.join(f'`specs/raw/{n}`' for n in names)}. The overlays "
            "no longer apply to the new page(s), so this compares the published documents themselves."
        )
        markdown = format_markdown(provider, changes, note=note)
        out.append(ProviderReport(provider, tuple(names), tuple(changes), markdown))
    return out
