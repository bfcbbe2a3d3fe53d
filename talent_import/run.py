"""Writing a checked plan through the services' HTTP commands, each with its provenance."""

from __future__ import annotations

import json

from shared.provenance import HEADER
from talent_client.http import Client, json_if_ok
from talent_import.plan import Plan, Step


class ImportRefused(Exception):
    """A service refused a command of the plan (a rule the file could not be checked against
    before: e.g. the round's quota, LT-16's conditions): the row and the service's answer."""


def _wait(client: Client, step: Step, seconds: float) -> None:
    """Until what ``step`` follows is there (a grant or a tenure the services make from the
    certification, asynchronously)."""
    assert step.waits_for is not None
    service, path = step.waits_for
    check = step.wait_check or (lambda _: True)

    def ready() -> object:
        body = json_if_ok(client.call("GET", service, path, "auditor", expect=None))
        return body if body and check(body) else None

    client.wait_for(f"{service} {path}", ready, timeout=seconds)


def write(
    client: Client, plan: Plan, imported_by: str, *, wait_seconds: float = 60.0
) -> dict[str, int]:
    """Run every step of ``plan``; how many were recorded and how many were there already."""
    counts = {"recorded": 0, "already": 0}
    claims: dict[int, str] = {}
    for step in plan.steps:
        if step.waits_for:
            _wait(client, step, wait_seconds)
        provenance = {
            "source": "import",
            "file_sha256": plan.sha256,
            "sheet": step.sheet,
            "row": step.row,
            "step": step.step,
            "imported_by": imported_by,
        }
        path = step.path.replace("{claim}", claims.get(step.row, ""))
        r = client.call(
            step.method,
            step.service,
            path,
            step.role,
            actor=step.actor or f"import:{imported_by}",
            county=step.county,
            json=step.body,
            expect=None,
            # a header is ASCII: JSON's \u escapes carry the importer's name
            headers={HEADER: json.dumps(provenance, ensure_ascii=True)},
        )
        if r.status_code not in (200, 201):
            raise ImportRefused(
                f"{step.sheet} row {step.row} ({step.step}): {step.service} answered "
                f"{r.status_code} {r.text}"
            )
        body = r.json()
        if body.get("already_imported"):
            counts["already"] += 1
            if step.sheet == "claims" and step.step == "file":
                claims[step.row] = body["events"][0]["stream_id"].removeprefix("claim-")
        else:
            counts["recorded"] += 1
            if step.sheet == "claims" and step.step == "file":
                claims[step.row] = body["claim_id"]
    return counts
