"""The OpenAPI 3.1 description of a service's HTTP interface, served at ``/openapi.json``.

The list of operations comes from the service class itself: every nameko ``@http`` entrypoint
(``@endpoint`` and the plain ones), with its method, URL rule, permission (``action``) and
whether it is public. What each one takes and returns is written beside the service, in its
``api.py``: a dict ``OPERATIONS`` from the entrypoint's method name to an ``Operation`` naming
the marshmallow schemas of its body and query and the shape of its answer. The document is
generated from those schemas by apispec's marshmallow plugin; an entrypoint without an
``Operation`` (or an ``Operation`` without an entrypoint) is an error, found by
``tests/unit/test_openapi.py`` and by the first request for the document.

Every JSON endpoint answers a refusal with the same error body (``shared.errors``): ``code``,
``message`` and, where they apply, ``clause`` (the rule that refused), ``fields`` (field ->
messages), ``details``; a 500 carries ``correlation_id`` instead. Every answer carries the
request's ``X-Correlation-ID``.
"""

from __future__ import annotations

import inspect
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import marshmallow
from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import Schema, fields
from nameko.web.handlers import HttpRequestHandler

from shared.auth import PERMISSIONS
from shared.messaging.relay import CATCH_UP_DEFAULT_LIMIT, CATCH_UP_MAX_LIMIT

OPENAPI_VERSION = "3.1.0"
API_VERSION = "1"

SchemaLike = type[Schema] | Schema


# -- the shapes every service shares -----------------------------------------------------------
class Error(Schema):
    """A refusal (4xx) or a failure (5xx): never a stack trace."""

    class Meta:
        unknown = marshmallow.INCLUDE

    code = fields.String(
        required=True,
        metadata={
            "description": "what kind of refusal",
            "examples": ["invalid_input", "rule_violation", "not_found", "conflict"],
        },
    )
    message = fields.String(required=True, metadata={"description": "for a person"})
    clause = fields.String(metadata={"description": "the policy clause that refused (e.g. LT-6.3)"})
    fields_ = fields.Dict(
        data_key="fields",
        metadata={"description": "field (or query argument, header) -> what is wrong with it"},
    )
    details = fields.Dict(metadata={"description": "facts of the refusal (e.g. versions)"})
    correlation_id = fields.String(metadata={"description": "on a 500: quote it to operators"})


class RecordedEvent(Schema):
    class Meta:
        unknown = marshmallow.INCLUDE

    type = fields.String(required=True, metadata={"description": "the event type"})
    stream_id = fields.String()
    clauses = fields.List(fields.String(), metadata={"description": "the clauses it applied"})
    payload = fields.Dict(required=True, metadata={"description": "as its contract says"})


class Recorded(Schema):
    """The answer to a command: the stream's version after it and the events it recorded."""

    class Meta:
        unknown = marshmallow.INCLUDE

    version = fields.Integer(
        allow_none=True,
        metadata={"description": "the stream's version now: send it as If-Match next time"},
    )
    events = fields.List(fields.Nested(RecordedEvent), required=True)


ERROR_EXAMPLES: dict[int, dict[str, Any]] = {
    400: {
        "code": "invalid_input",
        "message": "invalid input",
        "fields": {"quota": ["Missing data for required field."]},
    },
    401: {"code": "unauthenticated", "message": "token expired"},
    403: {"code": "forbidden", "message": "role county_officer may not round.open"},
    404: {"code": "not_found", "message": "no application 1f0c…"},
    409: {
        "code": "conflict",
        "message": "stream application-1f0c… is not at expected version 3 (it is at 4)",
        "details": {"stream_id": "application-1f0c…", "expected_version": 3, "actual_version": 4},
    },
    422: {
        "code": "rule_violation",
        "message": "the applicant is over the age limit",
        "clause": "LT-6.3",
    },
    503: {"code": "unavailable", "message": "database unavailable, retry later"},
}
RECORDED_EXAMPLE: dict[str, Any] = {
    "version": 3,
    "events": [
        {
            "type": "ReviewPassed",
            "clauses": ["LT-9.2"],
            "payload": {
                "application_id": "1f0c6a52-6a8e-4b53-9a43-2f1c0f1b7d21",
                "stage": "qualification_review",
                "decided_on": "2026-04-10",
            },
        }
    ],
}
"""What a command answers (``Recorded``), for the description's examples."""

