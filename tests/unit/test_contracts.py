"""Every registered contract: the compiled fast path and marshmallow agree on valid payloads, and
invalid ones (wrong type, float, missing, out of range, not one of the choices, unknown key) are
refused by ``Contract.dump`` with InvalidInput naming the field. Samples are built from the
schemas' declared fields, so a new contract is covered without touching this file."""

import datetime as dt

import orjson
import pytest
from marshmallow import ValidationError, fields, validate

from shared.contracts import EventSchema, Registry, _Slow, load_all
from shared.errors import InvalidInput, UnknownEventType

REGISTRY = load_all()
CONTRACTS = sorted(REGISTRY.contracts.values(), key=lambda c: (c.event_type, c.version))
IDS = [f"{c.event_type}-v{c.version}" for c in CONTRACTS]


def _choices(f):
    return next((list(v.choices) for v in f.validators if isinstance(v, validate.OneOf)), None)


def _ranges(f):
    return [v for v in f.validators if isinstance(v, validate.Range)]


def sample_value(f):
    if (choices := _choices(f)) is not None:
        return choices[0]
    if isinstance(f, fields.Nested):
        one = sample_payload(f.schema)
        return [one] if f.many else one
    if isinstance(f, fields.List):
        return [sample_value(f.inner)]
    if isinstance(f, fields.Dict):
        return {"k": sample_value(f.value_field) if f.value_field else 1}
    if isinstance(f, fields.Date):
        return dt.date(2026, 1, 2)
    if isinstance(f, fields.Boolean):
        return True
    if isinstance(f, fields.Integer):
        lows = [r.min for r in _ranges(f) if r.min is not None]
        return max([1] + lows)
    if isinstance(f, fields.String):
        return "x"
    raise AssertionError(f"no sample for field kind {type(f).__name__}: extend this test")


def sample_payload(schema):
    return {name: sample_value(f) for name, f in schema.fields.items() if not f.dump_only}


def wrong_types(f):
    """Values of the wrong kind for ``f`` (marshmallow's dump would convert most of them)."""
    if isinstance(f, fields.Nested):
        return [1, "x"] if f.many else [1, "x", [sample_payload(f.schema)]]
    if isinstance(f, fields.List):
        return [1, {"k": 1}]
    if isinstance(f, fields.Dict):
        return (
            [["k"], "k", {"k": 1.5}, {"k": "1"}]
            if isinstance(f.value_field, fields.Integer)
            else [["k"]]
        )
    if isinstance(f, fields.Date):
        return ["2026-01-02", dt.datetime(2026, 1, 2, 3, 4), 20260102]
    if isinstance(f, fields.Boolean):
        return ["yes", 1]
    if isinstance(f, fields.Integer):
        return [1.5, 1.0, "1", True]
    if isinstance(f, fields.String):
        return [1, b"x", ["x"]]
    return []


def invalid_variants(schema, path=()):
    """(path to the bad field, payload) for every way each field can be wrong."""
    good = sample_payload(schema)
    for name, f in schema.fields.items():
        key = (f.data_key or name,)
        for bad in wrong_types(f):
            yield path + key, {**good, name: bad}
        if f.required:
            yield path + key, {k: v for k, v in good.items() if k != name}
        if not f.allow_none:
            yield path + key, {**good, name: None}
        if _choices(f) is not None:
            yield path + key, {**good, name: "not-one-of-the-choices"}
        for r in _ranges(f):
            if r.min is not None:
                yield path + key, {**good, name: r.min - 1}
            if r.max is not None:
                yield path + key, {**good, name: r.max + 1}
        if isinstance(f, fields.Nested):  # the same, one level down (first element if many)
            for inner_path, inner in invalid_variants(
                f.schema, path + key + ((0,) if f.many else ())
            ):
                yield inner_path, {**good, name: [inner] if f.many else inner}
            unknown = {**sample_payload(f.schema), "not_in_the_contract": 1}
            yield path + key, {**good, name: [unknown] if f.many else unknown}
    yield path + ("not_in_the_contract",), {**good, "not_in_the_contract": "x"}


