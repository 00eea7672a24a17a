"""Build normalized specs from specs/manifest.yaml: hash check, extract, merge, overlay, validate."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import yaml
from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

from specpipe._errors import HashMismatchError, SpecPipelineError, ValidationFailedError
from specpipe._extract import extract_openapi
from specpipe._merge import merge_documents
from specpipe._overlay import apply_overlay


def load_yaml(path: Path) -> Any:
    """Parse a YAML file of specs/, turning a syntax error into a pipeline error naming the file."""
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise SpecPipelineError(f"{path}: not valid YAML: {exc}") from exc


def load_manifest(specs: Path) -> dict[str, Any]:
    """Read ``specs/manifest.yaml``."""
    manifest: dict[str, Any] = load_yaml(specs / "manifest.yaml")
    return manifest


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def check_hashes(specs: Path) -> None:
    """Raise :class:`HashMismatchError` naming every raw file whose bytes changed."""
    bad = [
        f"specs/raw/{name}: recorded {entry['sha256']}, found {sha256_of(specs / 'raw' / name)}"
        for name, entry in load_manifest(specs)["raw"].items()
        if sha256_of(specs / "raw" / name) != entry["sha256"]
    ]
    if bad:
        raise HashMismatchError("raw spec changed (run `make spec-update` to accept it):\n" + "\n".join(bad))


def record_hashes(specs: Path) -> list[str]:
    """Rewrite the manifest's sha256 entries to match the raw files; return the names that changed.

    Edits the manifest text in place (rather than re-dumping YAML) so its comments survive.
    """
    text = (specs / "manifest.yaml").read_text(encoding="utf-8")
    changed = []
    for name, entry in load_manifest(specs)["raw"].items():
        new = sha256_of(specs / "raw" / name)
        if new != entry["sha256"]:
            text = text.replace(f"sha256: {entry['sha256']}", f"sha256: {new}", 1)
            changed.append(name)
    (specs / "manifest.yaml").write_text(text, encoding="utf-8")
    return changed


def build_provider(specs: Path, provider: str) -> dict[str, Any]:
    """Return the normalized OpenAPI document of ``provider`` (validated)."""
    entry = load_manifest(specs)["providers"][provider]
    if "authored" in entry:
        doc: dict[str, Any] = load_yaml(specs / "authored" / entry["authored"])
    else:
        sources = [
            (
                name,
                extract_openapi((specs / "raw" / name).read_text(encoding="utf-8"), name=f"specs/raw/{name}"),
            )
            for name in entry["sources"]
        ]
        doc = merge_documents(sources)
    for overlay_name in entry.get("overlays", []):
        path = specs / "overlays" / overlay_name
        doc = apply_overlay(doc, load_yaml(path), name=f"specs/overlays/{overlay_name}")
    try:
        validate(doc)
    except OpenAPIValidationError as exc:
        raise ValidationFailedError(f"{provider}: normalized spec is invalid: {exc.message}") from exc
    return doc


def providers(specs: Path) -> list[str]:
    """Provider names in manifest order."""
    return list(load_manifest(specs)["providers"])


def dump(doc: dict[str, Any]) -> str:
    """The one canonical YAML form of a normalized spec (stable, so drift checks compare text)."""
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100)


def build_all(specs: Path) -> dict[str, dict[str, Any]]:
    """Normalized documents of every provider; every provider is tried and all failures reported."""
    built: dict[str, dict[str, Any]] = {}
    failures: list[str] = []
    for provider in providers(specs):
        try:
            built[provider] = build_provider(specs, provider)
        except SpecPipelineError as exc:
            failures.append(f"[{provider}] {exc}")
    if failures:
        raise SpecPipelineError("\n".join(failures))
    return built
