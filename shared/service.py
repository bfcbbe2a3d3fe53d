"""What every Nameko service of the backend shares: the event-store dependency (with its relay),
the inbox-guarded event subscription, JSON HTTP endpoints with authentication and error mapping,
and health checks. Service modules stay thin: validate, authorise, load, decide, append.

Conventions: a service declares ``store = EventStoreProvider(projectors=[...])`` and inherits
``ServiceBase``; ``@subscribe`` and ``@endpoint`` use ``self.store``.
"""
import functools
import gc
import uuid

import kombu
import orjson
import psycopg2
from nameko.extensions import DependencyProvider
from nameko.events import EventHandler
from nameko.messaging import QueueConsumer
from nameko.rpc import Rpc, RpcConsumer
from nameko.web.handlers import http
from werkzeug.wrappers import Response

from shared import logging as tlog
from shared import migrations
from shared import metrics
from shared.auth import authenticate, authorize
from shared.clock import SHANGHAI, Clock  # noqa: F401  (services import SHANGHAI from here)
from shared.contracts import load_all
from shared.db import CONNECTION_ERRORS, Database
from shared.errors import ConcurrencyConflict, InvalidInput, NotFound, TalentError
from shared.eventstore import EventStore, Metadata
from shared.inbox import Inbox
from shared.relay import Relay

log = tlog.get_logger(__name__)



class EventStoreProvider(DependencyProvider):
    """Owns the service's database pool, event store, inbox and relay. Injects a ``Session``."""

    def __init__(self, projectors=()):
        self.projectors = list(projectors)

    def setup(self):
        config = self.container.config
        self.service = self.container.service_name
        tlog.configure(self.service)
        self.config = config
        # migrations run as the owner (DB_DSN); the service works as DB_ROLE, which cannot
        # UPDATE, DELETE or TRUNCATE the events (shared/migrations.py)
        owner = Database(config["DB_DSN"], application_name=f"{self.service}-migrate",
                         max_size=1)
        dsn = config["DB_DSN"]
        try:
            EventStore(owner, self.service, projectors=self.projectors,
                       registry=load_all()).migrate()
            Inbox(owner, self.service, None).migrate()
            if config.get("DB_ROLE"):
                migrations.grant_service_role(owner, config["DB_ROLE"])
                dsn = migrations.runtime_dsn(dsn, config["DB_ROLE"],
                                             config.get("DB_ROLE_PASSWORD") or None)
        finally:
            owner.close()
        self.db = Database(dsn, application_name=self.service,
                           max_size=int(config.get("DB_POOL_SIZE", 10)))
        self.store = EventStore(self.db, self.service, projectors=self.projectors,
                                registry=load_all())
        self.inbox = Inbox(self.db, self.service, self.store.registry)
        self.clock = Clock()
        self.relay = None
        if str(config.get("RELAY_ENABLED", "true")).lower() != "false":
            coalesce = config.get("RELAY_COALESCE_SECONDS")
            self.relay = Relay(dsn, config["AMQP_URI"], self.service,
                               **({"coalesce": float(coalesce)} if coalesce else {}))

    def start(self):
        # Everything built until now (modules, schemas, contracts: ~90,000 objects) lives as
        # long as the process: out of the collector's sight, a full collection under load
        # paused the service for ~8 ms instead of 30-50 ms.
        gc.freeze()
        if self.relay:
            self.container.spawn_managed_thread(self.relay.run)

    def stop(self):
        if self.relay:
            self.relay.stop()
        self.db.close()

    def kill(self):
        self.stop()

    def get_dependency(self, worker_ctx):
        return Session(self, worker_ctx)

    def worker_setup(self, worker_ctx):
        tlog.clear()
        tlog.bind(correlation_id=worker_ctx.context_data.get("correlation_id")
                  or worker_ctx.call_id)

    def worker_teardown(self, worker_ctx):
        tlog.clear()


