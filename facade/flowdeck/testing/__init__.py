"""Mock providers and test helpers for code that uses flowdeck."""
