"""Commands for the fleet's managers: issued in one transaction with an outbox row,
published by the relay through a transport (RabbitMQ, or in-process when embedded).

See ``docs/commands.md`` for the message format other managers consume.
"""
