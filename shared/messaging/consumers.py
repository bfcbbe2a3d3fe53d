"""Nameko's broker-fed entrypoints made safe for this backend: ``subscribe`` (an event handler
whose effect happens exactly once, through the inbox) and ``rpc`` (acks that survive a broker
that has gone). nameko's own traps are guarded here: a handler that raises would drop the event
(the inbox dead-letters or requeues it instead), and a message kombu cannot decode would be
acknowledged and lost (it is handed to the handler, which dead-letters it).

Queues: every queue these entrypoints consume from (``evt-<source>-<type>--<service>.<method>``,
``rpc-<service>``) is declared a quorum queue (``x-queue-type: quorum``: replicated on a
majority of a cluster's nodes, so a node lost loses no message) unless the configuration's
``QUEUE_TYPE`` is ``classic``. A queue keeps the type it was first declared with, and RabbitMQ
refuses to declare it with another: a queue that exists with the other type is used as it is
(logged once as ``queue_type_kept``), so a broker whose queues were declared classic before keeps
working; deploy/rabbitmq/README.md says how to move them. ``AMQP_URI`` may list several nodes of
a cluster separated by ``;``: kombu connects to the first that answers and fails over to the next.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import amqp.exceptions  # type: ignore[import-untyped]
import kombu
from nameko.events import EventHandler
from nameko.messaging import QueueConsumer
from nameko.rpc import Rpc, RpcConsumer

from shared import logging as tlog

if TYPE_CHECKING:
    from psycopg2.extensions import cursor

    from shared.messaging.inbox import IncomingEvent, Prefetch

    Handler = Callable[[Any, IncomingEvent, cursor], object]
    """A service's event handler: ``handler(self, event, cur)``."""
    Consumer = Callable[[Any, object], str]
    """What nameko calls with a message's body: ``consumer(self, body)`` -> the outcome."""

log = tlog.get_logger(__name__)

QUEUE_TYPES = ("quorum", "classic")
_ARGUMENTS = {"quorum": {"x-queue-type": "quorum"}, "classic": {}}


def safe_uri(uri: str) -> str:
    """``AMQP_URI`` (one node or several, separated by ``;``) without its passwords."""
    return ";".join(re.sub(r"(://[^:/@;]*):[^@/;]*@", r"\1:****@", part) for part in uri.split(";"))


class _SafeAcks(QueueConsumer):
    """The queue consumer of every entrypoint fed by the broker (events and RPC)."""

    def __init__(self) -> None:
        super().__init__()
        self._probe: kombu.Connection | None = None
        # nameko sets its entrypoints up side by side (green threads): one probe at a time
        self._probe_lock = threading.Lock()

    def queue_arguments(self, queue: kombu.Queue) -> dict[str, Any]:
        """The arguments to declare ``queue`` with: those of the configured ``QUEUE_TYPE``, or of
        the other type if the queue exists with that one (a declaration with the configured
        type is tried first, on one connection of its own that ``start`` closes)."""
        with self._probe_lock:
            return self._queue_arguments(queue)

    def _queue_arguments(self, queue: kombu.Queue) -> dict[str, Any]:
        wanted = str(self.container.config.get("QUEUE_TYPE") or "quorum")
        if wanted not in QUEUE_TYPES:
            raise ValueError(f"QUEUE_TYPE must be one of {', '.join(QUEUE_TYPES)}, not {wanted!r}")
        other = "classic" if wanted == "quorum" else "quorum"
        for kind in (wanted, other):
            try:
                if self._probe is None:
                    self._probe = kombu.Connection(self.amqp_uri, connect_timeout=5)
                    self._probe.ensure_connection(max_retries=3)
                self._probe.default_channel.queue_declare(
                    queue.name,
                    durable=queue.durable,
                    auto_delete=queue.auto_delete,
                    exclusive=queue.exclusive,
                    arguments=dict(_ARGUMENTS[kind]) or None,
                )
            except amqp.exceptions.PreconditionFailed:
                # it exists with the other type; the broker closed the channel
                self._probe.release()  # type: ignore[union-attr]  # it was opened above
                self._probe = None
                continue
            except Exception as exc:  # noqa: BLE001 - no broker yet: the consumer retries
                log.warning("queue_type_unchecked", queue=queue.name, error=repr(exc))
                return dict(_ARGUMENTS[wanted])
            if kind != wanted:
                log.warning("queue_type_kept", queue=queue.name, type=kind, configured=wanted)
            return dict(_ARGUMENTS[kind])
        return dict(_ARGUMENTS[wanted])  # refused both ways: let the consumer's error tell

    def on_connection_error(self, exc: Exception, interval: float) -> None:
        # (nameko's own names the URI with only the first node's password masked)
        log.warning("broker_connection_failed", nodes=safe_uri(self.amqp_uri), error=repr(exc))

    def start(self) -> None:
        if self._probe is not None:
            self._probe.release()
            self._probe = None
        super().start()

    # nameko swallows amqp's ConnectionError when it acks on a connection that has gone, but not
    # the socket's own (ConnectionResetError, BrokenPipeError: the broker restarting while a
    # worker finishes): that error kills the container, so the service would die with its broker.
    # The unacked message is redelivered once the consumer has reconnected: the inbox drops an
    # event as a duplicate (tests/faults/test_reconnect.py); an RPC (all of ours only read) runs
    # again and its caller takes the first reply.
    def ack_message(self, message: Any) -> None:
        try:
            super().ack_message(message)
        except OSError as exc:
            log.warning("ack_lost_with_the_connection", error=repr(exc))

    def requeue_message(self, message: Any) -> None:
        try:
            super().requeue_message(message)
        except OSError as exc:
            log.warning("requeue_lost_with_the_connection", error=repr(exc))


