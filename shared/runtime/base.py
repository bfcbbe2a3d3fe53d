"""What every service exposes the same way: health checks, Prometheus metrics, dead letters,
parked events (taken up by a timer) and the catch-up feed (RPC ``catch_up`` and HTTP
``GET /events``). A service class inherits ``ServiceBase`` (imported as a module attribute, so
that ``nameko run`` does not take the base class for a service)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import kombu
import orjson
from nameko.messaging import QueueConsumer
from nameko.standalone.rpc import ClusterRpcProxy
from werkzeug.wrappers import Response

from shared import logging as tlog
from shared import metrics, openapi
from shared.db import CONNECTION_ERRORS
from shared.errors import InvalidInput
from shared.messaging.consumers import rpc
from shared.messaging.relay import CATCH_UP_DEFAULT_LIMIT, CATCH_UP_MAX_LIMIT, read_envelopes
from shared.runtime.timers import timer
from shared.web import endpoint, http, query_int

if TYPE_CHECKING:
    from werkzeug.wrappers import Request

    from shared.runtime.provider import UnitOfWork

log = tlog.get_logger(__name__)


_MAX_POSITION = 2**63 - 1  # a bigint
FEED_RPC_TIMEOUT_SECONDS = 30  # one page of a source's catch-up feed


def _consumers_ready(container: Any) -> bool:
    """True once the container's AMQP consumers (event handlers, RPC) are declared and consuming."""
    return all(
        ext._consumers_ready.ready()
        for ext in container.extensions
        if isinstance(ext, QueueConsumer)
    )


