"""flowdeck's spec pipeline: vendored pages -> extracted OpenAPI -> overlays -> normalized -> clients.

Run it as ``python -m specpipe <command>`` (the Makefile does): ``build``, ``generate``, ``check``,
``update`` and ``report``. Every step is a small module so each can be tested on its own.
"""

from specpipe._errors import SpecPipelineError, StaleOverlayError

__all__ = ["SpecPipelineError", "StaleOverlayError"]
