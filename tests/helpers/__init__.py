"""Reusable test helpers (import as ``helpers.<module>``; ``tests/`` is on ``sys.path`` via its conftest)."""
