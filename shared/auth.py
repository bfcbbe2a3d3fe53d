"""Signed, expiring tokens naming the actor, the role and (for county staff) the county, and the one
place where who may do what is written down.

Tokens are JWTs (HS256, PyJWT) with claims ``sub`` (actor id), ``role``, ``county`` and ``exp``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

import jwt

from shared.errors import Forbidden, Unauthenticated

ALGORITHM = "HS256"

# Roles, by the body that holds them in the programme (LT-4, LT-9, LT-13, LT-14).
ROLES: dict[str, str] = {
    "applicant": "an applicant for the Leading Talent title",
    "county_officer": "county (市/县) commerce department officer (LT-9.1, LT-13)",
    "prefecture_officer": "prefecture Commerce Bureau officer (州商务局, LT-4, LT-9.2)",
    "expert_chair": "chair of the expert review committee (LT-9.3)",
    "inspector": "inspection team, with discipline inspection's opinion (LT-9.4)",
    "leading_group": "Talent Work Leading Group (州委人才工作领导小组, LT-9.5, LT-14)",
    "standing_committee": "Prefecture Party Standing Committee (州委常委会, LT-9.5)",
    "finance": "prefecture finance bureau (州财政局, LT-10.1, TM-1)",
    "hrss_officer": "prefecture Human Resources and Social Security Bureau officer "
    "(州人力资源和社会保障局, TM-1…TM-10)",
    "talent": "a certified Leading Talent",
    "auditor": "auditor (read-only)",
    "system": "another service of this backend",
}

# action -> roles allowed. County-scoped roles act only within their own county (see authorize).
PERMISSIONS: dict[str, set[str]] = {
    "application.submit": {"applicant", "county_officer"},
    "application.read": {
        "applicant",
        "county_officer",
        "prefecture_officer",
        "expert_chair",
        "inspector",
        "leading_group",
        "standing_committee",
        "auditor",
    },
    "review.county_recommendation": {"county_officer"},
    "review.qualification_review": {"prefecture_officer"},
    "review.expert_review": {"expert_chair"},
    "review.inspection": {"inspector"},
    "review.proposal": {"prefecture_officer"},
    "review.approval": {"leading_group"},
    "review.standing_committee": {"standing_committee"},
    "round.open": {"prefecture_officer"},
    "application.withdraw": {"applicant", "county_officer"},
    "objection.record": {"prefecture_officer"},
    "objection.resolve": {"prefecture_officer"},
    "yixiang.import": {"prefecture_officer"},
    # erasing a person's personal data (crypto-shredding, shared/store/sealing.py)
    "person.erase": {"prefecture_officer"},
    "notice.start": {"prefecture_officer"},
    "notice.close": {"prefecture_officer"},
    "grant.pay": {"finance"},
    "grant.repay": {"finance"},
    "grant.read": {"finance", "prefecture_officer", "talent", "auditor"},
    "budget.set": {"finance"},
    "budget.read": {"finance", "hrss_officer", "prefecture_officer", "auditor"},
    "claim.file": {"hrss_officer"},
    "claim.decide": {"hrss_officer"},
    "claim.pay": {"finance"},
    "claim.read": {"hrss_officer", "finance", "auditor"},
    "ledger.read": {"finance", "hrss_officer", "prefecture_officer", "auditor"},
    "tenure.report": {"talent", "county_officer"},
    "tenure.read": {"talent", "county_officer", "prefecture_officer", "leading_group", "auditor"},
    "tenure.findings": {"county_officer"},
    "tenure.rectification": {"county_officer"},
    "tenure.ground.refusal": {"county_officer", "prefecture_officer"},
    "tenure.ground.violation": {"county_officer", "prefecture_officer"},
    "tenure.ground.credit_fraud": {"prefecture_officer"},
    "tenure.ground.departure": {"county_officer"},
    "tenure.ground.other": {"prefecture_officer"},
    "assessment.results.read": {"county_officer", "prefecture_officer", "leading_group", "auditor"},
    "deadlines.run": {"prefecture_officer", "system"},
    "disqualification.approve": {"leading_group"},
    "disqualification.decline": {"leading_group"},
    "inbox.read": set(ROLES),
    "dead_letters.manage": {"prefecture_officer", "system"},
    # notifications: webhook subscribers, e-mail addresses (each recipient their own; the bureau
    # anyone's), the delivery record and re-driving dead-lettered messages
    "subscriber.manage": {"prefecture_officer"},
    "contact.manage": {
        "prefecture_officer",
        "county_officer",
        "finance",
        "leading_group",
        "talent",
        "applicant",
    },
    "delivery.read": {"prefecture_officer", "auditor"},
    "delivery.redrive": {"prefecture_officer"},
}
COUNTY_SCOPED = {"county_officer"}
# Roles that act only on their own records (an application, a tenure, a grant): the record's owner
# is the actor the token names.
OWNER_SCOPED = {"applicant", "talent"}
_ANY_OWNER = object()  # authorize(owner=...) not given: the record's owner is not checked


class Principal:
    __slots__ = ("actor_id", "role", "county")

    def __init__(self, actor_id: str, role: str, county: str | None = None) -> None:
        self.actor_id, self.role, self.county = actor_id, role, county

    def __repr__(self) -> str:
        return f"Principal({self.actor_id!r}, {self.role!r}, {self.county!r})"


def mint(
    secret: str,
    actor_id: str,
    role: str,
    county: str | None = None,
    *,
    ttl: dt.timedelta = dt.timedelta(hours=8),
    now: dt.datetime | None = None,
) -> str:
    """A token for ``actor_id`` acting as ``role`` (of ``county``), valid for ``ttl``."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role}")
    now = now or dt.datetime.now(dt.UTC)
    claims: dict[str, Any] = {"sub": actor_id, "role": role, "iat": now, "exp": now + ttl}
    if county:
        claims["county"] = county
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def authenticate(secret: str, authorization_header: str | None) -> Principal:
    """The principal named by a ``Bearer`` token, or Unauthenticated saying why not."""
    if not authorization_header or not authorization_header.startswith("Bearer "):
        raise Unauthenticated("missing bearer token (Authorization: Bearer <token>)")
    try:
        claims = jwt.decode(
            authorization_header[7:],
            secret,
            algorithms=[ALGORITHM],
            options={"require": ["sub", "role", "exp"]},
        )
    except jwt.ExpiredSignatureError:
        raise Unauthenticated("token expired") from None
    except jwt.InvalidTokenError as exc:
        raise Unauthenticated(f"invalid token: {exc}") from exc
    if claims["role"] not in ROLES:
        raise Unauthenticated(f"unknown role {claims['role']}")
    return Principal(claims["sub"], claims["role"], claims.get("county"))


