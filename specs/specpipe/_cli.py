"""The ``specpipe`` commands behind the Makefile's spec verbs.

::

    specpipe build                  rebuild specs/normalized/ and print what changed
    specpipe generate               build, then regenerate generated/
    specpipe check                  fail if raw hashes, normalized specs or generated/ drifted
    specpipe report OLD NEW [--json]
                                    what changed between two specs (or two vendored pages); exit 1 if breaking
    specpipe update [--accept-breaking]
                                    accept changed pages in specs/raw/ (make spec-update)
    specpipe watch [--save] [--mirror URL] [--source NAME=URL]
                                    fetch every provider page and report changes (make spec-watch)
    specpipe mutate [--action ID]   remove each overlay action in turn; which test notices? (make mutate)
    specpipe conform FILE.har [--json] [--provider NAME]
                                    hold recorded traffic against the normalized specs; exit 1 if any deviates

exit codes:
    0  done (report: no breaking change; watch: nothing changed; conform: the recording conforms)
    1  the pipeline found a problem: a breaking change, drift, a stale overlay, a build that fails,
       a recorded exchange that deviates from its spec
    2  the command cannot run as given: a bad option, --date or --source name, a missing or
       unreadable file, no specs/manifest.yaml under --root (watch: also a page it could not fetch)
    3  watch only: a page changed, nothing breaking
"""

from __future__ import annotations

import argparse
import datetime
import os
import re
import sys
from pathlib import Path
from typing import Any

import yaml

from specpipe._build import build_all, check_hashes, dump, load_yaml
from specpipe._diff import diff_specs, is_breaking
from specpipe._errors import InputError, SpecPipelineError
from specpipe._extract import extract_openapi, yaml_problem
from specpipe._generate import check_drift, install_tree
from specpipe._impact import Impact, guess_provider, impact
from specpipe._report import format_json, format_markdown


def load_spec(path: Path) -> dict[str, Any]:
    """An OpenAPI document from a YAML/JSON file, or from a vendored page holding one in a fenced block.

    Anything else is an :class:`InputError` saying what the file is instead.
    """
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if not path.is_file():
        raise InputError(f"{path}: not a file")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read it: {exc}") from None
    try:
        doc, broken = yaml.safe_load(text), None
    except yaml.YAMLError as exc:
        doc, broken = None, exc
    if isinstance(doc, dict) and "openapi" in doc:
        return doc
    if "```" in text:  # a vendored page: its errors say which fence
        return extract_openapi(text, name=str(path))
    if broken is not None:
        raise InputError(f"{path}: not valid YAML or JSON: {yaml_problem(broken)}")
    raise InputError(f"{path}: not an OpenAPI document (no top-level `openapi` key, no fenced block holding one)")


def _write_normalized(specs: Path) -> dict[str, Path]:
    built = build_all(specs)
    out = specs / "normalized"
    out.mkdir(exist_ok=True)
    paths = {}
    for provider, doc in built.items():
        path = out / f"{provider}.yaml"
        old = load_yaml(path) if path.exists() else {}
        print(format_markdown(provider, diff_specs(old or {}, doc)) + "\n")
        path.write_text(dump(doc), encoding="utf-8")
        paths[provider] = path
    return paths


def _check(specs: Path, generated: Path) -> None:
    check_hashes(specs)
    built = build_all(specs)
    stale = [
        f"specs/normalized/{p}.yaml"
        for p, doc in built.items()
        if not (specs / "normalized" / f"{p}.yaml").exists()
        or (specs / "normalized" / f"{p}.yaml").read_text(encoding="utf-8") != dump(doc)
    ]
    if stale:
        raise SpecPipelineError("normalized specs are out of date (run `make generate`): " + ", ".join(stale))
    check_drift(specs, {p: specs / "normalized" / f"{p}.yaml" for p in built}, generated)
    print(f"specs and generated clients are in sync ({', '.join(built)})")


EXIT_OK, EXIT_FOUND, EXIT_USAGE = 0, 1, 2
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _impact_of(root: Path, provider: str | None, old: dict[str, Any], new: dict[str, Any]) -> Impact | None:
    """The impact table for a report, when run in the project (or with --root) and the provider is known."""
    if not (root / "specs" / "normalized").is_dir():
        return None
    name = provider or guess_provider(root, old, new)
    found = impact(root, name, old, new) if name else None
    if provider and found is None:
        raise InputError(f"--provider {provider}: no facade/flowdeck/_providers/{provider}.py under {root}")
    return found


def iso_date(value: str) -> str:
    """``--date``: a real calendar day as YYYY-MM-DD (it is written to the manifest and names report files).

    >>> iso_date("2026-12-01")
    '2026-12-01'
    >>> iso_date("yesterday")
    Traceback (most recent call last):
    argparse.ArgumentTypeError: 'yesterday' is not a date as YYYY-MM-DD
    """
    try:
        if _ISO_DATE.fullmatch(value):
            return datetime.date.fromisoformat(value).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a calendar date") from None
    raise argparse.ArgumentTypeError(f"{value!r} is not a date as YYYY-MM-DD")


def _need_project(root: Path) -> None:
    if not (root / "specs" / "manifest.yaml").is_file():
        raise InputError(f"no specs/manifest.yaml under {root} (run it from the project folder or pass --root)")


