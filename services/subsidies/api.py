"""What each HTTP entrypoint of the subsidies service takes and answers, for its OpenAPI
description (``shared/openapi.py``; served at ``/openapi.json``). Bodies are the command schemas
the entrypoints load (``schemas.py``)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from services.subsidies import schemas
from services.subsidies.domain.measures import MEASURES
from shared.openapi import Operation, Recorded, page


class YearQuery(Schema):
    year = fields.Integer(validate=validate.Range(min=2020, max=2099))


class RecoveriesQuery(Schema):
    overdue = fields.String(
        validate=validate.OneOf(("true", "false")),
        metadata={"description": "only those past their deadline"},
    )


class ClaimsQuery(Schema):
    measure = fields.String(validate=validate.OneOf(tuple(MEASURES)))
    status = fields.String()
    party_id = fields.String()


ClaimBody = {
    "anyOf": list(schemas.CLAIMS.values()),
    "description": "a Ten Measures claim; `measure` picks its form (TM-4 … TM-10)",
}
Funds = page("Funds", funds=fields.List(fields.Dict(), required=True))
Claims = page("Claims", claims=fields.List(fields.Dict(), required=True))
FUNDS, GRANTS, CLAIMS, LEDGERS = ("funds",), ("grants",), ("claims",), ("ledgers",)

OPERATIONS: dict[str, Operation] = {
    "set_budget": Operation(
        "Set a fund's budget for a fiscal year (TM-1)",
        body=schemas.SetBudget,
        path=schemas.FundKey,
        response=Recorded,
        example={"amount_fen": 500_000_000, "reference": "楚财行〔2026〕12号"},
        tags=FUNDS,
    ),
    "list_funds": Operation(
        "Every fund (of a year): budget, committed, paid",
        query=YearQuery,
        response=Funds,
        tags=FUNDS,
    ),
    "get_fund": Operation("One fund of one fiscal year", path=schemas.FundKey, tags=FUNDS),
    "totals": Operation("Totals per fund and measure", query=YearQuery, tags=FUNDS),
    "pay": Operation(
        "Record the payment of a talent's LT-10.1 subsidy",
        body=schemas.RecordPayment,
        response=Recorded,
        example={"paid_on": "2026-07-01", "payment_reference": "PAY-2026-0001"},
        tags=GRANTS,
    ),
    "repay": Operation(
        "Record a repayment of a demanded recovery (LT-14)",
        body=schemas.RecordRepayment,
        response=Recorded,
        tags=GRANTS,
    ),
    "grant_ledger": Operation("A talent's grant: granted, paid, demanded, repaid", tags=GRANTS),
    "outstanding_recoveries": Operation(
        "Recoveries still owed", query=RecoveriesQuery, tags=GRANTS
    ),
    "file_claim": Operation(
        "File a Ten Measures claim",
        body=ClaimBody,  # type: ignore[arg-type]  # a JSON Schema of the claim schemas
        response=Recorded,
        status=201,
        description="The answer adds `claim_id`.",
        tags=CLAIMS,
    ),
    "decide_claim": Operation(
        "Approve or reject a claim (an approval the fund cannot cover is refused, TM-1)",
        body=schemas.DecideClaim,
        response=Recorded,
        example={"decision": "approve", "reasons": []},
        tags=CLAIMS,
    ),
    "pay_claim": Operation(
        "Record the payment of an approved claim",
        body=schemas.RecordPayment,
        response=Recorded,
        tags=CLAIMS,
    ),
    "get_claim": Operation("A claim and its decision", tags=CLAIMS),
    "list_claims": Operation("Claims, filtered", query=ClaimsQuery, response=Claims, tags=CLAIMS),
    "ledger": Operation("What a party was granted, paid and owes", tags=LEDGERS),
}
