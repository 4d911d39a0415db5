"""Background jobs seen from the control plane: the messages that failed for good."""