def names(errors, path):
    """Does the error structure name ``path`` (or a prefix of it, down to the top field)?"""
    node = errors
    for depth, step in enumerate(path):
        if not isinstance(node, dict) or step not in node:
            return depth > 0
        node = node[step]
    return True


@pytest.mark.parametrize("contract", CONTRACTS, ids=IDS)
def test_fast_path_and_marshmallow_agree_on_a_valid_payload(contract):
    schema = contract.schema
    sample = sample_payload(schema)
    assert schema.validate(schema.dump(sample)) == {}, "the sample itself must be valid"

    dumped = contract.dump(sample)
    assert dumped == schema.dump(sample)
    loaded = contract.load(dumped)
    assert loaded == schema.load(dumped)
    assert loaded == sample  # and the round trip gives back what was given

    # The compiled paths themselves (Contract.dump falls back to marshmallow on doubt).
    assert contract.fast_dump is not None and contract.fast_load is not None
    assert contract.fast_dump(sample) == schema.dump(sample)
    assert contract.fast_load(dumped) == schema.load(dumped)
    assert (
        REGISTRY.decode(contract.event_type, contract.version, dumped) == loaded
        or contract.version < REGISTRY.latest[contract.event_type]
    )


@pytest.mark.parametrize("contract", CONTRACTS, ids=IDS)
def test_invalid_payloads_are_refused_naming_the_field(contract):
    checked = 0
    for path, bad in invalid_variants(contract.schema):
        with pytest.raises(InvalidInput) as refused:
            contract.dump(bad)
        assert names(refused.value.fields, path), (path, bad, refused.value.fields)
        checked += 1
    assert checked >= len(contract.schema.fields) * 2


def test_floats_are_refused_not_truncated():
    contract = REGISTRY.contract("SubsidyGranted")
    payload = dict(
        grant_id="g", talent_id="t", measure="LT-10.1", amount_fen=5_000_000, fiscal_year=2026
    )
    for amount in (5_000_000.5, 5_000_000.0):
        with pytest.raises(InvalidInput) as refused:
            contract.dump({**payload, "amount_fen": amount})
        assert refused.value.fields == {"amount_fen": ["Not a valid integer."]}


def test_a_payload_that_is_not_an_object_is_refused():
    contract = REGISTRY.contract("SubsidyGranted")
    for bad in (None, [], "x", 1):
        with pytest.raises(InvalidInput) as refused:
            contract.dump(bad)
        assert refused.value.fields == {"_schema": ["Invalid input type."]}


class _AmountV1Schema(EventSchema):
    grant_id = fields.String(required=True)
    amount_yuan = fields.Integer(required=True, strict=True)


class _AmountV2Schema(EventSchema):
    grant_id = fields.String(required=True)
    amount_fen = fields.Integer(required=True, strict=True)
    paid_on = fields.Date(required=True)


def test_decode_upcasts_step_by_step_and_register_refreshes_the_cached_decoder():
    registry = Registry()
    registry.register(
        "t",
        _AmountV1Schema,
        name="Amount",
        version=1,
        upcast=lambda d: {
            "grant_id": d["grant_id"],
            "amount_fen": d["amount_yuan"] * 100,
            "paid_on": "2026-01-02",
        },
    )
    v1 = {"grant_id": "g", "amount_yuan": 3}
    assert registry.decode("Amount", 1, v1) == v1  # v1 is current so far (and cached)
    registry.register("t", _AmountV2Schema, name="Amount", version=2)
    assert registry.decode("Amount", 1, v1) == {
        "grant_id": "g",
        "amount_fen": 300,
        "paid_on": dt.date(2026, 1, 2),
    }
    assert v1 == {"grant_id": "g", "amount_yuan": 3}  # the stored JSON is not modified
    assert (
        registry.encode(
            "Amount", {"grant_id": "g", "amount_fen": 1, "paid_on": dt.date(2026, 1, 2)}
        )[0]
        == 2
    )
    with pytest.raises(UnknownEventType):
        registry.decode("Amount", 3, {})
    with pytest.raises(ValueError):
        registry.register("t", _AmountV2Schema, name="Amount", version=2)


