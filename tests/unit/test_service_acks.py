"""Every entrypoint the broker feeds (event handlers and RPC) acks through a consumer that
survives a connection gone mid-ack: nameko's own let ConnectionResetError kill the container."""

import importlib

import pytest
from nameko.events import EventHandler
from nameko.rpc import Rpc

from shared.messaging.consumers import _SafeAcks

SERVICES = ("applications", "assessment", "notifications", "subsidies")


class _Channel:
    connection = object()  # alive, as far as nameko can tell


class _Message:
    channel = _Channel()
    delivery_info = {}

    def __init__(self, error):
        self.error = error

    def ack(self):
        raise self.error

    requeue = ack


@pytest.mark.parametrize("error", [ConnectionResetError(104, "reset"), BrokenPipeError(32, "pipe")])
def test_an_ack_or_requeue_on_a_dead_socket_is_logged_not_raised(error):
    consumer = _SafeAcks()
    consumer.ack_message(_Message(error))
    consumer.requeue_message(_Message(error))


def test_other_errors_still_raise():
    with pytest.raises(ValueError):
        _SafeAcks().ack_message(_Message(ValueError("a bug")))


def _entrypoints(svc):
    module = importlib.import_module(f"services.{svc}.service")
    cls = next(
        v for v in vars(module).values() if isinstance(v, type) and getattr(v, "name", None) == svc
    )
    for name in dir(cls):
        for entrypoint in getattr(getattr(cls, name), "nameko_entrypoints", ()):
            yield name, entrypoint


@pytest.mark.parametrize("svc", SERVICES)
def test_every_broker_fed_entrypoint_uses_the_safe_consumer(svc):
    seen = {"rpc": 0, "event": 0}
    for name, entrypoint in _entrypoints(svc):
        if isinstance(entrypoint, Rpc):
            seen["rpc"] += 1
            assert isinstance(entrypoint.rpc_consumer.queue_consumer, _SafeAcks), name
        elif isinstance(entrypoint, EventHandler):
            seen["event"] += 1
            assert isinstance(entrypoint.queue_consumer, _SafeAcks), name
    assert seen["rpc"] >= 1  # catch_up, in every service