class ServiceBase:
    """Health checks and dead-letter handling, the same in every service."""

    uow: UnitOfWork  # injected by the service's EventStoreProvider

    @endpoint("GET", "/health/live", public=True)
    def health_live(self, request: Request) -> dict[str, Any]:
        return {"status": "ok", "service": self.uow.service}

    @endpoint("GET", "/health/ready", public=True)
    def health_ready(self, request: Request) -> tuple[int, dict[str, Any]]:
        checks = self._readiness()
        ok = all(checks[k] == "ok" for k in ("database", "broker", "consumers"))
        body: dict[str, Any] = {"status": "ok" if ok else "unavailable", "checks": checks}
        insecure = self.uow.settings.insecure_secrets
        if insecure:
            # ALLOW_INSECURE_SECRETS: a development set-up, said on every readiness probe
            checks["secrets"] = "insecure (development only)"
            body["warnings"] = [f"insecure secret {what}" for what in insecure]
        return (200 if ok else 503), body

    def _readiness(self) -> dict[str, str]:
        """The checks of ``/health/ready`` (also exported as ``talent_ready`` on each scrape)."""
        checks: dict[str, str] = {}
        try:
            self.uow.query("SELECT 1")
            checks["database"] = "ok"
        except Exception as exc:  # noqa: BLE001
            checks["database"] = f"error: {exc.__class__.__name__}"
        try:
            with kombu.Connection(self.uow.settings.amqp_uri, connect_timeout=2) as conn:
                conn.ensure_connection(max_retries=1, timeout=2)
            checks["broker"] = "ok"
        except Exception as exc:  # noqa: BLE001
            checks["broker"] = f"error: {exc.__class__.__name__}"
        relay = self.uow.provider.relay
        if relay:
            checks["relay"] = "leader" if relay.is_leader else "standby"
        # nameko starts the HTTP server and the event consumers side by side: until every queue
        # is declared, events published now would not reach this service
        checks["consumers"] = "ok" if _consumers_ready(self.uow.provider.container) else "starting"
        return checks

    @http("GET", "/metrics")
    def prometheus_metrics(self, request: Request) -> Response:
        """Prometheus text exposition of this process (public, like the health checks)."""
        metrics.observe_readiness(self.uow.service, self._readiness())
        try:
            metrics.observe_relay_lag(self.uow.db, self.uow.service)
            metrics.observe_store_size(self.uow.db, self.uow.service)
            observe = getattr(self, "observe_metrics", None)  # a service's own scrape-time gauges
            if observe is not None:
                observe()
        except Exception as exc:  # noqa: BLE001 - the database is down: serve the rest
            log.warning("metrics_from_database_unavailable", error=repr(exc))
        body, content_type = metrics.exposition()
        return Response(body, status=200, headers={"Content-Type": content_type})

    @endpoint("GET", "/openapi.json", public=True)
    def openapi_document(self, request: Request) -> dict[str, Any]:
        """The OpenAPI 3.1 description of this service's HTTP interface (``shared/openapi.py``)."""
        return openapi.document(type(self))

    @endpoint("GET", "/dead-letters", action="dead_letters.manage")
    def dead_letters(self, request: Request) -> dict[str, Any]:
        return {"dead_letters": self.uow.provider.inbox.dead_letters()}

    @endpoint("POST", "/dead-letters/<int:letter_id>/redrive", action="dead_letters.manage")
    def redrive_dead_letter(self, request: Request, letter_id: int) -> dict[str, Any]:
        return self.uow.provider.inbox.redrive(self, self.uow, letter_id)

    @endpoint("GET", "/parked-events", action="dead_letters.manage")
    def parked_events(self, request: Request) -> dict[str, Any]:
        """Consumed events waiting for an earlier event they depend on (shared.messaging.inbox)."""
        return {"parked_events": self.uow.provider.inbox.parked_events()}

    @timer("PARKED_SWEEP_SECONDS", 0.5)
    def take_up_parked(self) -> None:
        """Every tick in every replica: handle the parked events that are due (a second replica
        handling one finds it a duplicate), and alert on those parked too long
        (``PARKED_ALERT_SECONDS``)."""
        settings = self.uow.settings
        inbox = self.uow.provider.inbox
        try:
            outcomes = inbox.take_up(
                self,
                self.uow,
                alert_after=settings.parked_alert_seconds,
                fetch_after=settings.parked_fetch_seconds,
            )
        except CONNECTION_ERRORS as exc:  # the next tick tries again
            log.warning("parked_take_up_failed", error=repr(exc))
            return
        if outcomes:
            log.info("parked_taken_up", **outcomes)
        if inbox.fill_due():
            self._fill_from_feeds()

    def _fill_from_feeds(self) -> None:
        """Events have been parked too long: their predecessors may never have reached this
        service. Read the sources' catch-up feeds over RPC and handle what is missing
        (``Inbox.fill_from_feeds``)."""
        try:
            with ClusterRpcProxy(
                {"AMQP_URI": self.uow.settings.amqp_uri}, timeout=FEED_RPC_TIMEOUT_SECONDS
            ) as rpc:
                counts = self.uow.provider.inbox.fill_from_feeds(
                    self,
                    self.uow,
                    lambda source, after, limit: getattr(rpc, source).catch_up(
                        after=after, limit=limit
                    ),
                )
        except Exception as exc:  # noqa: BLE001 - no broker to call the sources over: later
            log.warning("feed_fill_failed", error=repr(exc))
            return
        log.info("feed_filled", **counts)

    @rpc(expected_exceptions=InvalidInput)  # a caller's mistake, not the service's: no traceback
    def catch_up(self, after: int = 0, limit: int = CATCH_UP_MAX_LIMIT) -> list[dict[str, Any]]:
        """The catch-up feed over RPC: at most ``limit`` (1 to ``CATCH_UP_MAX_LIMIT``) stored
        events after position ``after``, each the envelope the relay publishes. Bad arguments
        raise ``InvalidInput`` naming the argument."""
        after, limit = _feed_bounds(after, limit)
        return [orjson.loads(body) for body in self._envelopes(after, limit)[0]]

    @endpoint("GET", "/events", action="events.read")
    def events_feed(self, request: Request) -> dict[str, Any]:
        """The catch-up feed over HTTP (``?after=<position>&limit=<n>``): the envelopes of the
        stored events after ``after``, byte for byte as published; ``next_after`` is the
        ``after`` of the next page, ``head`` the newest position when read."""
        unknown = sorted(set(request.args) - {"after", "limit"})
        if unknown:
            raise InvalidInput(
                "unknown query arguments", fields={k: ["Unknown field."] for k in unknown}
            )
        after, limit = _feed_bounds(
            query_int(request, "after", 0), query_int(request, "limit", CATCH_UP_DEFAULT_LIMIT)
        )
        bodies, head = self._envelopes(after, limit)
        next_after = after + len(bodies)  # positions are gapless
        return {
            "source": self.uow.service,
            "after": after,
            "limit": limit,
            "next_after": next_after,
            "head": head,
            "more": next_after < head,
            "events": [orjson.Fragment(body) for body in bodies],
        }

    def _envelopes(self, after: int, limit: int) -> tuple[list[bytes], int]:
        with self.uow.db.transaction() as cur:
            bodies = read_envelopes(cur, self.uow.service, after, limit)
            cur.execute("SELECT coalesce(max(global_position), 0) FROM events")
            head = cur.fetchone()[0]  # type: ignore[index]  # an aggregate: one row
        return bodies, head


def _feed_bounds(after: object, limit: object) -> tuple[int, int]:
    """``after`` and ``limit`` checked: integers, 0 <= after, 1 <= limit <= the cap."""
    errors: dict[str, list[str]] = {}
    if type(after) is not int or not 0 <= after <= _MAX_POSITION:
        errors["after"] = ["Must be an integer position, 0 or more."]
    if type(limit) is not int or not 1 <= limit <= CATCH_UP_MAX_LIMIT:
        errors["limit"] = [f"Must be an integer from 1 to {CATCH_UP_MAX_LIMIT}."]
    if errors:
        raise InvalidInput("bad catch-up arguments", fields=errors)
    return after, limit  # type: ignore[return-value]  # checked above
