"""The pipeline's errors: each names the file and the part of it that is wrong."""

from __future__ import annotations


class SpecPipelineError(Exception):
    """Base class: something in specs/ cannot be turned into a normalized spec or a client."""


class ExtractError(SpecPipelineError):
    """A vendored page does not hold exactly one OpenAPI document in a fenced block."""


class HashMismatchError(SpecPipelineError):
    """A vendored raw file no longer has the sha256 recorded in the manifest."""


class MergeConflictError(SpecPipelineError):
    """Two documents of one provider define the same operation or component differently."""


class OverlayError(SpecPipelineError):
    """An overlay document is not valid Overlay 1.0."""


class StaleOverlayError(OverlayError):
    """One or more overlay actions target nothing: the provider's spec changed under the overlay."""

    def __init__(self, overlay: str, stale: list[tuple[int, str, str]]) -> None:
        self.overlay = overlay
        self.stale = stale
        lines = [f"  action #{i} target {target!r}: {desc}" for i, target, desc in stale]
        super().__init__(
            f"overlay {overlay}: {len(stale)} action(s) matched nothing "
            "(the raw spec changed; update or drop them):\n" + "\n".join(lines)
        )


class ValidationFailedError(SpecPipelineError):
    """A normalized spec is not a valid OpenAPI document."""


class GenerationError(SpecPipelineError):
    """openapi-python-client failed or reported a warning."""


class DriftError(SpecPipelineError):
    """Committed normalized specs or generated clients differ from what specs/ produces."""
