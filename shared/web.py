"""The web layer: JSON HTTP entrypoints with authentication, authorisation, body parsing and
error mapping (a refusal is a 4xx JSON body naming the fields and the clause; never a stack
trace), each response tagged with the request's correlation id. A service's entrypoints use its
unit of work as ``self.uow``.

The HTTP server guards the workers (``http``, the entrypoint every service uses, and its
``GuardedWebServer``): a request's line, headers and body must arrive within
``HTTP_REQUEST_TIMEOUT_SECONDS`` or the connection is dropped; a body announced larger than
``HTTP_MAX_BODY_BYTES`` is answered 413 without being read (a chunked one, as soon as it passes
the limit); the body is read by the connection's own green thread, before any worker is taken;
and at most ``HTTP_MAX_WORKERS`` of the container's ``max_workers`` run HTTP requests at once (a
request that finds none free within the time limit gets 503), so event handlers, RPC and timers
always have the rest. Slow or hostile clients cost a green thread and a socket, never a worker.
"""

from __future__ import annotations

import functools
import io
import socket
import time
from collections.abc import Callable, Mapping
from typing import Any

import eventlet
import marshmallow
import orjson
from eventlet.semaphore import Semaphore
from nameko.web.handlers import HttpRequestHandler
from nameko.web.server import HttpOnlyProtocol, WebServer, WsgiApp
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Request, Response

from shared import bounds
from shared import logging as tlog
from shared import provenance as prov
from shared.auth import authenticate, authorize
from shared.db import CONNECTION_ERRORS
from shared.errors import AlreadyImported, InvalidInput, TalentError

log = tlog.get_logger(__name__)


# -- the guarded HTTP server ---------------------------------------------------------------------
class _RequestTimedOut(socket.timeout):
    """The request did not arrive within its time limit."""


class _DeadlineReader:
    """The connection's input, each read bounded by the request's deadline (all reads of one
    request together, not each: a client sending a byte a second gets nowhere)."""

    def __init__(self, raw: Any, protocol: _GuardedProtocol) -> None:
        self._raw, self._protocol = raw, protocol

    def _bounded(self, read: Callable[..., Any], *args: Any) -> Any:
        remaining = self._protocol.deadline - time.monotonic()
        if remaining <= 0:
            raise _RequestTimedOut("request not received within its time limit")
        with eventlet.Timeout(remaining, _RequestTimedOut("request not received in time")):
            return read(*args)

    def read(self, *args: Any) -> Any:
        return self._bounded(self._raw.read, *args)

    def readline(self, *args: Any) -> Any:
        return self._bounded(self._raw.readline, *args)

    def readinto(self, *args: Any) -> Any:
        return self._bounded(self._raw.readinto, *args)

    def readlines(self, *args: Any) -> Any:
        return self._bounded(self._raw.readlines, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._raw, name)


class _GuardedProtocol(HttpOnlyProtocol):
    """eventlet's HTTP protocol with a deadline per request: the request line, the headers and
    the body must all arrive within the server's ``request_timeout`` from the moment the server
    starts waiting for the request (an idle keep-alive connection is dropped after it too)."""

    deadline = 0.0

    def setup(self) -> None:
        super().setup()
        self.rfile = _DeadlineReader(self.rfile, self)  # type: ignore[assignment,has-type]

    def handle_one_request(self) -> None:
        self.deadline = time.monotonic() + self.server.request_timeout  # type: ignore[attr-defined]
        super().handle_one_request()

    def get_environ(self) -> dict[str, Any]:
        environ: dict[str, Any] = super().get_environ()
        environ["talent.protocol"] = self  # lets a refusal close the connection, body unread
        return environ


