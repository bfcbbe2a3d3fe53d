"""Messaging over RabbitMQ: the relay (store -> broker), the inbox (exactly-once effects of
incoming events) and the Nameko consumers that feed it."""
