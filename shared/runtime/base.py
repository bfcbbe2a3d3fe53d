"""What every service exposes the same way: health checks, Prometheus metrics, dead letters,
parked events (taken up by a timer) and the catch-up feed. A service class inherits ``ServiceBase`` (imported as a module attribute, so
that ``nameko run`` does not take the base class for a service)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import kombu
from nameko.messaging import QueueConsumer
from nameko.web.handlers import http
from werkzeug.wrappers import Response

from shared import logging as tlog
from shared import metrics
from shared.db import CONNECTION_ERRORS
from shared.messaging.consumers import rpc
from shared.messaging.inbox import PARKED_ALERT_SECONDS
from shared.runtime.timers import timer
from shared.web import endpoint

if TYPE_CHECKING:
    from werkzeug.wrappers import Request

    from shared.runtime.provider import UnitOfWork

log = tlog.get_logger(__name__)


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
        ok = all(checks[k] == "ok" for k in ("database", "broker", "consumers"))
        return (200 if ok else 503), {"status": "ok" if ok else "unavailable", "checks": checks}

    @http("GET", "/metrics")
    def prometheus_metrics(self, request: Request) -> Response:
        """Prometheus text exposition of this process (public, like the health checks)."""
        try:
            metrics.observe_relay_lag(self.uow.db, self.uow.service)
        except Exception as exc:  # noqa: BLE001 - the database is down: serve the rest
            log.warning("metrics_relay_lag_unavailable", error=repr(exc))
        body, content_type = metrics.exposition()
        return Response(body, status=200, headers={"Content-Type": content_type})

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
        config = self.uow.provider.config
        try:
            outcomes = self.uow.provider.inbox.take_up(
                self,
                self.uow,
                alert_after=float(config.get("PARKED_ALERT_SECONDS") or PARKED_ALERT_SECONDS),
            )
        except CONNECTION_ERRORS as exc:  # the next tick tries again
            log.warning("parked_take_up_failed", error=repr(exc))
            return
        if outcomes:
            log.info("parked_taken_up", **outcomes)

    @rpc
    def catch_up(self, after: int = 0, limit: int = 1000) -> list[dict[str, Any]]:
        """The catch-up feed: stored events after ``after`` as published envelopes."""
        events = []
        for event in self.uow.events.read_all(after, to_position=after + limit, decode=False):
            events.append(
                {
                    "event_id": event.event_id,
                    "event_type": event.event_type,
                    "schema_version": event.schema_version,
                    "source": self.uow.service,
                    "stream_id": event.stream_id,
                    "global_position": event.global_position,
                    "recorded_at": event.recorded_at.isoformat(),
                    "payload": event.data,
                    "metadata": event.metadata,
                }
            )
        return events