class GuardedWebServer(WebServer):
    """nameko's web server with a per-request time limit, a body size limit and a bound on the
    workers HTTP may hold (see the module's text). Limits from the container's configuration."""

    def setup(self) -> None:
        from shared.runtime.settings import Settings, _convert

        config = self.container.config
        defaults = {
            f.metadata.get("key"): f.default for f in Settings.__dataclass_fields__.values()
        }

        def limit(key: str, kind: type) -> Any:
            raw = config.get(key)
            return _convert(key, kind, defaults[key] if raw in (None, "") else raw)

        self.request_timeout = float(limit("HTTP_REQUEST_TIMEOUT_SECONDS", float))
        self.max_body = int(limit("HTTP_MAX_BODY_BYTES", int))
        workers = int(limit("HTTP_MAX_WORKERS", int))
        self.http_workers = max(1, min(workers, self.container.max_workers - 1))
        self.slots = Semaphore(self.http_workers)

    def get_wsgi_server(
        self, sock: Any, wsgi_app: Any, protocol: Any = None, debug: bool = False
    ) -> Any:
        server = super().get_wsgi_server(sock, wsgi_app, protocol=_GuardedProtocol, debug=debug)
        server.request_timeout = self.request_timeout
        # a client that stops reading its answer holds the socket no longer than this either
        server.socket_timeout = self.request_timeout
        return server

    def get_wsgi_app(self) -> WsgiApp:
        return _JsonRouting(self)


def _close_after(request: Request) -> None:
    """Close the connection after this answer, so the rest of the body is never read."""
    protocol = request.environ.get("talent.protocol")
    if protocol is not None:
        protocol.close_connection = 1


def _plain(status: int, code: str, message: str) -> Response:
    return Response(
        orjson.dumps({"code": code, "message": message}), status=status, mimetype="application/json"
    )


class GuardedHttpRequestHandler(HttpRequestHandler):  # type: ignore[misc]  # nameko is untyped
    """nameko's HTTP entrypoint on the guarded server: it reads the body (bounded in time and
    size) in the connection's green thread, then takes one of the HTTP workers if one frees
    within the time limit; unmatched paths and methods are answered in JSON. Every HTTP
    entrypoint of a service must use it (``http`` below): entrypoints on different server
    classes would each bind the port."""

    server = GuardedWebServer()

    def handle_request(self, request: Request) -> Response:
        server = self.server
        try:
            body = self._read_body(request, server.max_body)
        except _RequestTimedOut:
            _close_after(request)
            log.info("request_dropped_too_slow", path=request.path)
            return _plain(408, "request_timeout", "the request did not arrive in time")
        except _TooLarge:
            _close_after(request)
            log.info("request_refused_too_large", path=request.path)
            return _plain(
                413,
                "payload_too_large",
                f"the body is larger than {server.max_body} bytes",
            )
        except (OSError, ValueError) as exc:  # the client went away, or sent broken chunks
            _close_after(request)
            log.info("request_body_unreadable", path=request.path, error=repr(exc))
            return _plain(400, "bad_request", "the request body could not be read")
        request.environ["wsgi.input"] = io.BytesIO(body)
        request.environ["CONTENT_LENGTH"] = str(len(body))
        request.environ.pop("HTTP_TRANSFER_ENCODING", None)
        if not server.slots.acquire(timeout=server.request_timeout):
            log.warning("request_refused_busy", path=request.path)
            return _plain(503, "busy", "every HTTP worker is busy, retry later")
        try:
            return super().handle_request(request)
        finally:
            server.slots.release()

    @staticmethod
    def _read_body(request: Request, limit: int) -> bytes:
        environ = request.environ
        stream = environ["wsgi.input"]
        length = environ.get("CONTENT_LENGTH")
        if length:
            if int(length) > limit:
                raise _TooLarge
            return stream.read(int(length)) if int(length) else b""
        if "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
            # in pieces: one read of limit + 1 would wait for the chunk after the limit too
            data = bytearray()
            while len(data) <= limit:
                piece = stream.read(min(65536, limit + 1 - len(data)))
                if not piece:
                    return bytes(data)
                data += piece
            raise _TooLarge
        return b""


class _TooLarge(Exception):
    """The body is over the limit."""


http = GuardedHttpRequestHandler.decorator
"""The HTTP entrypoint of every service (``@http(method, url)``): nameko's, guarded."""


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


