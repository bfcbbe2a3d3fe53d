"""The committed event catalogue is what the contracts generate, and it describes the wire: the
whole message body (the relay's envelope with the payload), accepting what the contracts accept
and refusing what they refuse, nulls included. (The AsyncAPI parser's verdict on the document:
tests/integration/test_wire_catalogue.py.)"""

import datetime as dt
import functools
import re
import uuid

import jsonschema
import orjson
import pytest

from shared.contracts import catalogue, load_all
from shared.messaging.relay import amqp_properties, envelope
from shared.store.sealing import PERSONAL
from tests.unit.test_contracts import CONTRACTS, IDS, _wire, sample_payload, wire_variants

DOC = catalogue.document()
SCHEMAS = catalogue.message_schemas()
FORMATS = jsonschema.FormatChecker()
ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _row(contract, payload, metadata=None, position=7):
    """A row of the relay's batch query for ``payload``."""
    metadata = metadata or {
        "actor_id": "applicant:a1",
        "actor_role": "applicant",
        "correlation_id": "corr-1",
        "causation_id": None,
        "clauses": ["LT-9.1"],
        "policy_version": "2026.1",
    }
    return (
        position,
        str(uuid.uuid4()),
        "application",
        "application-1",
        3,
        contract.event_type,
        contract.version,
        orjson.dumps(payload).decode(),
        orjson.dumps(metadata).decode(),
        dt.datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=dt.UTC),
        metadata["correlation_id"],
    )


def _body(contract, payload, **kw):
    return orjson.loads(envelope(contract.service, _row(contract, payload, **kw)))


@functools.cache
def _validator(key):
    return jsonschema.Draft7Validator(SCHEMAS[key], format_checker=FORMATS)


def _errors(contract, body):
    validator = _validator((contract.event_type, contract.version))
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(body)
    ]


def test_committed_catalogue_is_current():
    assert catalogue.main(["--check"]) == 0, "run `make catalogue` and commit the result"


def test_every_contract_version_is_a_message_on_its_routing_key_channel():
    doc = catalogue.document()
    registry = load_all()
    assert doc["asyncapi"] == "3.0.0"
    assert doc["servers"]["broker"]["protocol"] == "amqp"
    messages = doc["components"]["messages"]
    assert set(messages) == {f"{t}.v{v}" for t, v in registry.contracts}
    for (event_type, version), contract in registry.contracts.items():
        channel = doc["channels"][f"{contract.service}.{event_type}"]
        assert channel["address"] == event_type  # the AMQP binding: address = routing key
        exchange = channel["bindings"]["amqp"]["exchange"]
        assert (exchange["name"], exchange["type"]) == (f"{contract.service}.events", "topic")
        assert f"{event_type}.v{version}" in channel["messages"]
        operation = doc["operations"][f"receive{event_type}"]
        assert operation["channel"] == {"$ref": f"#/channels/{contract.service}.{event_type}"}
    certified = messages["TalentCertified.v1"]["payload"]["properties"]["payload"]
    assert certified["properties"]["track"]["enum"] == ["influencer", "seller"]
    assert "talent_id" in certified["required"]


@pytest.mark.parametrize("contract", CONTRACTS, ids=IDS)
def test_a_published_message_validates_whole(contract):
    payload = _wire(contract.schema.dump(sample_payload(contract.schema)))
    body = _body(contract, payload)
    assert _errors(contract, body) == []
    headers = amqp_properties(contract.service, _row(contract, payload))["headers"]
    schema = DOC["components"]["messages"][f"{contract.event_type}.v{contract.version}"]
    jsonschema.validate(headers, schema["headers"])
    # the envelope is closed: an unknown key, or a key missing, is refused
    assert _errors(contract, {**body, "extra": 1})
    assert _errors(contract, {k: v for k, v in body.items() if k != "stream_version"})
    assert _errors(contract, {**body, "event_type": "Other"})


@pytest.mark.parametrize("contract", CONTRACTS, ids=IDS)
def test_the_catalogue_accepts_what_the_contract_accepts_on_the_wire(contract):
    """Hundreds of variants of each payload: the catalogue is never looser than the contract
    (what it accepts, the consuming services load) and refuses what the contract refuses. It is
    stricter only on values the services never publish: those marshmallow would convert (``0``
    or ``"true"`` for a boolean, a date in another ISO form than YYYY-MM-DD), so that loading
    and dumping the variant does not give it back. (JSON Schema cannot tell ``1.0`` from ``1``:
    that value is left out.)"""
    schema = contract.schema
    checked = 0
    for variant in wire_variants(schema):
        if any(isinstance(v, float) and v.is_integer() for v in _leaves(variant)):
            continue
        try:
            loaded = schema.load(variant)
        except Exception:  # noqa: BLE001 - marshmallow's ValidationError
            loaded = None
        errors = _errors(contract, _body(contract, variant))
        if loaded is None:
            assert errors, f"the catalogue accepts what the contract refuses: {variant}"
        elif errors:
            assert _json(schema.dump(loaded)) != _json(variant), (variant, errors)
        checked += 1
    assert checked > 20


def _json(value):
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS, default=str)


def _leaves(value):
    if isinstance(value, dict):
        for inner in value.values():
            yield from _leaves(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _leaves(inner)
    else:
        yield value


def test_nulls_the_services_publish_validate():
    registry = load_all()
    submitted = registry.contract("ApplicationSubmitted")
    payload = _wire(submitted.schema.dump(sample_payload(submitted.schema)))
    payload["form"]["applicant"]["party_joined_on"] = None
    payload["form"]["work_history"][0]["end"] = None
    assert _errors(submitted, _body(submitted, payload)) == []
    payload["form"]["applicant"]["name"] = None  # not nullable
    assert _errors(submitted, _body(submitted, payload))
    passed = registry.contract("AssessmentPassed")
    payload = _wire(passed.schema.dump(sample_payload(passed.schema)))
    payload["findings"] = None
    assert _errors(passed, _body(passed, payload)) == []


def test_sealed_fields_say_so_and_integer_ranges_are_declared():
    messages = DOC["components"]["messages"]
    for event_type, (_, paths) in PERSONAL.items():
        node = messages[f"{event_type}.v1"]["payload"]["properties"]["payload"]
        for path in paths:
            field = node
            for part in path.split("."):
                field = field["properties"][part]
            assert field["x-sealed"] is True and "enc1:" in field["description"], path
    quota = messages["RoundOpened.v1"]["payload"]["properties"]["payload"]["properties"]["quota"]
    assert (quota["minimum"], quota["maximum"]) == (1, 10)
