"""The event catalogue: an AsyncAPI 2.6 document generated from the contracts registry, committed
as ``shared/contracts/asyncapi.yaml`` so an outside government system can read how to subscribe.

    python -m shared.contracts.catalogue            print it
    python -m shared.contracts.catalogue --write    regenerate the committed file
    python -m shared.contracts.catalogue --check    exit 1 if the committed file is stale
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from marshmallow import Schema, fields, validate

from shared.contracts import load_all

PATH = Path(__file__).with_name("asyncapi.yaml")
SERVICES = ("applications", "subsidies", "assessment", "notifications")

ENVELOPE_DOC = (
    "Every message is a JSON envelope: event_id (uuid, unique: use it to drop duplicates; "
    "delivery is at least once), event_type, schema_version, source (service), stream_type, "
    "stream_id, stream_version, global_position (gapless per source, in commit order), "
    "recorded_at (UTC), payload (below), metadata {actor_id, actor_role, correlation_id, "
    "causation_id, clauses (the policy clauses applied, e.g. LT-10.1), policy_version; on a fact "
    "taken in by talent-import also provenance {source: import, file_sha256, sheet, row, step, "
    "imported_by, key}}. "
    "Bind a durable queue to the topic exchange `<source>.events` with the event type as "
    "routing key (a Nameko `@event_handler(source, event_type)` does exactly that). A subscriber "
    "that was away can backfill from the source's `catch_up(after, limit)` RPC."
)


def json_schema(field: fields.Field[Any]) -> dict[str, Any]:
    """The JSON Schema of one marshmallow field."""
    out: dict[str, Any] = {}
    if isinstance(field, fields.Nested):
        inner = schema_of(field.schema)
        return {"type": "array", "items": inner} if field.many else inner
    if isinstance(field, fields.List):
        out = {"type": "array", "items": json_schema(field.inner)}
    elif isinstance(field, fields.Dict):
        out = {"type": "object"}
        if field.value_field:
            out["additionalProperties"] = json_schema(field.value_field)
    elif isinstance(field, fields.Integer):
        out = {"type": "integer"}
    elif isinstance(field, fields.Boolean):
        out = {"type": "boolean"}
    elif isinstance(field, fields.Date):
        out = {"type": "string", "format": "date"}
    elif isinstance(field, fields.DateTime):
        out = {"type": "string", "format": "date-time"}
    else:
        out = {"type": "string"}
    for v in field.validators:
        if isinstance(v, validate.OneOf):
            out["enum"] = list(v.choices)
        elif isinstance(v, validate.Range):
            if v.min is not None:
                out["minimum"] = v.min
            if v.max is not None:
                out["maximum"] = v.max
    return out


def schema_of(schema: Schema) -> dict[str, Any]:
    """The JSON Schema of a payload schema: its fields, exactly (no other key)."""
    props = {(f.data_key or name): json_schema(f) for name, f in schema.fields.items()}
    required = [(f.data_key or name) for name, f in schema.fields.items() if f.required]
    return {
        "type": "object",
        "additionalProperties": False,
        "properties": props,
        "required": required,
    }


def document() -> dict[str, Any]:
    """The AsyncAPI document of every service's current event contracts."""
    registry = load_all()
    channels: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for service in SERVICES:
        for c in registry.by_service(service):
            if c.version != registry.latest[c.event_type]:
                continue
            key = f"{c.event_type}"
            messages[key] = {
                "name": c.event_type,
                "title": f"{c.event_type} (schema_version {c.version})",
                "summary": c.description,
                "contentType": "application/json",
                "payload": schema_of(c.schema),
            }
            channels[f"{service}.events/{c.event_type}"] = {
                "description": f"Exchange `{service}.events` (topic, durable), routing key "
                f"`{c.event_type}`.",
                "subscribe": {
                    "operationId": f"on{c.event_type}",
                    "message": {"$ref": f"#/components/messages/{key}"},
                },
                "bindings": {
                    "amqp": {
                        "is": "routingKey",
                        "exchange": {
                            "name": f"{service}.events",
                            "type": "topic",
                            "durable": True,
                            "autoDelete": False,
                        },
                    }
                },
            }
    return {
        "asyncapi": "2.6.0",
        "info": {
            "title": "Chuxiong talent-programme events",
            "version": "1",
            "description": ENVELOPE_DOC,
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "components": {"messages": messages},
    }


def render() -> str:
    header = "# Generated by `python -m shared.contracts.catalogue --write`: do not edit.\n"
    return header + yaml.safe_dump(document(), allow_unicode=True, sort_keys=False, width=100)


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
