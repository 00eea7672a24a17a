"""flowdeck: one typed client for hosted workflow runners."""

__version__ = "0.1.0"
