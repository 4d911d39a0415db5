"""Cross-cutting request handling, one concern per module."""
