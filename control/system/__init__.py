"""System: health of the backing parts, metrics, run-time configuration."""