class _UndecodableToHandler(_SafeAcks):
    """nameko's queue consumer leaves a message kombu cannot decode (a body that is not JSON, a
    content type it does not accept) to kombu, which logs it and acknowledges it: the message
    would be lost without a dead letter or a metric. This one hands the raw body to the handler
    that owns the queue instead, so the inbox dead-letters it like any other poison message."""

    def on_decode_error(self, message: Any, exc: Exception) -> None:
        tag = message.delivery_info.get("consumer_tag")
        for provider, consumer in list(self._consumers.items()):
            if tag in consumer._active_tags.values():
                log.warning("event_undecodable", queue=provider.queue.name, error=repr(exc))
                self.handle_message(provider, message.body, message)
                return
        super().on_decode_error(message, exc)


class _EventHandler(EventHandler):
    queue_consumer = _UndecodableToHandler()

    def setup(self) -> None:
        super().setup()
        self.queue.queue_arguments = self.queue_consumer.queue_arguments(self.queue)


class _RpcConsumer(RpcConsumer):
    queue_consumer = _SafeAcks()

    def setup(self) -> None:
        super().setup()
        self.queue.queue_arguments = self.queue_consumer.queue_arguments(self.queue)


class _Rpc(Rpc):
    rpc_consumer = _RpcConsumer()


# nameko's @rpc, its acks safe from a broker that has gone (as the event handlers')
rpc = _Rpc.decorator


def subscribe(
    source: str, event_type: str, prefetch: Prefetch | None = None
) -> Callable[[Handler], Consumer]:
    """Handle ``event_type`` from ``source`` exactly once in effect.

    The handler is called as ``handler(self, event: IncomingEvent, cur)`` (the service's unit of
    work is ``self.uow``) inside one transaction
    that also records the event in the inbox; a redelivered event is dropped as a duplicate. A rule
    refusal or a poison message goes to the dead-letter table at once; a database outage is
    retried, then the message is requeued (never acked and lost). ``prefetch``: see
    ``Inbox.consume`` (a read the handler needs, sent with the inbox insert)."""

    def decorator(fn: Handler) -> Consumer:
        @functools.wraps(fn)
        def wrapper(self: Any, body: object) -> str:
            uow = self.uow
            return uow.provider.inbox.consume(
                uow,
                fn.__name__,
                source,
                event_type,
                body,
                lambda event, cur: fn(self, event, cur),
                prefetch=prefetch,
            )

        # (an attribute of the function, which Inbox.redrive reads: mypy knows of none)
        wrapper.talent_subscription = (source, event_type, fn)  # type: ignore[attr-defined]
        return _EventHandler.decorator(source, event_type, requeue_on_error=True)(wrapper)

    return decorator
