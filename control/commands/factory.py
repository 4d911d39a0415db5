"""Choose the command transport from settings: RabbitMQ when configured, else in-process."""

from __future__ import annotations

from control.commands import memory_transport
from control.commands.rabbitmq_transport import RabbitMQTransport
from control.commands.transport import CommandTransport


def build_transport(rabbitmq_url: str | None) -> CommandTransport:
    """RabbitMQ at ``rabbitmq_url``, or the process-wide in-process transport when None."""
    return RabbitMQTransport(rabbitmq_url) if rabbitmq_url else memory_transport.shared()
