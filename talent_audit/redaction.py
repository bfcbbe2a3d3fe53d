"""Personal fields as the auditor sees them: never the value."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from psycopg2.extensions import connection as Connection

from shared.db import connect
from shared.store import sealing


class Redactor:
    """Personal fields (``shared/store/sealing.py``) as the auditor sees them: ``"erased"`` where the
    person's key was deleted, ``"encrypted"`` where it was not; never the value. Reads each
    store's key store in a read-only session."""

    def __init__(self, dsns: Mapping[str, str]) -> None:
        self.dsns = dsns
        self.conns: dict[str, Connection] = {}
        self.known: dict[str, dict[Any, Any]] = {}
        self.keystore = sealing.KeyStore()

    def __call__(self, svc: str, event_type: str, payload: dict[str, Any]) -> dict[str, Any]:
        if event_type not in self.keystore.personal or svc not in self.dsns:
            return payload
        if svc not in self.conns:
            self.conns[svc] = connect(
                self.dsns[svc], autocommit=True, read_only=True, application_name="talent-audit"
            )
        with self.conns[svc].cursor() as cur:
            redacted: dict[str, Any] = self.keystore.redact(
                cur, event_type, payload, self.known.setdefault(svc, {})
            )
            return redacted

    def sealed(self, svc: str, event_type: str, payload: dict[str, Any]) -> dict[str, str]:
        """Each sealed field of ``payload`` (its dotted path) and what became of its person's
        key: ``"encrypted"`` (kept) or ``"erased"``. Empty for an event without sealed fields."""
        spec = self.keystore.personal.get(event_type)
        if not spec:
            return {}
        shown = self(svc, event_type, payload)
        found = {}
        for path in spec[1]:
            stored: Any = payload
            value: Any = shown
            for part in path.split("."):
                stored = stored.get(part) if isinstance(stored, dict) else None
                value = value.get(part) if isinstance(value, dict) else None
            if sealing.is_sealed(stored) and isinstance(value, str):
                found[path] = value
        return found

    def close(self) -> None:
        for conn in self.conns.values():
            conn.close()