class _JsonRouting(WsgiApp):
    """nameko's WSGI application, with the router's own refusals (no rule matches the path, or
    not with this method) as the JSON error body every endpoint answers with, not HTML."""

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        adapter = self.url_map.bind_to_environ(environ)
        try:
            adapter.match()
        except HTTPException as exc:
            code = {404: "not_found", 405: "method_not_allowed"}.get(exc.code or 0, "error")
            path = environ.get("PATH_INFO", "")
            message = f"{exc.name.lower()}: {environ.get('REQUEST_METHOD', '')} {path}"
            response = json_response(
                exc.code or 400,
                {"code": code, "message": message},
                environ.get("HTTP_X_CORRELATION_ID"),
            )
            for name, value in exc.get_headers(environ):  # Allow, on a 405
                if name.lower() != "content-type":
                    response.headers[name] = value
            return response(environ, start_response)
        return super().__call__(environ, start_response)


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
    errors = bounds.check(data)
    if errors:
        raise InvalidInput("invalid input", fields=errors)
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
        version = int(value.strip('"'))
        if bounds.integer_problem(version):
            raise ValueError
        return version
    except ValueError:
        raise InvalidInput(
            "If-Match must be the stream version the caller last read",
            fields={"If-Match": ["Not a valid integer."]},
        ) from None


def query_int(request: Request, name: str, default: int | None = None) -> int | str | None:
    """Query argument ``name`` as an int when it is a run of at most 19 ASCII digits (within a
    bigint; ``"²".isdigit()`` holds and ``int()`` refuses it, and ``int()`` of thousands of digits
    raises); ``default`` when absent; else its text, for the caller's own check to refuse naming
    the argument."""
    text = request.args.get(name)
    if text is None:
        return default
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 19 else text


def _refuse_nul(request: Request, kwargs: Mapping[str, Any]) -> None:
    """PostgreSQL text and jsonb cannot hold NUL (U+0000): refuse it at the door, naming where
    it was, rather than fail in the database (a JSON body's escaped ``\\u0000`` included).
    Path segments and query arguments are held to ``shared.bounds`` too (integers a JSON reader
    holds, no control or bidirectional characters); the body is, once decoded (``parse_body``)."""
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
    errors = bounds.check(dict(kwargs)) or bounds.check(
        {name: value for name, value in request.args.items(multi=True)}
    )
    if errors:
        raise InvalidInput("a path segment or query argument is out of bounds", fields=errors)


_IMPORTED_SQL = (
    "SELECT event_type, stream_id, stream_version, global_position FROM events "
    f"WHERE {prov.STORED} ORDER BY global_position"
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


def _already_imported(uow: Any, done: list[dict[str, Any]]) -> Response:
    return json_response(200, {"already_imported": True, "events": done}, uow.correlation_id)


def endpoint(
    method: str, url: str, *, action: str | None = None, public: bool = False
) -> Callable[[Callable[..., Any]], Callable[..., Response]]:
    """A JSON HTTP entrypoint: authenticates the bearer token, checks ``action`` against the
    authorisation matrix, maps errors to 4xx JSON (never a stack trace) and tags the response with
    the correlation id. The handler returns a body (200) or ``(status, body)``.

    A request with an ``X-Talent-Provenance`` header (``shared/provenance.py``) records it in the
    metadata of the events it appends; if events with its key are stored already, the command is
    not run again and the answer (200) lists them: an import runs each row once, also when two
    imports of one file run at once (``UnitOfWork.run`` checks the key again under its lock)."""

    def decorator(fn: Callable[..., Any]) -> Callable[..., Response]:
        @functools.wraps(fn)
        def wrapper(self: Any, request: Request, **kwargs: Any) -> Response:
            uow = self.uow
            uow.correlation_id = request.headers.get("X-Correlation-ID") or uow.correlation_id
            tlog.bind(correlation_id=uow.correlation_id)
            try:
                if not public:
                    uow.act_as(
                        authenticate(uow.settings.auth_keys(), request.headers.get("Authorization"))
                    )
                    if action:
                        authorize(uow.principal, action)
                _refuse_nul(request, kwargs)
                stated = request.headers.get(prov.HEADER)
                if stated is not None and not public:
                    uow.provenance = prov.parse(stated, uow.principal.role)
                    done = _imported(uow, uow.provenance["key"])
                    if done:
                        return _already_imported(uow, done)
                result = fn(self, request, **kwargs)
                status, body = result if isinstance(result, tuple) else (200, result)
                return json_response(status, body, uow.correlation_id)
            except AlreadyImported as exc:  # an import of the same file ran at the same time
                return _already_imported(uow, _imported(uow, exc.key))
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
