"""The WebSocket feeds: the per-process hub, the protocol and the two routes."""
