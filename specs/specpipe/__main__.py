"""``python -m specpipe {build,generate,check,update,report}`` — the Makefile's spec verbs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

from specpipe._build import build_all, check_hashes, dump, record_hashes
from specpipe._errors import SpecPipelineError
from specpipe._generate import check_drift, install_tree
from specpipe._report import diff_surfaces, format_report


def _write_normalized(specs: Path, quiet: bool = False) -> dict[str, Path]:
    built = build_all(specs)
    out = specs / "normalized"
    out.mkdir(exist_ok=True)
    paths = {}
    for provider, doc in built.items():
        path = out / f"{provider}.yaml"
        old = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else {}
        if not quiet:
            print(format_report(provider, diff_surfaces(old, doc)))
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


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    parser = argparse.ArgumentParser(prog="specpipe", description=__doc__)
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="project root (default: cwd)")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("build", help="rebuild specs/normalized/ and print the API-surface report")
    sub.add_parser("generate", help="build, then regenerate generated/ from specs/normalized/")
    sub.add_parser("check", help="fail if raw hashes, normalized specs or generated/ drifted")
    sub.add_parser("update", help="accept changed raw pages (record hashes), then generate")
    rep = sub.add_parser("report", help="API-surface report between two spec files")
    rep.add_argument("old", type=Path)
    rep.add_argument("new", type=Path)
    args = parser.parse_args(argv)
    specs, generated = args.root / "specs", args.root / "generated"
    try:
        if args.command == "report":
            old = yaml.safe_load(args.old.read_text(encoding="utf-8"))
            new = yaml.safe_load(args.new.read_text(encoding="utf-8"))
            print(format_report(args.new.stem, diff_surfaces(old, new)))
        elif args.command == "check":
            _check(specs, generated)
        else:
            if args.command == "update":
                for name in record_hashes(specs):
                    print(f"accepted new raw page: specs/raw/{name}")
            check_hashes(specs)
            paths = _write_normalized(specs)
            if args.command in ("generate", "update"):
                install_tree(specs, paths, generated)
                print(f"regenerated {len(paths)} client(s) under generated/")
    except SpecPipelineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
