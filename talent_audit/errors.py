"""The one error the tool reports to the auditor as a message rather than a traceback."""

from __future__ import annotations


class AuditError(Exception):
    """Printed as ``talent-audit: <message>``; the command exits with status 2."""