def _conform(root: Path, har: Path, provider: str | None, *, as_json: bool) -> int:
    from specpipe._conform import conform, format_json, format_markdown

    if not har.is_file():
        raise InputError(f"{har}: no such file")
    result = conform(root, har, provider)
    print(format_json(result) if as_json else format_markdown(f"conform {har}", result))
    return EXIT_OK if result.clean else EXIT_FOUND


def _flag(value: bool, env: str) -> bool:
    return value or os.environ.get(env, "") == "1"


def _plain(text: str) -> str:
    r"""The module docstring as ``--help`` shows it: without reST markup (the ``::`` line, double backquotes).

    >>> print(_plain("The ``x`` commands.\n\n::\n\n    x build"))
    The x commands.
    <BLANKLINE>
        x build
    """
    return re.sub(r"\n::\n\n", "\n", text).replace("``", "")


def run(argv: list[str] | None = None) -> int:
    """Parse ``argv`` and run one command; returns the exit code."""
    parser = argparse.ArgumentParser(
        prog="specpipe", description=_plain(__doc__ or ""), formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="project root (default: cwd)")
    parser.add_argument(
        "--date", type=iso_date, default=None, help="YYYY-MM-DD to record and name reports by (default: today)"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("build", help="rebuild specs/normalized/ and print what changed")
    sub.add_parser("generate", help="build, then regenerate generated/ from specs/normalized/")
    sub.add_parser("check", help="fail if raw hashes, normalized specs or generated/ drifted")
    upd = sub.add_parser("update", help="accept changed raw pages: report, build, generate, type-check, record")
    upd.add_argument("--accept-breaking", action="store_true", help="accept breaking changes (or ACCEPT_BREAKING=1)")
    rep = sub.add_parser("report", help="what changed from OLD to NEW (OpenAPI files or vendored pages)")
    rep.add_argument("old", type=Path)
    rep.add_argument("new", type=Path)
    rep.add_argument("--json", action="store_true", help="a JSON list of {level, operation, path, message, flowdeck}")
    rep.add_argument("--provider", help="whose facade to show the impact on (default: the provider sharing its paths)")
    wat = sub.add_parser("watch", help="fetch every provider page; exit 0 unchanged, 3 changed, 1 breaking, 2 error")
    wat.add_argument("--mirror", help="fetch <mirror>/<host><path> instead of each source_url")
    wat.add_argument("--source", action="append", default=[], metavar="NAME=URL", help="fetch one page from URL")
    wat.add_argument("--out", type=Path, help="where to write reports (default: specs/reports)")
    wat.add_argument("--save", action="store_true", help="accept the changed pages as `update` would (or SAVE=1)")
    wat.add_argument("--accept-breaking", action="store_true", help="with --save: accept breaking changes too")
    mut = sub.add_parser("mutate", help="remove each overlay action in turn and find the test that notices")
    mut.add_argument("--action", action="append", default=[], help="only this action (e.g. databar#3); repeatable")
    con = sub.add_parser("conform", help="hold a recorded HAR file against the normalized specs; 1 if any deviates")
    con.add_argument("har", type=Path)
    con.add_argument("--json", action="store_true", help="a JSON list of {kind, provider, operation, path, ...}")
    con.add_argument("--provider", help="whose spec an exchange to an unknown host is held against")
    args = parser.parse_args(argv)
    root: Path = args.root.resolve()
    specs, generated = root / "specs", root / "generated"
    today = args.date or datetime.date.today().isoformat()
    try:
        if args.command == "report":
            try:
                old, new = load_spec(args.old), load_spec(args.new)
            except SpecPipelineError as exc:  # not a spec: the caller's input
                raise InputError(str(exc)) from None
            changes = diff_specs(old, new)
            found = _impact_of(root, args.provider, old, new)
            title = f"{args.old} -> {args.new}"
            print(format_json(changes, found) if args.json else format_markdown(title, changes, impact=found))
            return EXIT_FOUND if is_breaking(changes) else EXIT_OK
        if args.command == "conform":
            return _conform(root, args.har, args.provider, as_json=args.json)
        _need_project(root)
        if args.command == "check":
            _check(specs, generated)
        elif args.command == "update":
            from specpipe._update import update

            accept = _flag(args.accept_breaking, "ACCEPT_BREAKING")
            return update(root, today=today, accept_breaking=accept)
        elif args.command == "watch":
            from specpipe._watch import parse_sources, source_urls, watch

            overrides = parse_sources(specs, args.source)  # a typo must not fetch the real page
            urls = source_urls(specs, mirror=args.mirror, overrides=overrides)
            return watch(
                root, today=today, urls=urls, save=_flag(args.save, "SAVE"),
                accept_breaking=_flag(args.accept_breaking, "ACCEPT_BREAKING"), out_dir=args.out,
            )  # fmt: skip
        elif args.command == "mutate":
            from specpipe._mutate import mutate

            return mutate(root, only=args.action)
        else:
            check_hashes(specs)
            paths = _write_normalized(specs)
            if args.command == "generate":
                install_tree(specs, paths, generated)
                print(f"regenerated {len(paths)} client(s) under generated/")
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except SpecPipelineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FOUND
    except BrokenPipeError:  # the reader went away (`| head`): __main__ ends quietly
        raise
    except OSError as exc:  # a needed file is missing: say which
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"error: {where}{exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK
