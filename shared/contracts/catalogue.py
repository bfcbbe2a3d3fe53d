"""The event catalogue: an AsyncAPI 3.0 document of every message the services publish, generated
from the contracts registry and committed as ``shared/contracts/asyncapi.yaml`` so that another
system can read (or generate code from) how to subscribe and what each message holds.

    python -m shared.contracts.catalogue            print it
    python -m shared.contracts.catalogue --write    regenerate the committed file
    python -m shared.contracts.catalogue --check    exit 1 if the committed file is stale

What it describes is the wire, whole:

* each message's body is the envelope (``shared.messaging.relay.envelope``: ids, stream,
  positions, ``recorded_at``, metadata) with the contract's payload inside it, every object
  closed (``additionalProperties: false``) but ``metadata``;
* the payload schemas come from the marshmallow contracts through apispec's marshmallow plugin
  (JSON Schema as OpenAPI 3.1 has it: a nullable field is ``type: [..., "null"]``, a ``Range``
  gives ``minimum``/``maximum``, a ``OneOf`` an ``enum``, a nested schema its object);
* sealed personal fields (``shared.store.sealing.PERSONAL``) say so: ``x-sealed: true`` and a
  description of the ``enc1:`` form;
* the AMQP headers (CloudEvents' AMQP binding) and properties (``bindings.amqp``) of every
  message;
* channels per the AMQP binding: one per event type, its ``address`` the routing key (the event
  type) on the topic exchange ``<service>.events``; every registered schema version of the event
  type is a message of the channel (``<EventType>.v<N>``, the ``cloudEvents:dataschema`` of the
  message names it), since the relay publishes stored events at the version they were stored at.
"""

from __future__ import annotations

import copy
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from apispec.ext.marshmallow.openapi import OpenAPIConverter
from marshmallow import Schema

from shared.contracts import Contract, load_all
from shared.messaging.relay import CLOUDEVENTS_SPEC_VERSION, dataschema_uri, source_uri
from shared.store.sealing import PERSONAL, PREFIX

PATH = Path(__file__).with_name("asyncapi.yaml")
SERVICES = ("applications", "subsidies", "assessment", "notifications")
AMQP_BINDING_VERSION = "0.3.0"

DESCRIPTION = """\
The events of the four services of the Chuxiong talent-programme backend, as published on
RabbitMQ: one topic exchange per service, `<service>.events` (durable), each event with its
event type as routing key. To subscribe, bind a durable queue of your own to the exchange with
the event types you want as routing keys (a Nameko `@event_handler(service, event_type)` does
exactly that).

Every message body is a JSON envelope (`application/json`, UTF-8): `event_id` (a UUID, the same
on every redelivery: delivery is at least once, so drop duplicates by it), `event_type`,
`schema_version`, `source` (the service), `stream_type`, `stream_id`, `stream_version` (1, 2, 3…
within the stream), `global_position` (gapless and increasing per source, in commit order: order
by it), `recorded_at` (UTC, when the service recorded it; the act's own date is in the payload,
`*_on`), `payload` (the event, below) and `metadata` (who acted, the correlation and causation
ids, the policy clauses applied, the policy version; on a fact taken in by `talent-import`, also
`provenance`: source `import`, the file's SHA-256, sheet, row, step, who imported it, the key).

The AMQP properties repeat the ids for consumers and broker tools that do not parse bodies:
`message_id` (the event id), `type` (the event type), `timestamp` (recorded_at, Unix seconds),
`correlation_id`, `app_id` (the service), `content_type`; the headers carry the CloudEvents AMQP
binding's attributes (`cloudEvents:id`, `cloudEvents:source`, `cloudEvents:type`,
`cloudEvents:time`, `cloudEvents:subject` (the stream id), `cloudEvents:specversion`,
`cloudEvents:dataschema`).

Personal fields marked `x-sealed` are encrypted with their person's key (`enc1:` followed by
base64url text) whenever the event names its person (`person_key`); they are never sent in
clear to subscribers. A subscriber that was away, or that is not on the broker, backfills from
the source's catch-up feed: `GET /events?after=<global_position>&limit=<n>` on the service's
HTTP interface (role `integrator`) or the `catch_up(after, limit)` RPC, which return the same
envelopes."""


def _inline(schema: type[Schema]) -> str:
    return None  # type: ignore[return-value]  # (apispec: no name, the nested schema inlined)


def _converter() -> OpenAPIConverter:
    """apispec's marshmallow converter, JSON Schema as OpenAPI 3.1 has it, nested schemas
    inlined (a resolver naming none)."""
    plugin = MarshmallowPlugin(schema_name_resolver=_inline)
    APISpec("events", "1", "3.1.0", plugins=[plugin])
    assert plugin.converter is not None  # set by the APISpec
    return plugin.converter


_CONVERTER = _converter()
_SEALED_DOC = (
    f"Sealed personal data: `{PREFIX}` then base64url(nonce | AES-256-GCM ciphertext), encrypted "
    "with the person's own key (crypto-shredding); in clear only where the event names no person."
)


def _prose(text: str) -> str:
    """``text`` (a docstring or the description above) as paragraphs of one line each."""
    paragraphs = text.strip().split("\n\n")
    return "\n\n".join(" ".join(line.strip() for line in p.splitlines()) for p in paragraphs)


def payload_schema(schema: Schema) -> dict[str, Any]:
    """The JSON Schema of a contract's payload, from its marshmallow schema (apispec)."""
    return copy.deepcopy(_CONVERTER.schema2jsonschema(schema))


def _mark_sealed(schema: dict[str, Any], path: str) -> None:
    node: dict[str, Any] = schema
    for part in path.split("."):
        inner = node.get("properties", {}).get(part)
        if inner is None:
            return
        node = inner
    node["x-sealed"] = True
    node["description"] = _SEALED_DOC
    if fmt := node.pop("format", None):  # a date: events recorded before it was sealed hold it
        clear = {"type": node.pop("type"), "format": fmt}
        node["anyOf"] = [{"type": "string", "pattern": f"^{PREFIX}"}, clear]
        node["description"] += f" Events recorded before it was sealed hold it in clear ({fmt})."


def _string(description: str, **extra: Any) -> dict[str, Any]:
    return {"type": "string", "description": description, **extra}


def _nullable_string(description: str) -> dict[str, Any]:
    return {"type": ["string", "null"], "description": description}


def _position(description: str) -> dict[str, Any]:
    return {"type": "integer", "minimum": 1, "maximum": 2**63 - 1, "description": description}


METADATA_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Who acted and why (further keys may be added).",
    "properties": {
        "actor_id": _string("the acting user or service (`service:<name>`)"),
        "actor_role": _string("the actor's role (shared/auth.py ROLES)"),
        "correlation_id": _nullable_string("the request that started it all, in every service"),
        "causation_id": _nullable_string("the event or command that caused this one"),
        "clauses": {
            "type": "array",
            "items": {"type": "string"},
            "description": "the policy clauses applied (e.g. LT-10.1)",
        },
        "policy_version": _nullable_string("the policy version the decision was made under"),
    },
    "required": ["actor_id", "actor_role", "correlation_id", "causation_id", "clauses"],
}


def envelope_schema(contract: Contract) -> dict[str, Any]:
    """The whole message body of ``contract``'s event: the envelope with its payload."""
    payload = payload_schema(contract.schema)
    spec = PERSONAL.get(contract.event_type)
    for path in spec[1] if spec else ():
        _mark_sealed(payload, path)
    payload["description"] = _prose(contract.description)
    properties = {
        "event_id": _string("unique per event: drop duplicates by it", format="uuid"),
        "event_type": {"type": "string", "const": contract.event_type},
        "schema_version": {"type": "integer", "const": contract.version},
        "source": {"type": "string", "const": contract.service},
        "stream_type": _string("the kind of stream (aggregate)"),
        "stream_id": _string("the stream (aggregate instance) the event belongs to"),
        "stream_version": _position("the event's number within its stream: 1, 2, 3…"),
        "global_position": _position("gapless, increasing per source in commit order"),
        "recorded_at": _string("when the source recorded it (UTC)", format="date-time"),
        "payload": payload,
        "metadata": copy.deepcopy(METADATA_SCHEMA),
    }
    return {
        "type": "object",
        "additionalProperties": False,
        "properties": properties,
        "required": list(properties),
    }


def headers_schema(contract: Contract) -> dict[str, Any]:
    """The AMQP headers of the message (``shared.messaging.relay.amqp_properties``)."""
    properties: dict[str, Any] = {
        "cloudEvents:specversion": {"type": "string", "const": CLOUDEVENTS_SPEC_VERSION},
        "cloudEvents:id": _string("the event id", format="uuid"),
        "cloudEvents:source": {"type": "string", "const": source_uri(contract.service)},
        "cloudEvents:type": {"type": "string", "const": contract.event_type},
        "cloudEvents:time": _string("recorded_at", format="date-time"),
        "cloudEvents:subject": _string("the stream id"),
        "cloudEvents:dataschema": {
            "type": "string",
            "const": dataschema_uri(contract.event_type, contract.version),
        },
    }
    return {"type": "object", "properties": properties, "required": list(properties)}


def message_id(contract: Contract) -> str:
    return f"{contract.event_type}.v{contract.version}"


def message(contract: Contract) -> dict[str, Any]:
    return {
        "name": contract.event_type,
        "title": f"{contract.event_type} (schema_version {contract.version})",
        "summary": _prose(contract.description).split(". ")[0].rstrip(".") + ".",
        "description": _prose(contract.description),
        "contentType": "application/json",
        "headers": headers_schema(contract),
        "correlationId": {
            "description": "the request that caused it (also the AMQP correlation_id)",
            "location": "$message.payload#/metadata/correlation_id",
        },
        "payload": envelope_schema(contract),
        "bindings": {
            "amqp": {
                "contentEncoding": "utf-8",
                "messageType": contract.event_type,
                "bindingVersion": AMQP_BINDING_VERSION,
            }
        },
    }


def channel_id(service: str, event_type: str) -> str:
    return f"{service}.{event_type}"


def document() -> dict[str, Any]:
    """The AsyncAPI document of every service's event contracts."""
    registry = load_all()
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for service in SERVICES:
        by_type: dict[str, list[Contract]] = {}
        for c in registry.by_service(service):
            by_type.setdefault(c.event_type, []).append(c)
        for event_type, contracts in by_type.items():
            cid = channel_id(service, event_type)
            for c in contracts:
                messages[message_id(c)] = message(c)
            channels[cid] = {
                "address": event_type,
                "title": f"{event_type} on {service}.events",
                "description": f"Routing key `{event_type}` on the topic exchange "
                f"`{service}.events` (durable).",
                "servers": [{"$ref": "#/servers/broker"}],
                "messages": {
                    message_id(c): {"$ref": f"#/components/messages/{message_id(c)}"}
                    for c in contracts
                },
                "bindings": {
                    "amqp": {
                        "is": "routingKey",
                        "exchange": {
                            "name": f"{service}.events",
                            "type": "topic",
                            "durable": True,
                            "autoDelete": False,
                            "vhost": "/",
                        },
                        "bindingVersion": AMQP_BINDING_VERSION,
                    }
                },
            }
            operations[f"receive{event_type}"] = {
                "action": "receive",
                "title": f"Receive {event_type}",
                "summary": f"Subscribe to {event_type} from {service}.",
                "channel": {"$ref": f"#/channels/{cid}"},
                "messages": [
                    {"$ref": f"#/channels/{cid}/messages/{message_id(c)}"} for c in contracts
                ],
                "bindings": {"amqp": {"ack": True, "bindingVersion": AMQP_BINDING_VERSION}},
            }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Chuxiong talent-programme events",
            "version": "2",
            "description": _prose(DESCRIPTION),
        },
        "defaultContentType": "application/json",
        "servers": {
            "broker": {
                "host": "{host}:{port}",
                "protocol": "amqp",
                "protocolVersion": "0.9.1",
                "description": "The RabbitMQ broker the services publish to (their `AMQP_URI`).",
                "variables": {
                    "host": {"default": "127.0.0.1", "description": "the broker's host"},
                    "port": {"default": "5672", "description": "the broker's AMQP port"},
                },
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages},
    }


def message_schemas() -> dict[tuple[str, int], dict[str, Any]]:
    """(event type, schema version) -> the JSON Schema of the whole message body."""
    messages = document()["components"]["messages"]
    return {
        (m["name"], m["payload"]["properties"]["schema_version"]["const"]): m["payload"]
        for m in messages.values()
    }


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


def render() -> str:
    header = "# Generated by `python -m shared.contracts.catalogue --write`: do not edit.\n"
    return header + yaml.dump(
        document(), Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=100
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    text = render()
    if "--write" in args:
        PATH.write_text(text, encoding="utf-8")
        print(f"wrote {PATH}")
    elif "--check" in args:
        if not PATH.exists() or PATH.read_text(encoding="utf-8") != text:
            print(f"{PATH} is stale: run `make catalogue`", file=sys.stderr)
            return 1
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
