"""The four services as separate ``nameko run`` processes, driven only through their public
interfaces (see tests/support/system.py). Every message they publish meanwhile is taken by a
plain AMQP consumer (tests/support/wire.py) and checked against the committed AsyncAPI catalogue
when the module's system stops."""

import pytest

from tests.support.system import running_system
from tests.support.wire import WireSink, wire_problems


@pytest.fixture(scope="module")
def system(amqp_uri):
    messages = []
    for sysm in running_system(amqp_uri):
        sink = WireSink(sysm.amqp_uri)
        try:
            yield sysm
            messages = sink.drain()
        finally:
            sink.close()
    assert messages, "the services published nothing the sink saw"
    problems = wire_problems(messages)
    assert not problems, f"{len(problems)} published messages off the catalogue:\n" + (
        "\n".join(problems[:40])
    )