class Session:
    """One worker's view of the store: who is acting, under which correlation, and the one way to
    run a command (load the stream, fold, decide, append)."""

    def __init__(self, provider, worker_ctx):
        self.provider = provider
        self.store = provider.store
        self.db = provider.db
        self.config = provider.config
        self.clock = provider.clock
        self.service = provider.service
        self.principal = None
        self.actor_id = f"service:{provider.service}"
        self.actor_role = "system"
        self.correlation_id = (worker_ctx.context_data.get("correlation_id")
                               or str(uuid.uuid4()))
        self.causation_id = None

    def act_as(self, principal):
        self.principal = principal
        self.actor_id, self.actor_role = principal.actor_id, principal.role

    def metadata(self, policy_version):
        return Metadata(self.actor_id, self.actor_role, self.correlation_id, self.causation_id,
                        policy_version)

    def context(self, **extra):
        return {"now": self.clock.now(), "today": self.clock.today(), **extra}

    def execute(self, decider, stream_id, command, *, context=None, expected_version=None,
                cur=None, commit=False, new_stream=False):
        """Run ``command`` against stream ``stream_id``: the recorded events (maybe none).
        ``expected_version`` (e.g. from the caller's If-Match) refuses a stale command.
        ``commit``: this is the last statement of ``cur``'s explicit transaction (see
        ``EventStore.append``). Without ``cur``: the stream is read outside any transaction (the
        expected-version check covers what changes after) and the append is a transaction of
        its own. ``new_stream``: the stream cannot exist yet (its id is made from something
        unique, e.g. an inbox-guarded event's id), so it is not read; if it did exist, the append
        would be refused as a conflict."""
        if cur is None:
            with self.db.explicit_transaction() as cur:
                return self.execute(decider, stream_id, command, context=context,
                                    expected_version=expected_version, cur=cur, commit=True,
                                    new_stream=new_stream)
        history = [] if new_stream else self.store.read_stream(stream_id, cur=cur)
        version = history[-1].stream_version if history else 0
        if expected_version is not None and expected_version != version:
            raise ConcurrencyConflict(stream_id, expected_version, version)
        events = decider.decide(command, decider.replay(history),
                                context if context is not None else self.context())
        return self.store.append(decider.stream_type, stream_id, version, events,
                                 self.metadata(decider.policy_version), cur=cur, commit=commit)

    def load(self, decider, stream_id, cur=None):
        """(state, version) of a stream, or NotFound."""
        history = self.store.read_stream(stream_id, cur=cur)
        if not history:
            raise NotFound(f"{decider.stream_type} {stream_id} not found")
        return decider.replay(history), history[-1].stream_version

    def query(self, sql, args=(), one=False):
        """Read models: rows as dicts."""
        with self.db.transaction(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
            cur.execute(sql, args)
            return cur.fetchone() if one else cur.fetchall()


class _SafeAcks(QueueConsumer):
    """The queue consumer of every entrypoint fed by the broker (events and RPC)."""

    # nameko swallows amqp's ConnectionError when it acks on a connection that has gone, but not
    # the socket's own (ConnectionResetError, BrokenPipeError: the broker restarting while a
    # worker finishes): that error kills the container, so the service would die with its broker.
    # The unacked message is redelivered once the consumer has reconnected: the inbox drops an
    # event as a duplicate (tests/faults/test_reconnect.py); an RPC (all of ours only read) runs
    # again and its caller takes the first reply.
    def ack_message(self, message):
        try:
            super().ack_message(message)
        except OSError as exc:
            log.warning("ack_lost_with_the_connection", error=repr(exc))

    def requeue_message(self, message):
        try:
            super().requeue_message(message)
        except OSError as exc:
            log.warning("requeue_lost_with_the_connection", error=repr(exc))


class _UndecodableToHandler(_SafeAcks):
    """nameko's queue consumer leaves a message kombu cannot decode (a body that is not JSON, a
    content type it does not accept) to kombu, which logs it and acknowledges it: the message
    would be lost without a dead letter or a metric. This one hands the raw body to the handler
    that owns the queue instead, so the inbox dead-letters it like any other poison message."""

    def on_decode_error(self, message, exc):
        tag = message.delivery_info.get("consumer_tag")
        for provider, consumer in list(self._consumers.items()):
            if tag in consumer._active_tags.values():
                log.warning("event_undecodable", queue=provider.queue.name, error=repr(exc))
                self.handle_message(provider, message.body, message)
                return
        super().on_decode_error(message, exc)


class _EventHandler(EventHandler):
    queue_consumer = _UndecodableToHandler()


class _RpcConsumer(RpcConsumer):
    queue_consumer = _SafeAcks()


class _Rpc(Rpc):
    rpc_consumer = _RpcConsumer()


# nameko's @rpc, its acks safe from a broker that has gone (as the event handlers')
rpc = _Rpc.decorator


def subscribe(source, event_type, prefetch=None):
    """Handle ``event_type`` from ``source`` exactly once in effect.

    The handler is called as ``handler(self, event: IncomingEvent, cur)`` inside one transaction
    that also records the event in the inbox; a redelivered event is dropped as a duplicate. A rule
    refusal or a poison message goes to the dead-letter table at once; a database outage is
    retried, then the message is requeued (never acked and lost). ``prefetch``: see
    ``Inbox.consume`` (a read the handler needs, sent with the inbox insert)."""

    def decorator(fn):
        @functools.wraps(fn)
        def wrapper(self, body):
            session = self.store
            return session.provider.inbox.consume(
                session, fn.__name__, source, event_type, body,
                lambda event, cur: fn(self, event, cur), prefetch=prefetch)
        wrapper.talent_subscription = (source, event_type, fn)
        return _EventHandler.decorator(source, event_type, requeue_on_error=True)(wrapper)
    return decorator


def _json_default(value):
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    return str(value)  # Decimal, UUID


def json_response(status, body, correlation_id=None):
    headers = {"X-Correlation-ID": correlation_id} if correlation_id else {}
    # OPT_NON_STR_KEYS: marshmallow names a list item's errors by its (int) index
    return Response(orjson.dumps(body, default=_json_default, option=orjson.OPT_NON_STR_KEYS),
                    status=status, mimetype="application/json", headers=headers)


_SCHEMAS = {}


def _schema(schema):
    """One instance per schema class, built once: building one (its fields deep-copied, its
    nested schemas instantiated) cost more than loading a whole application form with it. A
    marshmallow schema keeps no state between loads, so the instance is shared."""
    if not isinstance(schema, type):
        return schema
    instance = _SCHEMAS.get(schema)
    if instance is None:
        instance = _SCHEMAS[schema] = schema()
    return instance


def parse_body(request, schema):
    """The request's JSON body loaded through ``schema`` (a schema class, whose one shared
    instance is used, or an instance), or InvalidInput naming the fields."""
    import marshmallow
    schema = _schema(schema)
    try:
        data = orjson.loads(request.get_data() or b"{}")
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"body is not valid JSON: {exc}")
    if not isinstance(data, dict):
        raise InvalidInput("body must be a JSON object")
    try:
        return schema.load(data)
    except marshmallow.ValidationError as exc:
        raise InvalidInput("invalid input", fields=exc.messages)


