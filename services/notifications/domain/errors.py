"""Refusals of the notifications domain that are not policy rules."""

from __future__ import annotations

from shared.errors import TalentError


class StateConflict(TalentError):
    """The command does not fit the record's state (e.g. re-driving a delivered message)."""

    code = "conflict"
    http_status = 409
