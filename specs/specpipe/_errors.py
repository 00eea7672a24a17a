"""The pipeline's errors: each names the file and the part of it that is wrong."""

from __future__ import annotations


class SpecPipelineError(Exception):
    """Base class: something in specs/ cannot be turned into a normalized spec or a client."""


class InputError(SpecPipelineError):
    """The command was given something it cannot use: a path, a date, a page name (exit 2, not 1).

    Exit 1 means the pipeline looked and found a problem (a breaking change, drift); a CI gate
    must be able to tell that from a typo in its own command line.
    """


class ExtractError(SpecPipelineError):
    """A vendored page does not hold exactly one OpenAPI document in a fenced block."""


class HashMismatchError(SpecPipelineError):
    """A vendored raw file does not have the sha256 recorded in the manifest."""


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


class DanglingRefError(SpecPipelineError):
    """A ``$ref`` points outside its document or at nothing (named by file and JSON pointer)."""


class OverlayCollisionError(OverlayError):
    """An overlay adds an operation the provider's page now defines itself: delete the overlay action."""


class SpecRuleError(SpecPipelineError):
    """A normalized spec breaks one of flowdeck's rules (e.g. an unmarked added operation)."""


class FetchError(SpecPipelineError):
    """A provider page could not be fetched (spec-watch)."""


class TypeCheckError(SpecPipelineError):
    """The facade does not type-check against newly generated clients."""


class BreakingChangesRefused(SpecPipelineError):
    """A spec update has breaking changes and ``ACCEPT_BREAKING=1`` was not given."""


class GateRefused(SpecPipelineError):
    """Under the new spec the unchanged facade or its mock breaks; ``ACCEPT_BREAKING=1`` does not accept it."""
