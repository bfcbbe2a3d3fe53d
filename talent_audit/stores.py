"""Where the four services' event stores are, and opening them read-only."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import psycopg2
import psycopg2.extensions

from shared.config import load
from shared.db import Database
from shared.store import EventStore
from talent_audit.errors import AuditError, NotFound, Unavailable

SERVICES = ("applications", "subsidies", "assessment", "notifications")
ROOT = Path(__file__).resolve().parents[1]


def store_dsns(overrides: Iterable[str] = ()) -> dict[str, str]:
    """Each service's store DSN from its ``services/<svc>/config.yaml``, then ``overrides``
    (``--dsn service=DSN``)."""
    dsns = {}
    for svc in SERVICES:
        config = ROOT / "services" / svc / "config.yaml"
        if config.exists():
            dsns[svc] = load(config)["DB_DSN"]
    for item in overrides:
        svc, _, dsn = item.partition("=")
        if svc not in SERVICES or not dsn:
            raise AuditError(f"--dsn takes service=DSN with a service of {', '.join(SERVICES)}")
        dsns[svc] = dsn
    return dsns


def known_service(svc: str) -> str:
    """``svc`` if it is one of the four services, else NotFound naming them."""
    if svc not in SERVICES:
        raise NotFound(f"unknown service {svc}; one of {', '.join(SERVICES)}")
    return svc


def dsn_of(svc: str, dsns: dict[str, str]) -> str:
    """Where ``svc``'s store is, or an error saying how to give it."""
    known_service(svc)
    if svc not in dsns:
        raise AuditError(f"where the {svc} store is is not known; give it with --dsn {svc}=DSN")
    return dsns[svc]


def open_store(svc: str, dsn: str) -> EventStore:
    """``svc``'s event store in read-only sessions, having read its head once (so that a store
    that cannot be reached is reported here, by name)."""
    try:
        store = EventStore(Database(dsn, application_name="talent-audit", read_only=True), svc)
        store.head()
    except psycopg2.Error as exc:
        raise Unavailable(
            f"cannot read the {svc} store ({_where(dsn)}): {str(exc).strip().splitlines()[0]}"
        ) from exc
    return store


def _where(dsn: str) -> str:
    return " ".join(p for p in dsn.split() if not p.startswith("password"))


def store_key(dsn: str) -> str:
    """Where a store is, whoever connects to it: host:port/dbname."""
    p = psycopg2.extensions.parse_dsn(dsn)
    return f"{p.get('host', 'localhost')}:{p.get('port', '5432')}/{p.get('dbname', p.get('user'))}"
