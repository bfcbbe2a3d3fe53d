"""Where a recorded fact came from when it was not entered live: the provenance an import sends
with each command (header ``X-Talent-Provenance``, a JSON object) and the events it records carry
in their metadata (``metadata["provenance"]``; events recorded live have no such key, so the hashes
of events stored before stay as they were).

``key`` names one command of one row of one file (``<sha256>:<sheet>:<row>:<step>``): a command
whose key is already in the store is not run again, so importing the same file twice changes
nothing."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from typing import Any

import orjson

from shared.auth import OWNER_SCOPED
from shared.errors import Forbidden, InvalidInput

HEADER = "X-Talent-Provenance"
STORED = "metadata ? 'provenance' AND metadata->'provenance'->>'key' = %s"
"""SQL condition: an event recorded by the imported command whose key is the parameter (the
index of migration ``0004_events_import_key`` serves it)."""
SOURCES = ("import",)
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_SHEET = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
_STEP = re.compile(r"^[A-Za-z0-9_.-]{1,40}$")
_NAMESPACE = uuid.UUID("6f1c2d0e-3b7a-5c1e-9a4f-1d2e3f405162")


def import_key(file_sha256: str, sheet: str, row: int, step: str) -> str:
    """The key of one command of one row of one file."""
    return f"{file_sha256}:{sheet}:{row}:{step}"


def import_uuid(key: str) -> str:
    """An id (a UUID) made from an import key: the same row of the same file names the same
    record however often it is imported."""
    return str(uuid.uuid5(_NAMESPACE, key))


def parse(header: str, role: str) -> dict[str, Any]:
    """The provenance an ``X-Talent-Provenance`` header states, checked field by field, or
    InvalidInput naming the field. Officials enter the records they import: a caller acting for
    themselves (an applicant, a talent) may not state one (Forbidden)."""
    if role in OWNER_SCOPED:
        raise Forbidden(
            f"a {role} does not import records", fields={HEADER: ["Not accepted from this role."]}
        )
    try:
        data = orjson.loads(header)
    except orjson.JSONDecodeError:
        data = None
    if not isinstance(data, Mapping):
        raise InvalidInput(
            f"{HEADER} must be a JSON object", fields={HEADER: ["Not a JSON object."]}
        )
    errors: dict[str, list[str]] = {}
    checks = {
        "source": lambda v: v in SOURCES,
        "file_sha256": lambda v: isinstance(v, str) and bool(_SHA256.match(v)),
        "sheet": lambda v: isinstance(v, str) and bool(_SHEET.match(v)),
        "row": lambda v: isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 1_000_000,
        "step": lambda v: isinstance(v, str) and bool(_STEP.match(v)),
        "imported_by": lambda v: isinstance(v, str) and 1 <= len(v) <= 100,
    }
    for name, ok in checks.items():
        if name not in data:
            errors[name] = ["Missing data for required field."]
        elif not ok(data[name]):
            errors[name] = ["Not a valid value."]
    for name in data:
        if name not in checks:
            errors[name] = ["Unknown field."]
    if errors:
        raise InvalidInput(f"{HEADER} is not a valid provenance", fields={HEADER: errors})
    provenance = {name: data[name] for name in checks}
    provenance["key"] = import_key(
        provenance["file_sha256"], provenance["sheet"], provenance["row"], provenance["step"]
    )
    return provenance
