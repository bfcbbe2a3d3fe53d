"""People of the abolished Yixiang (彝乡) e-commerce entrepreneurship talent scheme: the exclusion of
its former applicants (LT-10) and the transfer of its talents still in their training period
(LT-16). Stream ``yixiang-<person_key>``, one per person.

* ``RegisterFormerApplicant``: the person applied to the Yixiang scheme, so may not apply here
  (LT-10: 申报过“彝乡电商创业人才”人员不得重复申报). Idempotent: registering twice records nothing.
* ``TransferTalent``: a Yixiang talent whose training period had not ended transfers
  automatically into this programme, keeping the original period (LT-16). Recorded as
  ``YixiangTalentTransferred`` and ``TalentCertified`` (``origin = "yixiang_transfer"``), so the
  services that act on certified talents (subsidies, assessment, notifications) see them too.

Reading of LT-16 (原“彝乡电商创业人才”培养期未满的自动转入): the transfer happens by the rules
themselves on the day they take effect (``policy.TRANSFER_JUDGED_ON``, 2022-09-01). A talent
transfers if their Yixiang period began before that day and had not ended on it, whenever an
officer records it; the transfer is effective that day (``transferred_on``). A period of
2020-01-10 to 2023-01-09 recorded on 2023-01-10 transfers; one that ended on 2022-08-31 does not.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from services.applications.domain import policy
from shared.decider import Decider, Event, NewEvent
from shared.errors import RuleViolation


@dataclass(frozen=True)
class RegisterFormerApplicant:
    person_key: str
    id_number_masked: str
    name: str
    applied_year: int


@dataclass(frozen=True)
class TransferTalent:
    talent_id: str
    yixiang_talent_id: str
    person_key: str
    id_number_masked: str
    name: str
    county: str
    enterprise_name: str
    enterprise_code: str | None  # unified social credit code; None for an individual
    category: str
    baseline_year: int
    baseline: dict[str, int]
    period_start: dt.date
    period_end: dt.date
    prior_startup_subsidy_fen: int = 0


@dataclass(frozen=True)
class YixiangPerson:
    registered: bool = False
    talent_id: str | None = None


Command = RegisterFormerApplicant | TransferTalent


def evolve(state: YixiangPerson, event: Event) -> YixiangPerson:
    match event.event_type:
        case "YixiangApplicantRegistered":
            return YixiangPerson(True, state.talent_id)
        case "YixiangTalentTransferred":
            return YixiangPerson(True, event.payload["talent_id"])
    return state


def decide(command: Command, state: YixiangPerson, context: Mapping[str, Any]) -> list[NewEvent]:
    match command:
        case RegisterFormerApplicant():
            if state.registered:
                return []
            return [
                NewEvent(
                    "YixiangApplicantRegistered",
                    {
                        "person_key": command.person_key,
                        "id_number_masked": command.id_number_masked,
                        "name": command.name,
                        "applied_year": command.applied_year,
                    },
                    ("LT-10",),
                )
            ]
        case TransferTalent():
            return _transfer(command, state, context)
    raise TypeError(f"unknown command {command!r}")


def _transfer(
    command: TransferTalent, state: YixiangPerson, context: Mapping[str, Any]
) -> list[NewEvent]:
    if state.talent_id:
        raise RuleViolation(
            "LT-16", f"this Yixiang talent was already transferred as {state.talent_id}"
        )
    if command.period_end < command.period_start:
        raise RuleViolation(
            "LT-16",
            "the training period ends before it starts",
            fields={"period_end": ["Must not be before period_start."]},
        )
    if command.period_start >= policy.EFFECTIVE_DATE:
        raise RuleViolation(
            "LT-16",
            f"the Yixiang scheme was abolished on "
            f"{policy.EFFECTIVE_DATE.isoformat()}: no Yixiang training "
            "period starts on or after that day",
            fields={"period_start": [f"Must be before {policy.EFFECTIVE_DATE.isoformat()}."]},
        )
    judged_on = policy.TRANSFER_JUDGED_ON
    if command.period_end < judged_on:
        raise RuleViolation(
            "LT-16",
            f"the training period ended on {command.period_end.isoformat()}, before the rules "
            f"took effect on {judged_on.isoformat()}: only talents whose period had not ended "
            "that day transfer (培养期未满的自动转入)",
            fields={"period_end": [f"Must not be before {judged_on.isoformat()}."]},
        )
    if command.period_start < policy.YIXIANG_FIRST_PERIOD_START:
        raise RuleViolation(
            "LT-16",
            f"the Yixiang scheme's periods start from "
            f"{policy.YIXIANG_FIRST_PERIOD_START.isoformat()}",
            fields={
                "period_start": [
                    f"Must not be before {policy.YIXIANG_FIRST_PERIOD_START.isoformat()}."
                ]
            },
        )
    longest = _years_later(command.period_start, policy.YIXIANG_PERIOD_MAX_YEARS)
    if command.period_end >= longest:
        raise RuleViolation(
            "LT-16",
            f"a Yixiang training period lasts at most {policy.YIXIANG_PERIOD_MAX_YEARS} years",
            fields={"period_end": [f"Must be before {longest.isoformat()}."]},
        )
    first = policy.YIXIANG_FIRST_PERIOD_START.year - 1
    if not first <= command.baseline_year <= command.period_start.year:
        raise RuleViolation(
            "LT-16",
            "the baseline is a year of the figures the Yixiang certification compared",
            fields={"baseline_year": [f"Must be from {first} to {command.period_start.year}."]},
        )
    track = policy.TRACK_OF_CATEGORY[command.category]
    baseline = {k: command.baseline.get(k, 0) for k in policy.BASELINE_FIGURES[track]}
    common = {
        "talent_id": command.talent_id,
        "county": command.county,
        "category": command.category,
        "track": track,
        "baseline_year": command.baseline_year,
        "baseline": baseline,
        "period_start": command.period_start,
        "period_end": command.period_end,
        "enterprise_name": command.enterprise_name,
    }
    code = {"enterprise_code": command.enterprise_code} if command.enterprise_code else {}
    return [
        NewEvent(
            "YixiangTalentTransferred",
            {
                **common,
                **code,
                "yixiang_talent_id": command.yixiang_talent_id,
                "person_key": command.person_key,
                "id_number_masked": command.id_number_masked,
                "name": command.name,
                "transferred_on": policy.TRANSFER_EFFECTIVE_ON,
                "prior_startup_subsidy_fen": command.prior_startup_subsidy_fen,
            },
            ("LT-16",),
        ),
        NewEvent(
            "TalentCertified",
            {
                **common,
                **code,
                "application_id": transfer_application_id(command.yixiang_talent_id),
                "applicant_name": command.name,
                "origin": "yixiang_transfer",
                "prior_startup_subsidy_fen": command.prior_startup_subsidy_fen,
                "person_key": command.person_key,
                "transferred_on": policy.TRANSFER_EFFECTIVE_ON,
            },
            ("LT-16", "LT-10", "LT-10.1"),
        ),
    ]


def _years_later(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def transfer_application_id(yixiang_talent_id: str) -> str:
    """A transferred talent has no application here; its certification names the Yixiang record
    instead (the field is required by TalentCertified's consumers)."""
    return f"yixiang-{yixiang_talent_id}"


def stream(person_key: str) -> str:
    return f"yixiang-{person_key}"


yixiang_person = Decider("yixiang_person", YixiangPerson(), evolve, decide, policy.POLICY_VERSION)
