"""Build normalized specs from specs/manifest.yaml: hash check, extract, merge, overlay, rules, validate."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from jsonschema_path import SchemaPath
from openapi_spec_validator.shortcuts import get_validator_cls

from specpipe._errors import (
    HashMismatchError,
    InputError,
    SpecPipelineError,
    SpecRuleError,
    ValidationFailedError,
)
from specpipe._extract import extract_openapi
from specpipe._merge import merge_documents
from specpipe._overlay import ADDED, apply_overlay, template
from specpipe._refs import check_refs, pointer, walk_refs

METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


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


def changed_pages(specs: Path) -> list[str]:
    """Raw pages whose bytes do not match the sha256 recorded in the manifest."""
    raw = load_manifest(specs)["raw"]
    missing = [f"specs/raw/{name}" for name in raw if not (specs / "raw" / name).is_file()]
    if missing:
        raise InputError(
            f"specs/manifest.yaml lists {', '.join(missing)} but the file is missing "
            "(restore it, e.g. `git checkout -- specs/raw`, or remove its manifest entry)"
        )
    return [name for name, entry in raw.items() if sha256_of(specs / "raw" / name) != entry["sha256"]]


def check_hashes(specs: Path) -> None:
    """Raise :class:`HashMismatchError` naming every raw file whose bytes changed."""
    bad = changed_pages(specs)
    if bad:
        raise HashMismatchError(
            "raw spec changed (run `make spec-update` to accept it): " + ", ".join(f"specs/raw/{n}" for n in bad)
        )


def operations(doc: Mapping[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """``(METHOD, path) -> operation`` of a document."""
    return {
        (method.upper(), path): op
        for path, item in (doc.get("paths") or {}).items()
        if isinstance(item, dict)
        for method, op in item.items()
        if method in METHODS and isinstance(op, dict)
    }


class _RefuseAll(dict[str, Any]):
    """Resolver handlers that claim every URI scheme and fetch none.

    jsonschema-path falls back to ``requests``/``urlopen`` for any scheme missing from its handlers;
    claiming them all is the only way to be sure validation never opens a socket or a file.
    """

    def __contains__(self, key: object) -> bool:
        return True

    def __getitem__(self, key: str) -> Any:
        def refuse(uri: str) -> Any:
            raise SpecRuleError(f"refusing to fetch {uri!r}: specpipe never touches the network or other files")

        return refuse


def validate_offline(doc: dict[str, Any]) -> None:
    """Validate with openapi-spec-validator, which must resolve only references inside ``doc``."""
    try:
        cls = get_validator_cls(doc)
        error = next(cls(SchemaPath.from_dict(doc, handlers=_RefuseAll())).iter_errors(), None)
    except Exception as exc:  # the validator's own failures (version detection, resolution)
        raise ValidationFailedError(f"not a valid OpenAPI document: {type(exc).__name__}: {exc}") from exc
    if error is not None:
        where = pointer(tuple(error.absolute_path)) or "/"
        message = str(error.message).splitlines()[0][:300]
        raise ValidationFailedError(f"normalized spec is invalid at {where}: {message}")


def _check_rules(doc: dict[str, Any], raw_ops: set[tuple[str, str]] | None, overlays: list[str]) -> None:
    """flowdeck's own rules, each a one-line error naming where."""
    if raw_ops is not None:
        raw_templates = {(m, template(p)) for m, p in raw_ops}
        for (method, path), op in operations(doc).items():
            if (method, template(path)) not in raw_templates and not op.get(ADDED):
                raise SpecRuleError(
                    f"{', '.join(overlays)} adds {method} {path} without `{ADDED}`: mark it, so that the day "
                    "the provider publishes it the build names the overlay action to delete"
                )
    if str(doc.get("openapi", "")).startswith("3.0"):
        for parts, _ in walk_refs(doc):
            node: Any = doc
            for part in parts:
                node = node[part]
            siblings = sorted(k for k in node if k != "$ref")
            if siblings:
                raise SpecRuleError(
                    f"$ref with sibling keys {siblings} at {pointer(parts)}: OpenAPI 3.0 tools ignore them "
                    "(wrap a schema in `allOf: [{$ref: ...}]`, or add content to the response instead of a $ref)"
                )
    schemes = set((doc.get("components") or {}).get("securitySchemes") or {})
    requirements = [(("security",), doc.get("security") or [])] + [
        (("paths", path, method.lower(), "security"), op.get("security") or [])
        for (method, path), op in operations(doc).items()
    ]
    for parts, alternatives in requirements:
        for alternative in alternatives:
            for name in alternative:
                if name not in schemes:
                    raise SpecRuleError(f"security requirement names undeclared scheme {name!r} at {pointer(parts)}")


def build_provider(specs: Path, provider: str, pages: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The normalized OpenAPI document of ``provider`` (validated, offline).

    ``pages`` replaces raw pages by name (spec-watch builds fetched pages without writing them).
    """
    entry = load_manifest(specs)["providers"][provider]
    pages = pages or {}
    raw_docs: list[tuple[str, dict[str, Any]]] = []
    if "authored" in entry:
        doc: dict[str, Any] = load_yaml(specs / "authored" / entry["authored"])
        raw_ops = None
    else:
        for name in entry["sources"]:
            text = pages[name] if name in pages else (specs / "raw" / name).read_text(encoding="utf-8")
            raw_docs.append((f"specs/raw/{name}", extract_openapi(text, name=f"specs/raw/{name}")))
        doc = merge_documents(raw_docs)
        raw_ops = set(operations(doc))
    overlays = [f"specs/overlays/{name}" for name in entry.get("overlays", [])]
    for overlay_name, label in zip(entry.get("overlays", []), overlays, strict=True):
        doc = apply_overlay(doc, load_yaml(specs / "overlays" / overlay_name), name=label)

    def origin(parts: tuple[str | int, ...], ref: str) -> str:
        for name, raw in raw_docs:
            node: Any = raw
            for part in parts:
                node = node.get(part) if isinstance(node, dict) else None
            if isinstance(node, dict) and node.get("$ref") == ref:
                return name
        if "authored" in entry:
            return f"specs/authored/{entry['authored']}"
        return ", ".join(overlays) or f"{provider} spec"

    check_refs(doc, origin=origin)
    _check_rules(doc, raw_ops, overlays)
    validate_offline(doc)
    return doc


def providers(specs: Path) -> list[str]:
    """Provider names in manifest order."""
    return list(load_manifest(specs)["providers"])


def providers_of(specs: Path, page: str) -> list[str]:
    """The providers built from raw page ``page``."""
    manifest = load_manifest(specs)
    owner = manifest["raw"][page]["provider"]
    return [p for p, e in manifest["providers"].items() if page in e.get("sources", []) or p == owner]


def dump(doc: dict[str, Any]) -> str:
    """The one canonical YAML form of a normalized spec (stable, so drift checks compare text)."""
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100)


def build_all(specs: Path, pages: Mapping[str, str] | None = None) -> dict[str, dict[str, Any]]:
    """Normalized documents of every provider; every provider is tried and all failures reported."""
    built: dict[str, dict[str, Any]] = {}
    failures: list[str] = []
    for provider in providers(specs):
        try:
            built[provider] = build_provider(specs, provider, pages)
        except SpecPipelineError as exc:
            failures.append(f"[{provider}] {exc}")
    if failures:
        raise SpecPipelineError("\n".join(failures))
    return built
