"""Which flowdeck operations and public methods use each spec operation, read from the adapters' source.

Every request an adapter makes is bound with ``bind(<generated module>._get_kwargs, ...)``, so the
provider module's syntax tree says which of its functions call which generated operation; following
the calls between its functions up to the namespaces (``client.<provider>.<method>``), the adapter's
``start``/``refresh``/``cancel`` (``client.start``/``wait``/``cancel``) and its ``Checks``/``Bulk`` (the
CLI's checks) names the public methods a change to that operation reaches.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from specpipe._diff import Change

LIFECYCLE = {"start": "client.start", "refresh": "client.wait", "cancel": "client.cancel"}
CHECKS = {
    "inputs": "flowdeck inputs", "verify": "flowdeck doctor --verify", "balance": "flowdeck batch --check",
    "cost": "flowdeck batch --check",
}  # fmt: skip
BULK = {"start": "flowdeck batch --bulk"}


@attrs.frozen
class Usage:
    """Who uses one spec operation: the adapter functions that bind it and the public methods reaching them."""

    operations: tuple[str, ...] = ()
    public: tuple[str, ...] = ()


def snake(operation_id: str) -> str:
    """A generated module's name for an operationId, as openapi-python-client forms it.

    >>> snake("getPipelineRun"), snake("run_waterfall")
    ('get_pipeline_run', 'run_waterfall')
    """
    words = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", operation_id)
    return re.sub(r"[^a-z0-9]+", "_", words.lower()).strip("_")


class _Module(ast.NodeVisitor):
    """Functions of a provider module: what each binds, what it calls, and what the public API exposes."""

    def __init__(self) -> None:
        self.binds: dict[str, set[str]] = {}
        self.calls: dict[str, set[str]] = {}
        self.public: dict[str, set[str]] = {}
        self.adapter = ""
        self._scope: list[str] = []
        self._namespace = ""

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        bases = {ast.unparse(b).split("[")[0] for b in node.bases}
        provider = next(
            (str(s.value.value) for s in node.body if isinstance(s, ast.Assign) and isinstance(s.value, ast.Constant)
             and any(isinstance(t, ast.Name) and t.id == "provider" for t in s.targets)),
            None,
        )  # fmt: skip
        if "AdapterBase" in bases:
            self.adapter = node.name
        self._namespace = f"client.{provider}" if "Namespace" in bases and provider else ""
        self._scope.append(node.name)
        self.generic_visit(node)
        self._scope.pop()
        self._namespace = ""

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        name = ".".join([*self._scope, node.name])
        if len(self._scope) == 1 and self._scope[0] == self.adapter and node.name in LIFECYCLE:
            self.public.setdefault(name, set()).add(LIFECYCLE[node.name])
        if self._namespace and not node.name.startswith("_"):
            self.public.setdefault(name, set()).add(f"{self._namespace}.{node.name}")
        self._scope.append(node.name)
        binds, calls = self.binds.setdefault(name, set()), self.calls.setdefault(name, set())
        for sub in ast.walk(node):
            if not isinstance(sub, ast.Call):
                continue
            func = sub.func
            if isinstance(func, ast.Name) and func.id == "bind" and sub.args:
                target = sub.args[0]
                if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name):
                    binds.add(target.value.id)
            if isinstance(func, ast.Attribute):
                calls.add(func.attr)
            elif isinstance(func, ast.Name):
                calls.add(func.id)
        self._scope.pop()

    visit_FunctionDef = _function
    visit_AsyncFunctionDef = _function

    def visit_Call(self, node: ast.Call) -> None:
        # PROVIDER = Provider(checks=Checks(inputs=_declared, ...), bulk=Bulk(start=_bulk_start, ...))
        kind = ast.unparse(node.func)
        table = CHECKS if kind == "Checks" else BULK if kind == "Bulk" else {}
        for kw in node.keywords:
            if kw.arg is not None and kw.arg in table and isinstance(kw.value, ast.Name):
                self.public.setdefault(kw.value.id, set()).add(table[kw.arg])
        self.generic_visit(node)


def usage(module: Path) -> dict[str, Usage]:
    """For each generated operation module a provider module binds: who uses it."""
    found = _Module()
    found.visit(ast.parse(module.read_text(encoding="utf-8")))
    short = {name.rsplit(".", 1)[-1]: name for name in found.calls}

    def reaching(start: str) -> tuple[set[str], set[str]]:
        seen, public, todo = {start}, set(found.public.get(start, ())), [start]
        while todo:
            callee = todo.pop().rsplit(".", 1)[-1]
            for caller, called in found.calls.items():
                if callee in called and caller not in seen and short.get(callee) != caller:
                    seen.add(caller)
                    public |= found.public.get(caller, set())
                    todo.append(caller)
        return seen, public

    out: dict[str, Usage] = {}
    for function, modules in found.binds.items():
        for op in modules:
            _, public = reaching(function)
            before = out.get(op, Usage())
            out[op] = Usage(tuple(sorted({*before.operations, function})), tuple(sorted({*before.public, *public})))
    return out


def _operation_ids(doc: Mapping[str, Any]) -> dict[str, str]:
    ids = {}
    for path, item in (doc.get("paths") or {}).items():
        for method, op in (item or {}).items():
            if isinstance(op, dict) and op.get("operationId"):
                ids[f"{method.upper()} {path}"] = str(op["operationId"])
    return ids


@attrs.frozen
class Impact:
    """What flowdeck makes of each change of one provider's spec."""

    provider: str
    by_operation: Mapping[str, Usage]
    ids: Mapping[str, str]

    def of(self, change: Change) -> Usage:
        """Who in flowdeck uses the operation ``change`` is about (nothing for a document-wide change)."""
        op_id = self.ids.get(change.operation)
        return self.by_operation.get(snake(op_id), Usage()) if op_id else Usage()

    def text(self, change: Change) -> str:
        """``breaks `client.databar.run_waterfall`, …`` or ``breaking in the spec, not read by flowdeck``."""
        if not change.operation:
            return "breaks every operation flowdeck calls" if change.level == "breaking" else "the whole document"
        used = self.of(change)
        names = ", ".join(f"`{p}`" for p in used.public or used.operations)
        if change.level == "breaking":
            return f"breaks {names}" if names else "breaking in the spec, not read by flowdeck"
        return f"used by {names}" if names else "not used by flowdeck"

    def to_json(self, change: Change) -> dict[str, Any]:
        """The ``flowdeck`` entry of a change in ``specpipe report --json``."""
        used = self.of(change)
        return {"operations": list(used.operations), "public": list(used.public), "impact": self.text(change)}

    def used_by(self) -> dict[str, list[str]]:
        """operationId -> public methods, for the gate's messages."""
        return {op_id: list(self.by_operation.get(snake(op_id), Usage()).public) for op_id in self.ids.values()}


