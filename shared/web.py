"""The web layer: JSON HTTP entrypoints with authentication, authorisation, body parsing and
error mapping (a refusal is a 4xx JSON body naming the fields and the clause; never a stack
trace), each response tagged with the request's correlation id. A service's entrypoints use its
unit of work as ``self.uow``."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

import marshmallow
import orjson
from nameko.web.handlers import http
from werkzeug.wrappers import Request, Response

from shared import logging as tlog
from shared import provenance as prov
from shared.auth import authenticate, authorize
from shared.db import CONNECTION_ERRORS
from shared.errors import InvalidInput, TalentError

log = tlog.get_logger(__name__)


def _json_default(value: object) -> list[Any] | str:
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    return str(value)  # Decimal, UUID


def json_response(status: int, body: Any, correlation_id: str | None = None) -> Response:
    headers = {"X-Correlation-ID": correlation_id} if correlation_id else {}
    # OPT_NON_STR_KEYS: marshmallow names a list item's errors by its (int) index
    return Response(
        orjson.dumps(body, default=_json_default, option=orjson.OPT_NON_STR_KEYS),
        status=status,
        mimetype="application/json",
        headers=headers,
    )


_SCHEMAS: dict[type[marshmallow.Schema], marshmallow.Schema] = {}


def _schema(schema: type[marshmallow.Schema] | marshmallow.Schema) -> marshmallow.Schema:
    """One instance per schema class, built once: building one (its fields deep-copied, its
    nested schemas instantiated) cost more than loading a whole application form with it. A
    marshmallow schema keeps no state between loads, so the instance is shared."""
    if not isinstance(schema, type):
        return schema
    instance = _SCHEMAS.get(schema)
    if instance is None:
        instance = _SCHEMAS[schema] = schema()
    return instance


def parse_body(
    request: Request, schema: type[marshmallow.Schema] | marshmallow.Schema
) -> dict[str, Any]:
    """The request's JSON body loaded through ``schema`` (a schema class, whose one shared
    instance is used, or an instance), or InvalidInput naming the fields."""
    schema = _schema(schema)
    try:
        data = orjson.loads(request.get_data() or b"{}")
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"body is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise InvalidInput("body must be a JSON object")
    try:
        return schema.load(data)
    except marshmallow.ValidationError as exc:
        raise InvalidInput("invalid input", fields=exc.messages) from exc  # type: ignore[arg-type]  # a schema's errors: a dict


def expected_version(request: Request) -> int | None:
    """The version a caller last saw, from ``If-Match`` (optimistic concurrency over HTTP)."""
    value = request.headers.get("If-Match")
    if value is None:
        return None
    try:
        return int(value.strip('"'))
    except ValueError:
        raise InvalidInput(
            "If-Match must be the stream version the caller last read",
            fields={"If-Match": ["Not a valid integer."]},
        ) from None


def _refuse_nul(request: Request, kwargs: Mapping[str, Any]) -> None:
    """PostgreSQL text and jsonb cannot hold NUL (U+0000): refuse it at the door, naming where
    it was, rather than fail in the database (a JSON body's escaped ``\\u0000`` included)."""
    bad = ["NUL characters (U+0000) are not accepted."]
    for name, value in kwargs.items():
        if isinstance(value, str) and "\x00" in value:
            raise InvalidInput(f"{name} holds a NUL character", fields={name: bad})
    for name, value in request.args.items(multi=True):
        if "\x00" in name or "\x00" in value:
            raise InvalidInput(
                "a query argument holds a NUL character",
                fields={name.replace("\x00", "") or "query": bad},
            )
    body = request.get_data()
    if b"\x00" in body or b"\\u0000" in body:
        raise InvalidInput("the body holds a NUL character", fields={"body": bad})


_IMPORTED_SQL = (
    "SELECT event_type, stream_id, stream_version, global_position FROM events "
    "WHERE metadata ? 'provenance' AND metadata->'provenance'->>'key' = %s "
    "ORDER BY global_position"
)


def _imported(uow: Any, key: str) -> list[dict[str, Any]]:
    """The events an imported command with this key already recorded (none: run it)."""
    return [
        {
            "type": row["event_type"],
            "stream_id": row["stream_id"],
            "stream_version": row["stream_version"],
            "position": row["global_position"],
        }
        for row in uow.query(_IMPORTED_SQL, (key,))
    ]


def endpoint(
    method: str, url: str, *, action: str | None = None, public: bool = False
) -> Callable[[Callable[..., Any]], Callable[..., Response]]:
    """A JSON HTTP entrypoint: authenticates the bearer token, checks ``action`` against the
    authorisation matrix, maps errors to 4xx JSON (never a stack trace) and tags the response with
    the correlation id. The handler returns a body (200) or ``(status, body)``.

    A request with an ``X-Talent-Provenance`` header (``shared/provenance.py``) records it in the
    metadata of the events it appends; if events with its key are stored already, the command is
    not run again and the answer (200) lists them: an import runs each row once."""

    def decorator(fn: Callable[..., Any]) -> Callable[..., Response]:
        @functools.wraps(fn)
        def wrapper(self: Any, request: Request, **kwargs: Any) -> Response:
            uow = self.uow
            uow.correlation_id = request.headers.get("X-Correlation-ID") or uow.correlation_id
            tlog.bind(correlation_id=uow.correlation_id)
            try:
                if not public:
                    uow.act_as(
                        authenticate(uow.settings.auth_secret, request.headers.get("Authorization"))
                    )
                    if action:
                        authorize(uow.principal, action)
                _refuse_nul(request, kwargs)
                stated = request.headers.get(prov.HEADER)
                if stated is not None and not public:
                    uow.provenance = prov.parse(stated, uow.principal.role)
                    done = _imported(uow, uow.provenance["key"])
                    if done:
                        return json_response(
                            200, {"already_imported": True, "events": done}, uow.correlation_id
                        )
                result = fn(self, request, **kwargs)
                status, body = result if isinstance(result, tuple) else (200, result)
                return json_response(status, body, uow.correlation_id)
            except TalentError as exc:
                log.info(
                    "request_refused",
                    path=request.path,
                    code=exc.code,
                    clause=exc.clause,
                    status=exc.http_status,
                )
                return json_response(exc.http_status, exc.to_dict(), uow.correlation_id)
            except CONNECTION_ERRORS:
                log.exception("request_failed_database", path=request.path)
                return json_response(
                    503,
                    {"code": "unavailable", "message": "database unavailable, retry later"},
                    uow.correlation_id,
                )
            except Exception:  # noqa: BLE001 - a bug: log it, show no internals
                log.exception("request_failed", path=request.path)
                return json_response(
                    500,
                    {
                        "code": "internal_error",
                        "message": "internal error",
                        "correlation_id": uow.correlation_id,
                    },
                    uow.correlation_id,
                )

        return http(method, url)(wrapper)

    return decorator