def expected_version(request):
    """The version a caller last saw, from ``If-Match`` (optimistic concurrency over HTTP)."""
    value = request.headers.get("If-Match")
    if value is None:
        return None
    try:
        return int(value.strip('"'))
    except ValueError:
        raise InvalidInput("If-Match must be the stream version the caller last read",
                           fields={"If-Match": ["Not a valid integer."]})


def _refuse_nul(request, kwargs):
    """PostgreSQL text and jsonb cannot hold NUL (U+0000): refuse it at the door, naming where
    it was, rather than fail in the database (a JSON body's escaped ``\\u0000`` included)."""
    bad = ["NUL characters (U+0000) are not accepted."]
    for name, value in kwargs.items():
        if isinstance(value, str) and "\x00" in value:
            raise InvalidInput(f"{name} holds a NUL character", fields={name: bad})
    for name, value in request.args.items(multi=True):
        if "\x00" in name or "\x00" in value:
            raise InvalidInput("a query argument holds a NUL character",
                               fields={name.replace("\x00", "") or "query": bad})
    body = request.get_data()
    if b"\x00" in body or b"\\u0000" in body:
        raise InvalidInput("the body holds a NUL character", fields={"body": bad})


def endpoint(method, url, *, action=None, public=False):
    """A JSON HTTP entrypoint: authenticates the bearer token, checks ``action`` against the
    authorisation matrix, maps errors to 4xx JSON (never a stack trace) and tags the response with
    the correlation id. The handler returns a body (200) or ``(status, body)``."""

    def decorator(fn):
        @functools.wraps(fn)
        def wrapper(self, request, **kwargs):
            session = self.store
            session.correlation_id = request.headers.get("X-Correlation-ID") or \
                session.correlation_id
            tlog.bind(correlation_id=session.correlation_id)
            try:
                if not public:
                    session.act_as(authenticate(session.config["AUTH_SECRET"],
                                                request.headers.get("Authorization")))
                    if action:
                        authorize(session.principal, action)
                _refuse_nul(request, kwargs)
                result = fn(self, request, **kwargs)
                status, body = result if isinstance(result, tuple) else (200, result)
                return json_response(status, body, session.correlation_id)
            except TalentError as exc:
                log.info("request_refused", path=request.path, code=exc.code,
                         clause=exc.clause, status=exc.http_status)
                return json_response(exc.http_status, exc.to_dict(), session.correlation_id)
            except CONNECTION_ERRORS:
                log.exception("request_failed_database", path=request.path)
                return json_response(503, {"code": "unavailable",
                                           "message": "database unavailable, retry later"},
                                     session.correlation_id)
            except Exception:  # noqa: BLE001 - a bug: log it, show no internals
                log.exception("request_failed", path=request.path)
                return json_response(500, {"code": "internal_error",
                                           "message": "internal error",
                                           "correlation_id": session.correlation_id},
                                     session.correlation_id)
        return http(method, url)(wrapper)
    return decorator


