"""The audit log: who wrote what, from where, and with what outcome."""
