"""Errors a caller can see. Each carries a machine code, a message and, where a rule decided it,
the clause id (e.g. ``LT-6.3``). ``shared.http`` turns them into JSON 4xx responses."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class TalentError(Exception):
    code: str = "error"
    http_status: int = 400

    def __init__(
        self,
        message: str,
        *,
        clause: str | None = None,
        fields: Mapping[str, Any] | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.clause = clause
        self.fields = fields or {}
        self.details = details or {}

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.clause:
            body["clause"] = self.clause
        if self.fields:
            body["fields"] = self.fields
        if self.details:
            body["details"] = self.details
        return body


class InvalidInput(TalentError):
    """The request does not match the command's schema (field-level errors)."""

    code = "invalid_input"
    http_status = 400


class RuleViolation(TalentError):
    """The command is well formed but a policy rule refuses it. ``clause`` names the rule."""

    code = "rule_violation"
    http_status = 422

    def __init__(
        self,
        clause: str,
        message: str,
        *,
        fields: Mapping[str, Any] | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message, clause=clause, fields=fields, details=details)


class NotFound(TalentError):
    code = "not_found"
    http_status = 404


class Unauthenticated(TalentError):
    code = "unauthenticated"
    http_status = 401


class Forbidden(TalentError):
    code = "forbidden"
    http_status = 403


class ConcurrencyConflict(TalentError):
    """Optimistic concurrency: the stream moved on since the caller read it."""

    code = "conflict"
    http_status = 409

    def __init__(
        self, stream_id: str, expected_version: int | None, actual_version: int | None = None
    ) -> None:
        msg = f"stream {stream_id} is not at expected version {expected_version}"
        if actual_version is not None:
            msg += f" (it is at {actual_version})"
        super().__init__(
            msg,
            details={
                "stream_id": stream_id,
                "expected_version": expected_version,
                "actual_version": actual_version,
            },
        )
        self.stream_id = stream_id
        self.expected_version = expected_version
        self.actual_version = actual_version


class UnknownEventType(TalentError):
    code = "unknown_event_type"
    http_status = 400


class AlreadyImported(Exception):
    """An imported command (``shared/provenance.py``) whose key is in the store already: recorded
    by an import of the same file that ran before or at the same time. Not an error: the answer
    lists what was recorded."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


class Awaiting(Exception):
    """An event was handled before an earlier event it depends on (they travel on separate
    queues, and a restart with a backlog reorders them): not a refusal and not a bug. The inbox
    parks it and takes it up again once an event about ``subject`` has been handled.
    ``subject`` is ``"<field>=<value>"`` of the payload field that identifies what is awaited
    (``application_id=app-1``, ``talent_id=t-1``)."""

    def __init__(self, message: str, *, subject: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.subject = subject
