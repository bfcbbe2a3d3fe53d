"""The tool's exit statuses and the errors it reports to the auditor as one line on stderr
(``talent-audit: <message>``) rather than a traceback.

    0  done; for ``verify``: every chain verified
    1  ``verify``: a chain is broken, or an anchored head is no longer there
    2  the command cannot be done as given: bad arguments, an unknown service, nothing about
       that person in any store, an ``--output`` that cannot be written
    3  a store or the audit database cannot be read (unreachable, refused, failed), or the
       output fails while it is written (disk full)
"""

from __future__ import annotations

OK = 0
BROKEN = 1
USAGE = 2
UNAVAILABLE = 3


class AuditError(Exception):
    """Printed as ``talent-audit: <message>``; the command exits with ``exit_code``."""

    exit_code = USAGE


class NotFound(AuditError):
    """Nothing about what was asked for (a person, a service)."""


class Unavailable(AuditError):
    """A store or the audit database cannot be read."""

    exit_code = UNAVAILABLE
