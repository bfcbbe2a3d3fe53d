"""Event contracts: a marshmallow schema for every event, registered by (type, version).

Every event a service stores goes through its schema on the way in (``encode``: dump then
validate, so a bad payload is refused before it is written) and on the way out (``decode``: load,
after upcasting an older ``schema_version`` step by step to the current one; stored rows are never
rewritten). The same registry generates the published event catalogue (``catalogue.py``).

Marshmallow is the authority on what a payload may be. Because every append and every replay goes
through it, each schema is also compiled into a fast path derived from its declared fields: it
handles the common field kinds and runs the fields' own validators, and on anything unusual (or any
doubt) it gives way to marshmallow itself, so errors and edge cases are always marshmallow's. There
are three: ``fast_dump`` (a payload being appended), ``fast_load`` (trusted JSON from our own store)
and ``fast_check`` (untrusted JSON from the broker: every value's JSON type, every validator, no
unknown or missing key; it accepts only what marshmallow's ``load`` accepts, and gives the same
result: ``tests/unit/test_contracts.py`` checks that on hundreds of variants of every contract).

Marshmallow's ``dump`` converts rather than refuses (``5.5`` or ``"5"`` for an Integer become ``5``,
``7`` for a String becomes ``"7"``, unknown keys of nested objects are dropped), and ``validate``
then sees only the converted data. So the slow path also loads what it would store and refuses,
naming the field, any value that would not be stored as given.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NoReturn, TypeVar

import marshmallow
from marshmallow import Schema, fields, validate  # noqa: F401  (re-exported for contract modules)

from shared.errors import InvalidInput, UnknownEventType

Payload = dict[str, Any]
Conv = Callable[[Any], Any]
"""A compiled field: one value in, its converted value out (or _Slow raised)."""
Decoder = Callable[[Any], Payload]
"""Stored or received JSON -> the payload (a compiled schema, marshmallow's load, ``dict``)."""
Upcast = Callable[[Payload], Payload]
"""A payload of one version -> the same payload at the next version."""
Errors = dict[Any, Any] | list[Any]
"""Marshmallow's shape of errors: a field's messages, or messages by field (or index)."""
SchemaT = TypeVar("SchemaT", bound=Schema)


class EventSchema(Schema):
    """Base for event payload schemas: unknown keys are refused, so contracts stay exact."""

    class Meta:
        unknown = marshmallow.RAISE
        ordered = True


SEALED_PREFIX = "enc1:"
"""How a sealed personal value begins (``shared/store/sealing.py``)."""
ERASED = "erased"
"""What a sealed value reads as once its person's key is deleted."""


class SealedDate(fields.Date):
    """A date that is a sealed personal field: given as a date (the writer's value, sealed after
    the contract checks it), stored and sent as the sealed string (``enc1:…``), read back opened
    (a date) or as ``"erased"``. Events recorded before the field was sealed hold the date in
    clear, and read as before. A sealed string passes through both ways; ``"erased"`` is read,
    never written."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        if _is_sealed_text(value):
            return value
        return super()._serialize(value, attr, obj, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if _is_sealed_text(value) or (type(value) is str and value == ERASED):
            return value
        return super()._deserialize(value, attr, data, **kwargs)


def _is_sealed_text(value: Any) -> bool:
    return type(value) is str and value.startswith(SEALED_PREFIX)


def _sealed_or_date(value: Any) -> Any:
    """Trusted stored JSON of a SealedDate: a sealed or erased string as it is, else the date."""
    if type(value) is str and (value.startswith(SEALED_PREFIX) or value == ERASED):
        return value
    return dt.date.fromisoformat(value)


def _check_sealed_or_date(value: Any) -> Any:
    if type(value) is str and (value.startswith(SEALED_PREFIX) or value == ERASED):
        return value
    return _iso_date(value)


class _Slow(Exception):
    """The fast path cannot vouch for this value: let marshmallow handle it."""


def _compile_dump(f: fields.Field[Any]) -> Conv:
    """Python value -> JSON value for field ``f`` (validators included), or raise _Slow."""
    validators = tuple(f.validators)
    conv: Conv
    if isinstance(f, fields.Nested):
        inner = _compile_schema_dump(f.schema)
        conv = (lambda v: [inner(x) for x in v]) if f.many else inner
    elif isinstance(f, fields.List):
        item = _compile_dump(f.inner)
        conv = lambda v: [item(x) for x in v] if isinstance(v, (list, tuple)) else _slow()  # noqa
    elif isinstance(f, fields.Dict):
        key = _compile_dump(f.key_field) if f.key_field else (lambda k: k)
        val = _compile_dump(f.value_field) if f.value_field else _slow
        conv = lambda v: {key(k): val(x) for k, x in v.items()} if isinstance(v, dict) else _slow()  # noqa
    elif type(f) in (fields.String, fields.Str):
        conv = lambda v: v if isinstance(v, str) else _slow()  # noqa
    elif type(f) in (fields.Integer, fields.Int):
        conv = lambda v: v if type(v) is int else _slow()  # noqa
    elif type(f) in (fields.Boolean, fields.Bool):
        conv = lambda v: v if type(v) is bool else _slow()  # noqa
    elif type(f) is fields.Date:
        conv = lambda v: v.isoformat() if type(v) is dt.date else _slow()  # noqa
    elif type(f) is SealedDate:
        conv = lambda v: (  # noqa: E731
            v.isoformat() if type(v) is dt.date else v if _is_sealed_text(v) else _slow()
        )
    else:
        return _slow
    allow_none = f.allow_none

    def dump(value: Any) -> Any:
        if value is None:
            return None if allow_none else _slow()
        out = conv(value)
        for validator in validators:
            try:
                validator(value)
            except marshmallow.ValidationError:
                _slow()
        return out

    return dump


def _compile_schema_dump(schema: Schema) -> Callable[[Any], Payload]:
    plan = [
        (name, f.data_key or name, f.required, _compile_dump(f))
        for name, f in schema.fields.items()
        if not f.load_only
    ]
    names = frozenset(schema.fields)

    def dump(obj: Any) -> Payload:
        if not isinstance(obj, dict) or not names.issuperset(obj):
            _slow()
        out = {}
        for name, key, required, conv in plan:
            if name in obj:
                out[key] = conv(obj[name])
            elif required:
                _slow()
        return out

    return dump


def _compile_load(f: fields.Field[Any]) -> Conv | None:
    """Trusted stored JSON -> Python value for ``f``; None where the JSON value is already it."""
    if isinstance(f, fields.Nested):
        inner = _compile_schema_load(f.schema)
        return (lambda v: [inner(x) for x in v]) if f.many else inner
    if isinstance(f, fields.List):
        item = _compile_load(f.inner)
        return item and (lambda v: [item(x) for x in v])
    if isinstance(f, fields.Dict):
        val = f.value_field and _compile_load(f.value_field)
        if f.key_field and _compile_load(f.key_field):
            raise _Slow
        # (val is None or a Conv: a field is never false)
        return val and (lambda v: {k: val(x) for k, x in v.items()})  # type: ignore[return-value]
    if type(f) in (
        fields.String,
        fields.Str,
        fields.Integer,
        fields.Int,
        fields.Boolean,
        fields.Bool,
        fields.Raw,
    ):
        return None
    if type(f) is fields.Date:
        return dt.date.fromisoformat
    if type(f) is SealedDate:
        return _sealed_or_date
    raise _Slow


def _compile_schema_load(schema: Schema) -> Decoder:
    plan = [
        (f.data_key or name, name, conv)
        for name, f in schema.fields.items()
        if not f.dump_only and (conv := _compile_load(f))
    ]
    renames = any(key != name for name, f in schema.fields.items() for key in [f.data_key or name])
    if renames:
        raise _Slow

    if not plan:
        return dict  # every field's JSON value is already its Python value: a copy will do

    def load(data: Any) -> Payload:
        out = dict(data)
        for key, name, conv in plan:
            value = out.get(key)
            if value is not None:
                out[name] = conv(value)
        return out

    return load


def _slow(*_: object) -> NoReturn:
    raise _Slow


def _same(value: Any) -> Any:
    return value


def _compile_check(f: Any) -> Conv:
    """Untrusted JSON value -> the Python value marshmallow's ``load`` gives for field ``f``
    (validators included), or raise _Slow: a value this does not vouch for goes to marshmallow,
    which decides (and words the error). Only exact field kinds whose load of a JSON value is an
    identity (or ``date.fromisoformat``, as marshmallow's) are compiled; anything else raises
    _Slow here, and the whole schema is left to marshmallow. (``f`` is a marshmallow field, typed
    Any: its kind is tested on ``type(f)``, which does not narrow ``f`` for mypy.)"""
    if (
        f.data_key is not None
        or f.attribute is not None
        or f.load_default is not marshmallow.missing
        or getattr(f, "pre_load", None)
        or getattr(f, "post_load", None)
    ):
        raise _Slow
    kind = type(f)
    conv: Conv
    if kind is fields.Nested:
        if f.unknown not in (None, marshmallow.RAISE):
            raise _Slow
        inner = _compile_schema_check(f.schema)
        conv = _each(inner) if f.many else inner
    elif kind is fields.List:
        conv = _each(_compile_check(f.inner))
    elif kind is fields.Dict:
        key = _compile_check(f.key_field) if f.key_field else _same
        val = _compile_check(f.value_field) if f.value_field else _same
        conv = lambda v: (
            {key(k): val(x) for k, x in v.items()}
            if type(v) is dict  # noqa
            else _slow()
        )
    elif kind is fields.String:
        conv = lambda v: v if type(v) is str else _slow()  # noqa: E731
    elif kind is fields.Integer:
        conv = lambda v: v if type(v) is int else _slow()  # noqa: E731 (bool is not int here)
    elif kind is fields.Boolean:
        if f.truthy != fields.Boolean.truthy or f.falsy != fields.Boolean.falsy:
            raise _Slow
        conv = lambda v: v if type(v) is bool else _slow()  # noqa: E731
    elif kind is fields.Date:
        if fields.Date.DESERIALIZATION_FUNCS.get(f.format or "iso") != dt.date.fromisoformat:
            raise _Slow
        conv = _iso_date
    elif kind is SealedDate:
        if SealedDate.DESERIALIZATION_FUNCS.get(f.format or "iso") != dt.date.fromisoformat:
            raise _Slow
        conv = _check_sealed_or_date
    elif kind is fields.Raw:
        conv = _same
    else:
        raise _Slow
    validators, allow_none = tuple(f.validators), f.allow_none

    def check(value: Any) -> Any:
        if value is None:
            return None if allow_none else _slow()
        out = conv(value)
        for validator in validators:
            try:
                if validator(out) is False:  # marshmallow refuses a plain function's False
                    _slow()
            except marshmallow.ValidationError:
                _slow()
        return out

    return check


def _each(item: Conv) -> Conv:
    return lambda v: [item(x) for x in v] if type(v) is list else _slow()


def _iso_date(value: Any) -> dt.date:
    if type(value) is not str:
        _slow()
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        _slow()


def _compile_schema_check(schema: Schema) -> Callable[[Any], Payload]:
    """Untrusted JSON object -> what ``schema.load`` returns, or raise _Slow (see
    ``_compile_check``): unknown keys, a missing required field or any field's doubt."""
    if (
        schema.unknown != marshmallow.RAISE
        or schema.many
        or schema.partial
        or any(schema._hooks.values())
    ):
        raise _Slow
    plan = [(name, f.required, _compile_check(f)) for name, f in schema.load_fields.items()]
    names = frozenset(schema.load_fields)

    def check(data: Any) -> Payload:
        if type(data) is not dict or not names.issuperset(data):
            _slow()
        out = {}
        for name, required, conv in plan:
            if name in data:
                out[name] = conv(data[name])
            elif required:
                _slow()
        return out

    return check


_MISSING = object()


def _invalid(f: fields.Field[Any]) -> list[Any]:
    messages = f.error_messages
    return [messages.get("invalid") or messages.get("type") or "Invalid value."]


def _each_mismatch(
    f: fields.Field[Any], check: Callable[[Any, Any], Errors | None], given: Any, stored: Any
) -> Errors | None:
    if (
        not isinstance(given, (list, tuple))
        or not isinstance(stored, list)
        or len(given) != len(stored)
    ):
        return _invalid(f)
    errors = {i: e for i, (g, s) in enumerate(zip(given, stored)) if (e := check(g, s))}
    return errors or None


def _mismatch(f: fields.Field[Any], given: Any, stored: Any) -> Errors | None:
    """Errors (marshmallow's shape) if ``given`` for field ``f`` would be stored as ``stored``
    (``dump`` then ``load``) rather than as given; None if it round-trips exactly."""
    if given is None or stored is None or stored is _MISSING:
        return None if given is None and stored is None else _invalid(f)
    if isinstance(f, fields.Nested):
        if f.many:
            return _each_mismatch(f, lambda g, s: _schema_mismatch(f.schema, g, s), given, stored)
        return _schema_mismatch(f.schema, given, stored)
    if isinstance(f, fields.List):
        return _each_mismatch(f, lambda g, s: _mismatch(f.inner, g, s), given, stored)
    if isinstance(f, fields.Dict):
        if (
            not isinstance(given, dict)
            or not isinstance(stored, dict)
            or given.keys() != stored.keys()
        ):
            return _invalid(f)
        if f.value_field is None:
            return None if given == stored else _invalid(f)
        errors = {
            k: {"value": e} for k in given if (e := _mismatch(f.value_field, given[k], stored[k]))
        }
        return errors or None
    if isinstance(f, fields.Boolean):
        same_kind = type(given) is bool
    elif isinstance(f, fields.Integer):
        same_kind = type(given) is int
    elif isinstance(f, SealedDate):
        same_kind = type(given) is dt.date or _is_sealed_text(given)
    elif isinstance(f, fields.Date):
        same_kind = type(given) is dt.date
    elif isinstance(f, fields.String):
        same_kind = isinstance(given, str)
    else:
        same_kind = type(given) is type(stored)
    return None if same_kind and given == stored else _invalid(f)


def _schema_mismatch(schema: Schema, given: Any, stored: Any) -> dict[str, Any] | None:
    if not isinstance(given, dict) or not isinstance(stored, dict):
        return {"_schema": ["Invalid input type."]}
    errors: dict[str, Any] = {}
    for name, value in given.items():
        f = schema.fields.get(name)
        if f is None:
            errors[name] = ["Unknown field."]
        elif not (f.load_only or f.dump_only):
            if error := _mismatch(f, value, stored.get(name, _MISSING)):
                errors[f.data_key or name] = error
    return errors or None


def _unserializable(schema: Schema, payload: Mapping[str, Any]) -> dict[str, Any]:
    """The fields marshmallow cannot even dump (it raises TypeError & co, not ValidationError)."""
    errors: dict[str, Any] = {}
    for name, f in schema.fields.items():
        if name in payload and not f.load_only:
            try:
                f.serialize(name, payload)
            except (TypeError, ValueError, AttributeError):
                errors[f.data_key or name] = _invalid(f)
    return errors or {"_schema": ["Invalid input."]}


@dataclass
class Contract:
    event_type: str
    version: int
    schema: Schema
    service: str
    description: str
    upcast: Upcast | None = None  # payload of this version -> payload of version + 1
    fast_dump: Callable[[Any], Payload] | None = None
    fast_load: Decoder | None = None
    fast_check: Callable[[Any], Payload] | None = None
    field_names: frozenset[str] = field(default=frozenset(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.field_names = frozenset(self.schema.fields)
        try:
            self.fast_dump = _compile_schema_dump(self.schema)
        except _Slow:
            self.fast_dump = None
        try:
            self.fast_load = _compile_schema_load(self.schema)
        except _Slow:
            self.fast_load = None
        try:
            self.fast_check = _compile_schema_check(self.schema)
        except _Slow:
            self.fast_check = None

    def dump(self, payload: Any) -> Payload:
        """Validated JSON-safe form of ``payload``, or InvalidInput naming the fields."""
        if isinstance(payload, dict) and not self.field_names.issuperset(payload):
            unknown = set(payload) - self.field_names
            raise InvalidInput(
                f"event {self.event_type} has fields outside its contract",
                fields={k: ["Unknown field."] for k in sorted(unknown)},
            )
        if self.fast_dump is not None:
            try:
                return self.fast_dump(payload)
            except _Slow:
                pass
        return self._dump_slowly(payload)

    def _dump_slowly(self, payload: Any) -> Payload:
        """Marshmallow's dump and validate, then refuse what would not be stored as given."""
        refused = f"event {self.event_type} does not match its contract"
        if not isinstance(payload, dict):
            raise InvalidInput(refused, fields={"_schema": ["Invalid input type."]})
        try:
            data = self.schema.dump(payload)
        except (TypeError, ValueError, AttributeError):
            raise InvalidInput(refused, fields=_unserializable(self.schema, payload)) from None
        errors: dict[str, Any] | None
        errors = self.schema.validate(data)
        if not errors:
            errors = _schema_mismatch(self.schema, payload, self.schema.load(data))
        if errors:
            raise InvalidInput(refused, fields=errors)
        return data

    def load(self, data: Any) -> Payload:
        if self.fast_load is not None:
            return self.fast_load(data)
        return self.schema.load(data)


@dataclass
class Registry:
    contracts: dict[tuple[str, int], Contract] = field(default_factory=dict)
    latest: dict[str, int] = field(default_factory=dict)  # type -> version
    # (type, version) -> callable(stored JSON) -> current payload; rebuilt after register()
    _decoders: dict[tuple[str, int], Decoder] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def register(
        self,
        service: str,
        schema_cls: type[SchemaT],
        *,
        version: int = 1,
        upcast: Upcast | None = None,
        name: str | None = None,
    ) -> type[SchemaT]:
        """Register ``schema_cls`` as event ``name`` (default: the class name minus 'Schema')."""
        event_type = name or schema_cls.__name__.removesuffix("Schema")
        key = (event_type, version)
        if key in self.contracts:
            raise ValueError(f"contract {event_type} v{version} registered twice")
        self.contracts[key] = Contract(
            event_type, version, schema_cls(), service, (schema_cls.__doc__ or "").strip(), upcast
        )
        self.latest[event_type] = max(version, self.latest.get(event_type, 0))
        self._decoders.clear()
        return schema_cls

    def contract(self, event_type: str, version: int | None = None) -> Contract:
        version = version or self.latest.get(event_type)
        try:  # (a version None finds nothing: UnknownEventType)
            return self.contracts[(event_type, version)]  # type: ignore[index]
        except KeyError:
            raise UnknownEventType(
                f"no contract for event {event_type} v{version}",
                details={"event_type": event_type, "version": version},
            ) from None

    def encode(self, event_type: str, payload: Any) -> tuple[int, Payload]:
        """Python payload -> JSON-safe dict of the current version; refuses what the schema does."""
        contract = self.contract(event_type)
        return contract.version, contract.dump(payload)

    def decode(self, event_type: str, version: int, data: Any, *, trusted: bool = True) -> Payload:
        """Stored JSON of any known version -> Python payload of the current version.
        ``trusted=False`` (data from the wire, not from our own store) validates it in full:
        through the compiled check (``_compile_schema_check``, ~9x faster than marshmallow on
        ApplicationSubmitted), which gives way to marshmallow on any doubt, so a refusal and its
        wording are always marshmallow's."""
        if trusted:
            return self.decoder(event_type, version)(data)
        upcasters: list[Upcast]
        contract = self._upcasts(event_type, version, upcasters := [])
        for upcast in upcasters:
            data = upcast(data)
        if contract.fast_check is not None:
            try:
                return contract.fast_check(data)
            except _Slow:
                pass
        return contract.schema.load(data)

    def _upcasts(self, event_type: str, version: int, upcasters: list[Upcast]) -> Contract:
        """The current contract of ``event_type``; ``upcasters`` gets the steps from ``version``."""
        contract = self.contract(event_type, version)
        while contract.version < self.latest[event_type]:
            if contract.upcast is None:
                raise UnknownEventType(f"no upcaster from {event_type} v{contract.version}")
            upcasters.append(contract.upcast)
            contract = self.contract(event_type, contract.version + 1)
        return contract

    def decoder(self, event_type: str, version: int) -> Decoder:
        """What ``decode`` applies to stored JSON of (``event_type``, ``version``): the upcasters
        up to the current version, then the current contract's ``load``. Built once per (type,
        version) until the next ``register``: replays call it for every event."""
        try:
            return self._decoders[(event_type, version)]
        except KeyError:
            pass
        upcasters: list[Upcast]
        contract = self._upcasts(event_type, version, upcasters := [])
        load = contract.load if contract.fast_load is None else contract.fast_load
        decode: Decoder
        if upcasters:

            def decode(
                data: Any, upcasters: tuple[Upcast, ...] = tuple(upcasters), load: Decoder = load
            ) -> Payload:
                for upcast in upcasters:
                    data = upcast(data)
                return load(data)
        else:
            decode = load
        self._decoders[(event_type, version)] = decode
        return decode

    def by_service(self, service: str) -> list[Contract]:
        return sorted(
            (c for c in self.contracts.values() if c.service == service),
            key=lambda c: (c.event_type, c.version),
        )


registry = Registry()


def load_all() -> Registry:
    """Import every contract module so the registry is complete."""
    from shared.contracts import applications, assessment, notifications, subsidies  # noqa: F401

    return registry
