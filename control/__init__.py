"""Data Collector Control: the control plane's domain (no web, worker or dashboard code)."""

__version__ = "0.5.0"