ERROR_MEANINGS = {
    400: "the input does not match the schema: `fields` names each field and why",
    401: "no, an expired or a forged token",
    403: "the token's role (or county) may not do this",
    404: "no such resource",
    409: "If-Match names a version the stream has moved past",
    422: "well formed, but a rule refuses it: `clause` names the rule",
    503: "the database cannot be reached: retry later",
}


class _Open(Schema):
    class Meta:
        unknown = marshmallow.INCLUDE


def page(schema_name: str, /, **shape: fields.Field) -> type[Schema]:
    """A named response shape from its top-level fields (more fields may come)."""
    return type(schema_name, (_Open,), dict(shape))


# -- what each entrypoint takes and answers ------------------------------------------------------
@dataclass(frozen=True)
class Operation:
    """One HTTP operation beside its service: ``body`` and ``query`` are the marshmallow
    schemas its input is loaded with (``path``: of the URL's parameters, where one checks them); ``response`` the shape of its 2xx body (``None``: any JSON
    object); ``content_type`` of its 2xx answer (JSON unless it is a page or metrics)."""

    summary: str
    body: SchemaLike | None = None
    query: SchemaLike | None = None
    path: SchemaLike | None = None
    response: SchemaLike | None = None
    status: int = 200
    description: str = ""
    example: Mapping[str, Any] | None = None
    response_example: Mapping[str, Any] | None = None
    if_match: bool = False
    content_type: str = "application/json"
    errors: Sequence[int] = ()
    extra_statuses: Sequence[int] = ()
    tags: Sequence[str] = field(default_factory=tuple)


@dataclass(frozen=True)
class Route:
    """An HTTP entrypoint as the service class declares it."""

    name: str
    method: str
    url: str
    action: str | None
    public: bool
    json: bool  # an ``@endpoint`` (JSON, errors as ``Error``) rather than a plain ``@http``


def routes(service: type) -> list[Route]:
    """Every nameko ``@http`` entrypoint of ``service`` (inherited ones included)."""
    found = []
    for name, member in inspect.getmembers(service, inspect.isfunction):
        for entrypoint in getattr(member, "nameko_entrypoints", ()):
            if not isinstance(entrypoint, HttpRequestHandler):
                continue
            closure = inspect.getclosurevars(member).nonlocals
            is_endpoint = "public" in closure and "fn" in closure
            for method in entrypoint.method.split(","):
                found.append(
                    Route(
                        name=name,
                        method=method.strip().upper(),
                        url=entrypoint.url,
                        action=closure.get("action") if is_endpoint else None,
                        public=bool(closure.get("public", True)) if is_endpoint else True,
                        json=is_endpoint,
                    )
                )
    return sorted(found, key=lambda r: (r.url, r.method))


