"""The one-host set-up's secrets and logins: deploy/local/secrets.sh makes strong secrets once,
readable by their owner only, and keeps them; deploy/local/broker.py gives each service's
RabbitMQ user exactly its own exchanges and queues and those of the services it consumes."""

import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from deploy.local import broker
from shared.runtime.settings import secret_weakness

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def checkout(tmp_path):
    """A copy of deploy/local/ (the scripts find var/ from where they are)."""
    shutil.copytree(ROOT / "deploy" / "local", tmp_path / "deploy" / "local")
    return tmp_path


def secrets_sh(checkout, *args, **env):
    return subprocess.run(
        ["bash", str(checkout / "deploy" / "local" / "secrets.sh"), *args],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": os.environ["PATH"], **env},
    )


def values(path):
    return dict(re.findall(r'^export (\w+)="\$\{\w+:-([^}]*)\}"$', path.read_text(), re.M))


def test_secrets_are_made_once_owner_only_and_kept(checkout):
    first = secrets_sh(checkout)
    path = checkout / "var" / "secrets.env"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    made = values(path)
    assert {"AUTH_SECRET", "PERSON_KEY_SECRET", "WEBHOOK_SIGNING_KEY"} <= set(made)
    assert {"APPLICATIONS_DB_ROLE_PASSWORD", "NOTIFICATIONS_AMQP_PASSWORD"} <= set(made)
    assert all(secret_weakness(v) is None for v in made.values())
    assert len(set(made.values())) == len(made)  # each its own
    for value in made.values():  # never shown
        assert value not in first.stdout + first.stderr
    secrets_sh(checkout)
    assert values(path) == made  # reused, not replaced


def test_a_missing_key_is_added_and_the_others_kept(checkout):
    secrets_sh(checkout)
    path = checkout / "var" / "secrets.env"
    before = values(path)
    path.write_text("".join(x for x in path.read_text().splitlines(True) if "AUTH_SECRET" not in x))
    secrets_sh(checkout)
    after = values(path)
    assert after["AUTH_SECRET"] != before["AUTH_SECRET"]
    assert {k: v for k, v in after.items() if k != "AUTH_SECRET"} == {
        k: v for k, v in before.items() if k != "AUTH_SECRET"
    }


def test_an_environment_value_wins_over_the_file(checkout):
    secrets_sh(checkout)
    path = checkout / "var" / "secrets.env"
    out = subprocess.run(
        ["bash", "-c", f'. "{path}"; printf %s "$AUTH_SECRET"'],
        capture_output=True,
        text=True,
        env={"PATH": os.environ["PATH"], "AUTH_SECRET": "from-the-environment"},
        check=True,
    )
    assert out.stdout == "from-the-environment"


def test_compose_secret_files(checkout):
    secrets_sh(checkout, "--files", str(checkout / "compose-secrets"))
    made = values(checkout / "var" / "secrets.env")
    folder = checkout / "compose-secrets"
    assert (folder / "auth_secret").read_text() == made["AUTH_SECRET"]
    assert stat.S_IMODE((folder / "person_key_secret").stat().st_mode) == 0o600
    assert not (folder / "applications_amqp_password").exists()


def allowed(regex, name):
    return re.fullmatch(regex, name) is not None


def test_each_broker_user_reaches_only_its_own_and_its_sources():
    assert broker.sources_consumed("applications") == []
    assert broker.sources_consumed("subsidies") == ["applications", "assessment"]
    assert broker.sources_consumed("assessment") == ["applications"]
    configure, write, read = broker.permissions("subsidies", ["applications", "assessment"])
    own_queue = "evt-applications-TalentCertified--subsidies.on_talent_certified"
    assert allowed(write, "subsidies.events") and allowed(configure, "subsidies.events")
    assert allowed(write, own_queue) and allowed(read, own_queue) and allowed(read, "rpc-subsidies")
    for other in ("applications.events", "assessment.events", "notifications.events"):
        assert not allowed(write, other), other  # no forging another service's events
    assert allowed(read, "applications.events") and not allowed(read, "notifications.events")
    others = "evt-applications-TalentCertified--assessment.on_talent_certified"
    assert not any(allowed(r, others) for r in (configure, write, read))
    assert not any(allowed(r, "rpc-applications") for r in (configure, write, read))


def test_a_service_uri_carries_its_user_quoted():
    uri = broker.service_uri("amqp://guest:guest@127.0.0.1:5672/talent%2Fx", "talent_x", "p@ss/w")
    assert uri == "amqp://talent_x:p%40ss%2Fw@127.0.0.1:5672/talent%2Fx"
    assert broker.vhost_of(uri) == "talent/x" and broker.vhost_of("amqp://h/") == "/"
