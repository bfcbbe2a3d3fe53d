"""Shared fixtures: throw-away databases and an isolated RabbitMQ virtual host per test run, so
tests never touch the live databases or queues of a running system (`make run`)."""

import uuid
import warnings

import pytest

from shared.config import dsn_for
from shared.db import create_database, drop_database
from tests.support.system import rabbitmq_vhost, throwaway_secrets

throwaway_secrets()

RUN_ID = uuid.uuid4().hex[:8]
ADMIN_DSN = dsn_for("postgres")

warnings.filterwarnings("ignore", message="Eventlet is deprecated")


@pytest.fixture
def fresh_db():
    """Factory: ``fresh_db('label')`` creates an empty database and returns its DSN; all are
    dropped at the end of the test."""
    made = []

    def make(label="db"):
        name = f"talent_test_{label}_{RUN_ID}_{len(made)}"
        create_database(ADMIN_DSN, name, drop_first=True)
        made.append(name)
        return dsn_for(name)

    yield make
    for name in made:
        drop_database(ADMIN_DSN, name)


@pytest.fixture(scope="session")
def amqp_uri():
    """An AMQP URI on a virtual host of this test run (see tests/support/system.py)."""
    with rabbitmq_vhost("run") as uri:
        yield uri