def _consumers_ready(container):
    """True once the container's AMQP consumers (event handlers, RPC) are declared and consuming."""
    from nameko.messaging import QueueConsumer
    return all(ext._consumers_ready.ready() for ext in container.extensions
               if isinstance(ext, QueueConsumer))


class ServiceBase:
    """Health checks and dead-letter handling, the same in every service."""

    @endpoint("GET", "/health/live", public=True)
    def health_live(self, request):
        return {"status": "ok", "service": self.store.service}

    @endpoint("GET", "/health/ready", public=True)
    def health_ready(self, request):
        checks = {}
        try:
            self.store.query("SELECT 1")
            checks["database"] = "ok"
        except Exception as exc:  # noqa: BLE001
            checks["database"] = f"error: {exc.__class__.__name__}"
        try:
            with kombu.Connection(self.store.config["AMQP_URI"], connect_timeout=2) as conn:
                conn.ensure_connection(max_retries=1, timeout=2)
            checks["broker"] = "ok"
        except Exception as exc:  # noqa: BLE001
            checks["broker"] = f"error: {exc.__class__.__name__}"
        relay = self.store.provider.relay
        if relay:
            checks["relay"] = "leader" if relay.is_leader else "standby"
        # nameko starts the HTTP server and the event consumers side by side: until every queue
        # is declared, events published now would not reach this service
        checks["consumers"] = "ok" if _consumers_ready(self.store.provider.container) \
            else "starting"
        ok = all(checks[k] == "ok" for k in ("database", "broker", "consumers"))
        return (200 if ok else 503), {"status": "ok" if ok else "unavailable", "checks": checks}

    @http("GET", "/metrics")
    def prometheus_metrics(self, request):
        """Prometheus text exposition of this process (public, like the health checks)."""
        try:
            metrics.observe_relay_lag(self.store.db, self.store.service)
        except Exception as exc:  # noqa: BLE001 - the database is down: serve the rest
            log.warning("metrics_relay_lag_unavailable", error=repr(exc))
        body, content_type = metrics.exposition()
        return Response(body, status=200, headers={"Content-Type": content_type})

    @endpoint("GET", "/dead-letters", action="dead_letters.manage")
    def dead_letters(self, request):
        return {"dead_letters": self.store.provider.inbox.dead_letters()}

    @endpoint("POST", "/dead-letters/<int:letter_id>/redrive", action="dead_letters.manage")
    def redrive_dead_letter(self, request, letter_id):
        return self.store.provider.inbox.redrive(self, self.store, letter_id)

    @rpc
    def catch_up(self, after=0, limit=1000):
        """The catch-up feed: stored events after ``after`` as published envelopes."""
        events = []
        for event in self.store.store.read_all(after, to_position=after + limit, decode=False):
            events.append({"event_id": event.event_id, "event_type": event.event_type,
                           "schema_version": event.schema_version,
                           "source": self.store.service, "stream_id": event.stream_id,
                           "global_position": event.global_position,
                           "recorded_at": event.recorded_at.isoformat(),
                           "payload": event.data, "metadata": event.metadata})
        return events
