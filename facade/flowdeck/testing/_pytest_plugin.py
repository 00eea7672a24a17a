"""pytest plugin (entry point ``pytest11``): fixtures serving the mock providers."""
