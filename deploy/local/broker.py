"""One RabbitMQ user per service, allowed only its own exchanges and queues and the exchanges of
the services it consumes (``python -m deploy.local.broker``; run by ``deploy/local/infra.sh``).

What a service does on the broker, and the permission each needs (RabbitMQ's configure = declare
or delete, write = publish or bind a queue, read = consume or bind from an exchange):

- its relay declares and publishes to ``<svc>.events``: configure, write;
- its event handlers declare their queues ``evt-<source>-<Type>--<svc>.<method>``, declare the
  source's exchange ``<source>.events`` and bind the queue to it: configure and write on the
  queue, configure and read on that exchange; then consume the queue: read;
- its RPC entrypoint declares ``nameko-rpc`` and ``rpc-<svc>``, binds and consumes, and answers
  through ``nameko-rpc`` with the caller's reply id as routing key: configure, write, read, and a
  topic permission that lets it publish on ``nameko-rpc`` only with reply ids (a UUID), so it
  cannot call other services' RPCs.

The sources a service consumes are read from its service class (each ``@subscribe`` entrypoint
names its source), so the permissions follow the code. A user may not publish to another
service's exchange: forging another service's events is refused by the broker.
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import subprocess
import sys
import urllib.parse
from collections.abc import Iterable, Sequence

SERVICES = ("applications", "subsidies", "assessment", "notifications")
REPLY_ID = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"


def sources_consumed(service: str) -> list[str]:
    """The services whose events ``service`` consumes (its ``@subscribe`` entrypoints)."""
    module = importlib.import_module(f"services.{service}.service")
    found: set[str] = set()
    for obj in vars(module).values():
        if isinstance(obj, type) and getattr(obj, "name", None) == service:
            for member in vars(obj).values():
                subscription = getattr(member, "talent_subscription", None)
                if subscription:
                    found.add(subscription[0])
    return sorted(found)


def _alternatives(names: Iterable[str]) -> str:
    return "^(" + "|".join(names) + ")$"


def permissions(service: str, consumed: Sequence[str]) -> tuple[str, str, str]:
    """(configure, write, read) regular expressions of ``service``'s user."""
    svc = re.escape(service)
    own_queues = [f"evt-[^.]+--{svc}\\..+", f"rpc-{svc}"]
    own_exchange = f"{svc}\\.events"
    sources = [f"{re.escape(s)}\\.events" for s in consumed]
    configure = _alternatives([own_exchange, "nameko-rpc", *own_queues, *sources])
    write = _alternatives([own_exchange, "nameko-rpc", *own_queues])
    read = _alternatives(["nameko-rpc", *own_queues, *sources])
    return configure, write, read


def user_name(service: str, prefix: str = "talent_") -> str:
    return f"{prefix}{service}"


def service_uri(base_uri: str, user: str, password: str) -> str:
    """``base_uri`` (host, port, vhost) with ``user``'s login."""
    parts = urllib.parse.urlsplit(base_uri)
    host = parts.hostname or "127.0.0.1"
    netloc = f"{urllib.parse.quote(user, '')}:{urllib.parse.quote(password, '')}@{host}"
    if parts.port:
        netloc += f":{parts.port}"
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def vhost_of(uri: str) -> str:
    path = urllib.parse.urlsplit(uri).path
    return urllib.parse.unquote(path[1:]) if len(path) > 1 else "/"


def _ctl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["rabbitmqctl", "-q", *args], capture_output=True, text=True, timeout=60, check=False
    )


def set_up(
    vhost: str,
    passwords: dict[str, str],
    *,
    prefix: str = "talent_",
    services: Sequence[str] = SERVICES,
) -> None:
    """Create (or update the password of) each service's user and set its permissions on
    ``vhost``; RuntimeError naming the step that failed."""
    for service in services:
        user, password = user_name(service, prefix), passwords[service]
        made = _ctl("add_user", user, password)
        if made.returncode != 0:
            if "already exists" not in (made.stderr + made.stdout):
                raise RuntimeError(f"rabbitmqctl add_user {user}: {made.stderr.strip()}")
            changed = _ctl("change_password", user, password)
            if changed.returncode != 0:
                raise RuntimeError(f"rabbitmqctl change_password {user}: {changed.stderr.strip()}")
        configure, write, read = permissions(service, sources_consumed(service))
        for args in (
            ("set_permissions", "-p", vhost, user, configure, write, read),
            ("set_topic_permissions", "-p", vhost, user, "nameko-rpc", REPLY_ID, ".*"),
        ):
            done = _ctl(*args)
            if done.returncode != 0:
                raise RuntimeError(f"rabbitmqctl {args[0]} {user}: {done.stderr.strip()}")


def tear_down(prefix: str, services: Sequence[str] = SERVICES) -> None:
    for service in services:
        _ctl("delete_user", user_name(service, prefix))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uri", default=os.environ.get("AMQP_URI", "amqp://127.0.0.1:5672/"))
    args = parser.parse_args(argv)
    passwords = {}
    for service in SERVICES:
        password = os.environ.get(f"{service.upper()}_AMQP_PASSWORD")
        if not password:
            print(
                f"{service.upper()}_AMQP_PASSWORD is not set (deploy/local/secrets.sh)",
                file=sys.stderr,
            )
            return 2
        passwords[service] = password
    try:
        set_up(vhost_of(args.uri), passwords)
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
        print(f"cannot set up the services' RabbitMQ users: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
