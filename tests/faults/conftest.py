"""The fault tests share one running system (the four services as ``nameko run`` processes on
fresh databases and a RabbitMQ vhost of their own); the broker-restart test brings its own."""

import uuid

import pytest

from talent_client.http import Client
from tests.support.faults import fund_the_grants
from tests.support.system import running_system


@pytest.fixture(scope="package")
def system():
    for sysm in running_system(log_prefix=f"faults-{uuid.uuid4().hex[:6]}"):
        fund_the_grants(Client(sysm.urls))
        yield sysm
