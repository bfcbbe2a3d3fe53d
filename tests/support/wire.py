"""What the services put on the wire, as a consumer that is not nameko sees it (pika, plain AMQP
0-9-1): ``WireSink`` binds a queue of its own to every service's exchange with ``#`` and keeps
every message published meanwhile; ``wire_problems`` checks each against the committed AsyncAPI
catalogue (the whole body, with jsonschema) and the envelope attributes of the AMQP properties
and CloudEvents headers."""

import datetime as dt
import time
import urllib.parse
import uuid

import jsonschema
import orjson
import pika
import yaml

from shared.contracts import catalogue
from shared.messaging.relay import CLOUDEVENTS_SPEC_VERSION, dataschema_uri, source_uri

SERVICES = catalogue.SERVICES


def pika_parameters(amqp_uri):
    parts = urllib.parse.urlsplit(amqp_uri)
    vhost = urllib.parse.unquote(parts.path[1:]) if len(parts.path) > 1 else "/"
    return pika.ConnectionParameters(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 5672,
        virtual_host=vhost,
        credentials=pika.PlainCredentials(
            urllib.parse.unquote(parts.username or "guest"),
            urllib.parse.unquote(parts.password or "guest"),
        ),
        heartbeat=0,  # the sink's connection idles between the tests' publishing
    )


def declare_exchange(channel, service):
    """``<service>.events`` as the relay and nameko declare it (topic, durable)."""
    channel.exchange_declare(f"{service}.events", exchange_type="topic", durable=True)


class WireSink:
    def __init__(self, amqp_uri, services=SERVICES):
        self.connection = pika.BlockingConnection(pika_parameters(amqp_uri))
        self.channel = self.connection.channel()
        self.queue = f"wire-sink-{uuid.uuid4().hex[:8]}"
        self.channel.queue_declare(self.queue, exclusive=True)
        for service in services:
            declare_exchange(self.channel, service)
            self.channel.queue_bind(self.queue, f"{service}.events", routing_key="#")
        self.messages = []  # (exchange, routing key, properties, body)

    def drain(self, quiet=1.0, timeout=30.0):
        """Take every message queued, until none has come for ``quiet`` seconds."""
        deadline, last = time.monotonic() + timeout, time.monotonic()
        while time.monotonic() < deadline and time.monotonic() - last < quiet:
            method, properties, body = self.channel.basic_get(self.queue, auto_ack=True)
            if method is None:
                self.connection.sleep(0.1)
                continue
            self.messages.append((method.exchange, method.routing_key, properties, body))
            last = time.monotonic()
        return self.messages

    def close(self):
        if self.connection.is_open:
            self.connection.close()


def _validators():
    doc = yaml.safe_load(catalogue.PATH.read_text(encoding="utf-8"))
    formats = jsonschema.FormatChecker()
    out = {}
    for message in doc["components"]["messages"].values():
        body = message["payload"]
        key = (message["name"], body["properties"]["schema_version"]["const"])
        out[key] = (
            jsonschema.Draft7Validator(body, format_checker=formats),
            jsonschema.Draft7Validator(message["headers"], format_checker=formats),
        )
    return out


def wire_problems(messages):
    """Every way the messages differ from the committed catalogue or lack an envelope attribute
    (empty: all is well)."""
    validators = _validators()
    problems = []
    for exchange, routing_key, props, raw in messages:
        body = orjson.loads(raw)
        where = f"{exchange}/{routing_key} {body.get('event_id')}"
        key = (body.get("event_type"), body.get("schema_version"))
        if key not in validators:
            problems.append(f"{where}: no message {key} in the catalogue")
            continue
        body_check, headers_check = validators[key]
        problems += [
            f"{where} body {list(e.absolute_path)}: {e.message}"
            for e in body_check.iter_errors(body)
        ]
        headers = props.headers or {}
        problems += [f"{where} headers: {e.message}" for e in headers_check.iter_errors(headers)]
        metadata = body.get("metadata") or {}
        expected = {
            "exchange": (exchange, f"{body.get('source')}.events"),
            "routing key": (routing_key, body.get("event_type")),
            "message_id": (props.message_id, body.get("event_id")),
            "type": (props.type, body.get("event_type")),
            "content_type": (props.content_type, "application/json"),
            "app_id": (props.app_id, body.get("source")),
            "correlation_id": (props.correlation_id, metadata.get("correlation_id")),
            "delivery_mode": (props.delivery_mode, 2),
            "cloudEvents:id": (headers.get("cloudEvents:id"), body.get("event_id")),
            "cloudEvents:subject": (headers.get("cloudEvents:subject"), body.get("stream_id")),
            "cloudEvents:source": (
                headers.get("cloudEvents:source"),
                source_uri(body.get("source")),
            ),
            "cloudEvents:specversion": (
                headers.get("cloudEvents:specversion"),
                CLOUDEVENTS_SPEC_VERSION,
            ),
            "cloudEvents:dataschema": (
                headers.get("cloudEvents:dataschema"),
                dataschema_uri(*key),
            ),
        }
        problems += [
            f"{where}: {name} {got!r}, expected {want!r}"
            for name, (got, want) in expected.items()
            if got != want
        ]
        recorded = body.get("recorded_at")
        if recorded and props.timestamp != int(dt.datetime.fromisoformat(recorded).timestamp()):
            problems.append(f"{where}: timestamp {props.timestamp} is not recorded_at {recorded}")
    return problems