_PARAM = re.compile(r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>")
_TYPES: dict[str, dict[str, Any]] = {
    "int": {"type": "integer", "minimum": 0},
    "path": {"type": "string"},
}


def openapi_path(url: str) -> tuple[str, list[dict[str, Any]]]:
    """A werkzeug URL rule as an OpenAPI path and its path parameters."""
    parameters = [
        {
            "name": m["name"],
            "in": "path",
            "required": True,
            "schema": dict(_TYPES.get(m["converter"] or "", {"type": "string", "minLength": 1})),
        }
        for m in _PARAM.finditer(url)
    ]
    return _PARAM.sub(lambda m: "{" + m["name"] + "}", url), parameters


def missing(service: type) -> tuple[list[str], list[str]]:
    """(entrypoints without an Operation, Operations without an entrypoint)."""
    operations = operations_of(service)
    names = {r.name for r in routes(service)}
    return sorted(names - set(operations)), sorted(set(operations) - names)


def _permission(route: Route) -> str:
    if route.public:
        return "Public: no token."
    if route.action is None:
        return "Needs a token; who may depends on the body (see the description)."
    roles = ", ".join(sorted(PERMISSIONS.get(route.action, ())))
    return f"Needs a token with permission `{route.action}` (roles: {roles})."


def _errors(route: Route, op: Operation) -> list[int]:
    if op.errors:
        return sorted(set(op.errors))
    codes = {400, 503}
    if not route.public:
        codes |= {401, 403}
    if op.body is not None or op.query is not None or "<" in route.url:
        codes |= {404, 422}
    if op.if_match or (op.body is not None and route.method != "GET"):
        codes |= {409, 422}
    return sorted(codes)


def operations_of(service: type) -> dict[str, Operation]:
    """The Operations of ``service``: those every service has and its ``operations`` (its
    ``api.OPERATIONS``)."""
    own: Mapping[str, Operation] = getattr(service, "operations", {})
    return {**BASE_OPERATIONS, **own}


_DOCUMENTS: dict[type, dict[str, Any]] = {}


def document(service: type) -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``service`` (built once per class)."""
    if service not in _DOCUMENTS:
        _DOCUMENTS[service] = _build(service)
    return _DOCUMENTS[service]


def _build(service: type) -> dict[str, Any]:
    operations = operations_of(service)
    unknown, stale = missing(service)
    if unknown or stale:
        raise LookupError(
            f"{service.__name__}: entrypoints without an Operation {unknown}, "
            f"Operations without an entrypoint {stale}"
        )
    name = service.name  # type: ignore[attr-defined]  # every nameko service has one
    spec = APISpec(
        title=f"Chuxiong talent programmes: {name}",
        version=API_VERSION,
        openapi_version=OPENAPI_VERSION,
        plugins=[MarshmallowPlugin()],
        info={"description": _about(service)},
    )
    spec.components.security_scheme(
        "bearer", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    )
    spec.components.schema("Error", schema=Error)
    paths: dict[str, dict[str, Any]] = {}
    for route in routes(service):
        op = operations[route.name]
        path, parameters = openapi_path(route.url)
        paths.setdefault(path, {})[route.method.lower()] = _operation(route, op, parameters)
    for path, ops in paths.items():
        spec.path(path=path, operations=ops)
    return spec.to_dict()


def _about(service: type) -> str:
    """The service's own account of itself (its module's first paragraph), then the rules every
    operation shares."""
    module = sys.modules.get(service.__module__)
    own = ((module.__doc__ if module else None) or service.__doc__ or "").strip()
    return (
        own.split("\n\n")[0].replace("\n", " ")
        + "\n\nTokens: `Authorization: Bearer <JWT>` (HS256; claims `sub`, `role`, `county`, "
        "`exp`). Every refusal is an `Error` body naming the fields and the clause; every answer "
        "carries `X-Correlation-ID`. Commands on a stream take `If-Match: <version>`."
    )


_CORRELATION = {
    "X-Correlation-ID": {
        "description": "the request's correlation id (from the request's own header, or new)",
        "schema": {"type": "string"},
    }
}


def _operation(route: Route, op: Operation, parameters: list[dict[str, Any]]) -> dict[str, Any]:
    body: dict[str, Any] = {
        "operationId": route.name,
        "summary": op.summary,
        "description": "\n\n".join(p for p in (op.description, _permission(route)) if p),
        "tags": list(op.tags) or [route.url.strip("/").split("/")[0] or "service"],
        "security": [] if route.public else [{"bearer": []}],
    }
    if op.path is not None:
        parameters = [{"in": "path", "schema": op.path}]
    parameters = list(parameters)
    if op.query is not None:
        parameters.append({"in": "query", "schema": op.query})
    if op.if_match or (op.body is not None and route.method in ("POST", "PUT")):
        parameters.append(
            {
                "name": "If-Match",
                "in": "header",
                "required": False,
                "description": "the stream version last read: 409 if it moved on",
                "schema": {"type": "string", "pattern": r'^"?[0-9]{1,9}"?$'},
            }
        )
    if parameters:
        body["parameters"] = parameters
    if op.body is not None:
        content: dict[str, Any] = {"schema": op.body}
        if op.example is not None:
            content["example"] = dict(op.example)
        body["requestBody"] = {"required": True, "content": {"application/json": content}}
    ok: dict[str, Any] = {"description": op.summary, "headers": dict(_CORRELATION)}
    if op.content_type == "application/json":
        media: dict[str, Any] = {"schema": op.response or {"type": "object"}}
        example = op.response_example or (RECORDED_EXAMPLE if op.response is Recorded else None)
        if example is not None:
            media["example"] = dict(example)
        ok["content"] = {"application/json": media}
    else:
        ok["content"] = {op.content_type: {"schema": {"type": "string"}}}
    responses: dict[str, Any] = {str(op.status): ok}
    for extra in op.extra_statuses:
        responses[str(extra)] = ok
    for status in _errors(route, op) if route.json else ():
        responses[str(status)] = {
            "description": ERROR_MEANINGS.get(status, "refused"),
            "headers": dict(_CORRELATION),
            "content": {"application/json": {"schema": "Error", "example": ERROR_EXAMPLES[status]}},
        }
    if not route.json and op.errors:
        for status in op.errors:
            responses[str(status)] = {
                "description": ERROR_MEANINGS.get(status, "refused"),
                "content": {"text/plain": {"schema": {"type": "string"}}},
            }
    body["responses"] = responses
    return body


# -- the operations every service has (shared/runtime/base.py) ---------------------------------
Health = page("Health", status=fields.String(required=True), service=fields.String())
Ready = page(
    "Ready",
    status=fields.String(required=True, metadata={"enum": ["ok", "unavailable"]}),
    checks=fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        metadata={"description": "database, broker, consumers: ok or why not; relay: leader"},
    ),
)
DeadLetters = page("DeadLetters", dead_letters=fields.List(fields.Dict(), required=True))
ParkedEvents = page("ParkedEvents", parked_events=fields.List(fields.Dict(), required=True))
EventsQuery = Schema.from_dict(
    {
        "after": fields.Integer(
            load_default=0,
            validate=marshmallow.validate.Range(min=0, max=2**53 - 1),
            metadata={"description": "the position after which events are returned"},
        ),
        "limit": fields.Integer(
            load_default=CATCH_UP_DEFAULT_LIMIT,
            validate=marshmallow.validate.Range(min=1, max=CATCH_UP_MAX_LIMIT),
        ),
    },
    name="EventsQuery",
)
EventsPage = page(
    "EventsPage",
    source=fields.String(required=True),
    after=fields.Integer(required=True),
    limit=fields.Integer(required=True),
    next_after=fields.Integer(
        required=True, metadata={"description": "``after`` of the next page"}
    ),
    head=fields.Integer(required=True, metadata={"description": "the newest position when read"}),
    more=fields.Boolean(required=True),
    events=fields.List(
        fields.Dict(),
        required=True,
        metadata={"description": "each the envelope the relay publishes (the AsyncAPI catalogue)"},
    ),
)

BASE_OPERATIONS: dict[str, Operation] = {
    "health_live": Operation("The process answers", response=Health, tags=("health",)),
    "health_ready": Operation(
        "Ready to serve: database, broker and consumers",
        response=Ready,
        extra_statuses=(503,),
        description="503 with the same body while one of the checks is not ok.",
        errors=(400,),
        tags=("health",),
    ),
    "prometheus_metrics": Operation(
        "Prometheus metrics of this process",
        content_type="text/plain",
        tags=("health",),
    ),
    "openapi_document": Operation(
        "This description (OpenAPI 3.1)", tags=("health",), errors=(400,)
    ),
    "events_feed": Operation(
        "The catch-up feed: stored events after a position, as published",
        query=EventsQuery,
        response=EventsPage,
        errors=(400, 401, 403),
        tags=("events",),
    ),
    "dead_letters": Operation(
        "Events a handler gave up on", response=DeadLetters, tags=("dead-letters",)
    ),
    "parked_events": Operation(
        "Consumed events waiting for an earlier event they depend on",
        response=ParkedEvents,
        tags=("dead-letters",),
    ),
    "redrive_dead_letter": Operation(
        "Run a dead-lettered event through its handler again",
        tags=("dead-letters",),
        errors=(400, 401, 403, 404, 409, 422, 503),
    ),
}
