"""What each HTTP entrypoint of the assessment service takes and answers, for its OpenAPI
description (``shared/openapi.py``; served at ``/openapi.json``). Bodies are the command schemas
the entrypoints load (``schemas.py``)."""

from __future__ import annotations

from marshmallow import fields

from services.assessment import schemas
from shared.openapi import Operation, Recorded, page

Results = page(
    "Results",
    year=fields.Integer(allow_none=True),
    results=fields.List(fields.Dict(), required=True),
)
TENURES, DEADLINES = ("tenures",), ("deadlines",)

OPERATIONS: dict[str, Operation] = {
    "file_report": Operation(
        "File a tenure year's annual report (LT-11)",
        body=schemas.FileAnnualReport,
        response=Recorded,
        tags=TENURES,
    ),
    "record_findings": Operation(
        "Record the county's findings on a report; the year is graded (LT-11)",
        body=schemas.RecordFindings,
        response=Recorded,
        tags=TENURES,
    ),
    "order_rectification": Operation(
        "Order a breach rectified by a deadline (LT-13)",
        body=schemas.OrderRectification,
        response=Recorded,
        tags=TENURES,
    ),
    "confirm_rectification": Operation(
        "Confirm a breach rectified (LT-13)",
        body=schemas.ConfirmRectification,
        response=Recorded,
        tags=TENURES,
    ),
    "report_ground": Operation(
        "Report an LT-14 ground for disqualification",
        body=schemas.ReportGround,
        response=Recorded,
        description="Who may report it depends on its kind (permission `tenure.ground.<kind>`).",
        tags=TENURES,
    ),
    "approve_disqualification": Operation(
        "The Leading Group approves a proposed disqualification (LT-14)",
        body=schemas.ApproveDisqualification,
        response=Recorded,
        tags=TENURES,
    ),
    "decline_disqualification": Operation(
        "The Leading Group declines a proposed disqualification",
        body=schemas.DeclineDisqualification,
        response=Recorded,
        tags=TENURES,
    ),
    "run_deadlines": Operation(
        "Fire the due deadlines now (what the hourly timer does)", tags=DEADLINES
    ),
    "get_tenure": Operation(
        "A talent's tenure: years, grades, breaches, proposals and decisions", tags=TENURES
    ),
    "results": Operation(
        "Annual results for the Commerce Bureau's announcement (LT-11.1)",
        query=schemas.ResultsQuery,
        response=Results,
        tags=("results",),
    ),
}
