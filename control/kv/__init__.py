"""The key-value store for rate-limit counters and short-lived flags.

Two implementations behind one interface: Redis (shared by every process) and
in-process memory (the embedded default).
"""

from control.kv.factory import build_store
from control.kv.interface import KeyValueStore, WindowCount

__all__ = ["KeyValueStore", "WindowCount", "build_store"]