def authorize(
    principal: Principal,
    action: str,
    county: str | None = None,
    *,
    owner: object = _ANY_OWNER,
    record: str = "record",
) -> None:
    """Refuse unless ``principal`` may do ``action`` (on a record of ``county``, if given, and
    owned by actor ``owner``, if given: an applicant or a talent acts only on their own
    ``record``; a record owned by no actor, ``owner=None``, is nobody's own)."""
    allowed = PERMISSIONS.get(action)
    if allowed is None:
        raise Forbidden(f"unknown action {action}")
    if principal.role not in allowed:
        raise Forbidden(
            f"role {principal.role} may not {action}", details={"allowed_roles": sorted(allowed)}
        )
    if principal.role in COUNTY_SCOPED and county is not None and principal.county != county:
        # (the record's county is not named: a refusal must not tell where a record is)
        raise Forbidden(
            f"{principal.role} of {principal.county} acts only on their own county's records"
        )
    if owner is not _ANY_OWNER and principal.role in OWNER_SCOPED and principal.actor_id != owner:
        article = "an" if principal.role[0] in "aeiou" else "a"
        raise Forbidden(f"{article} {principal.role} acts only on their own {record}")


# -- notification addresses ----------------------------------------------------------------------
# A notification's recipient is an address: ``county:<county>``, ``talent:<talent id>``,
# ``applicant:<applicant id or application id>``, ``finance``, ``leading_group`` or ``bureau``.
ApplicantOf = Callable[[str], str | None]
"""Of an application id: its applicant's actor id (None: no such application)."""


def owns_address(
    principal: Principal, recipient: str, applicant_of: ApplicantOf | None = None
) -> bool:
    """``principal`` is the recipient named by ``recipient``. An applicant also owns the address
    ``applicant:<application_id>`` of an application ``applicant_of`` knows as theirs."""
    kind, _, ident = recipient.partition(":")
    role, actor = principal.role, principal.actor_id
    return (
        (kind == "county" and role == "county_officer" and principal.county == ident)
        or (kind == "talent" and role == "talent" and actor == ident)
        or (
            kind == "applicant"
            and role == "applicant"
            and (actor == ident or (applicant_of is not None and applicant_of(ident) == actor))
        )
        or (recipient == "finance" and role == "finance")
        or (recipient == "leading_group" and role == "leading_group")
        or (recipient == "bureau" and role == "prefecture_officer")
    )


def may_read_inbox(
    principal: Principal, recipient: str, applicant_of: ApplicantOf | None = None
) -> bool:
    """The bureau and auditors read every inbox; everyone else their own."""
    return principal.role in ("prefecture_officer", "auditor") or owns_address(
        principal, recipient, applicant_of
    )


def may_address(
    principal: Principal, recipient: str, applicant_of: ApplicantOf | None = None
) -> bool:
    """The bureau sets anyone's contact; everyone else their own."""
    return principal.role == "prefecture_officer" or owns_address(
        principal, recipient, applicant_of
    )


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m shared.auth ROLE [ACTOR] [COUNTY]``: print a token signed with $AUTH_SECRET."""
    import os
    import sys

    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] not in ROLES:
        print(
            __doc__
            + "\nusage: python -m shared.auth ROLE [ACTOR] [COUNTY]\nroles: "
            + ", ".join(ROLES),
            file=sys.stderr,
        )
        return 2
    secret = os.environ.get("AUTH_SECRET", "dev-only-secret-change-me-in-production!")
    print(
        mint(
            secret,
            args[1] if len(args) > 1 else f"{args[0]}-1",
            args[0],
            args[2] if len(args) > 2 else None,
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
