"""The four services as separate ``nameko run`` processes, driven only through their public
interfaces (see tests/support/system.py)."""

import pytest

from tests.support.system import running_system


@pytest.fixture(scope="module")
def system(amqp_uri):
    yield from running_system(amqp_uri)