# -- the wire: payloads other services send, loaded by ``Registry.decode(trusted=False)`` ------
_WIRE_VALUES = [
    None,
    True,
    False,
    0,
    1,
    -1,
    2**63,
    1.0,
    1.5,
    "",
    "x",
    "1",
    "true",
    "2026-01-02",
    "20260102",
    "2026-W01-2",
    "2026-02-30",
    "2026-1-2",
    [],
    [1],
    ["x"],
    {},
    {"k": 1},
    {"k": "x"},
]


def _wire(value):
    """``value`` as it arrives from the broker: JSON decoded."""
    return orjson.loads(orjson.dumps(value))


def _paths(value, path=()):
    yield path
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _paths(inner, path + (key,))
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            yield from _paths(inner, path + (i,))


def _replaced(value, path, new):
    if not path:
        return new
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[path[0]] = _replaced(value[path[0]], path[1:], new)
    return copy


def _removed(value, path):
    if len(path) == 1:
        return (
            {k: v for k, v in value.items() if k != path[0]}
            if isinstance(value, dict)
            else [v for i, v in enumerate(value) if i != path[0]]
        )
    return _replaced(value, path[:1], _removed(value[path[0]], path[1:]))


def wire_variants(schema):
    """The valid payload's JSON with every value (at every depth) replaced by each of a pool of
    JSON values, the contract's own choices among them; every key removed; an unknown key added
    to every object."""
    good = _wire(schema.dump(sample_payload(schema)))
    choices = sorted({str(c) for f in _all_fields(schema) for c in (_choices(f) or ())})
    for path in _paths(good):
        for value in _WIRE_VALUES + choices:
            yield _replaced(good, path, value)
        if path:
            yield _removed(good, path)
        node = good
        for step in path:
            node = node[step]
        if isinstance(node, dict):
            yield _replaced(good, path, {**node, "not_in_the_contract": 1})


def _all_fields(schema):
    for f in schema.fields.values():
        yield f
        inner = f.inner if isinstance(f, fields.List) else f
        if isinstance(inner, fields.Nested):
            yield from _all_fields(inner.schema)
        elif isinstance(inner, fields.List | fields.Dict):
            yield from (
                x for x in (getattr(inner, "inner", None), getattr(inner, "value_field", None)) if x
            )


@pytest.mark.parametrize("contract", CONTRACTS, ids=IDS)
def test_the_wire_fast_path_accepts_only_what_marshmallow_accepts_and_loads_it_alike(contract):
    """``fast_check`` may give way to marshmallow (raise _Slow) on anything; what it accepts,
    marshmallow must accept too, with the same result."""
    schema, fast = contract.schema, contract.fast_check
    assert fast is not None, "every contract's wire load is compiled"
    good = _wire(schema.dump(sample_payload(schema)))
    assert fast(good) == schema.load(good)
    outcomes = {"fast": 0, "gave way": 0}
    for variant in wire_variants(schema):
        try:
            expected = schema.load(variant)
        except ValidationError:
            expected = _REFUSED
        try:
            got = fast(variant)
        except _Slow:
            outcomes["gave way"] += 1
            continue
        outcomes["fast"] += 1
        assert expected is not _REFUSED, (
            f"the fast path accepted what marshmallow refuses: {variant}"
        )
        assert got == expected and type(got) is type(expected), variant
    assert outcomes["fast"] and outcomes["gave way"], outcomes  # both sides were exercised


_REFUSED = object()


def test_a_wire_payload_the_fast_path_doubts_gets_marshmallows_error():
    contract = REGISTRY.contract("SubsidyGranted")
    payload = dict(
        grant_id="g", talent_id="t", measure="LT-10.1", amount_fen=5_000_000, fiscal_year=2026
    )
    assert REGISTRY.decode("SubsidyGranted", contract.version, payload, trusted=False) == payload
    for bad, message in (
        ({**payload, "amount_fen": 1.5}, "Not a valid integer."),
        ({**payload, "extra": 1}, "Unknown field."),
    ):
        with pytest.raises(ValidationError) as refused:
            REGISTRY.decode("SubsidyGranted", contract.version, bad, trusted=False)
        assert message in str(refused.value.messages)