def impact(root: Path, provider: str, *docs: Mapping[str, Any]) -> Impact | None:
    """The impact table of ``provider`` (None if the project has no module for it).

    ``docs`` (the old and new specs) add their operationIds under the committed normalized spec's, which
    wins: a published page may name an operation differently from flowdeck's overlay.
    """
    module = root / "facade" / "flowdeck" / "_providers" / f"{provider}.py"
    if not module.is_file():
        return None
    import yaml

    ids: dict[str, str] = {}
    for doc in docs:
        ids.update(_operation_ids(doc))
    committed = root / "specs" / "normalized" / f"{provider}.yaml"
    if committed.is_file():
        ids.update(_operation_ids(yaml.safe_load(committed.read_text(encoding="utf-8")) or {}))
    return Impact(provider, usage(module), ids)


def guess_provider(root: Path, *docs: Mapping[str, Any]) -> str | None:
    """The provider whose committed normalized spec shares the most operations with ``docs``."""
    import yaml

    wanted = {key for doc in docs for key in _operation_ids(doc)} | {
        f"{m.upper()} {p}" for doc in docs for p, item in (doc.get("paths") or {}).items() for m in (item or {})
    }
    best, score = None, 0
    for spec in sorted((root / "specs" / "normalized").glob("*.yaml")):
        ops = {f"{m.upper()} {p}" for p, item in (yaml.safe_load(spec.read_text()).get("paths") or {}).items()
               for m in (item or {})}  # fmt: skip
        if len(ops & wanted) > score:
            best, score = spec.stem, len(ops & wanted)
    return best
