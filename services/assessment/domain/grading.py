"""LT-11.1 grading: compounded average annual growth since the baseline, compared exactly, and the
influencers' qualitative alternatives as the county assessor's findings.

growth g over n years satisfies current = baseline × (1 + g)^n, so "g ≥ 10%" is decided without
roots or floats as current × 10^n ≥ baseline × 11^n (exact fractions). The average growth itself
is shown with as many decimals as it takes to agree with every decision taken on it, so the event
explains the decision."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from fractions import Fraction
from typing import Any, TypedDict

from services.assessment.domain import policy

EXCELLENT, QUALIFIED, UNQUALIFIED = "excellent", "qualified", "unqualified"


class Grade(TypedDict):
    """The LT-11.1 result of one tenure year."""

    result: str  # EXCELLENT, QUALIFIED or UNQUALIFIED
    basis: str  # growth, or assessor_findings
    computation: list[dict[str, Any]]  # per graded figure: the growth against the thresholds
    reasons: list[str]  # why a year is unqualified (empty otherwise)


def reaches(
    baseline: int, current: int, years: int, rate: Decimal, *, strictly: bool = False
) -> bool:
    """Whether growth from ``baseline`` to ``current`` over ``years`` averages ``rate`` or more
    (or strictly more)."""
    factor = Fraction(1) + Fraction(rate)
    lhs, rhs = Fraction(current), Fraction(baseline) * factor**years
    return lhs > rhs if strictly else lhs >= rhs


def average_growth(baseline: int, current: int, years: int, places: int = 4) -> str:
    """(current / baseline)^(1/years) - 1, as Decimal text with ``places`` decimals."""
    with localcontext() as ctx:
        ctx.prec = 40
        ratio = Decimal(current) / Decimal(baseline)
        growth = ratio ** (Decimal(1) / Decimal(years)) - 1
        return str(growth.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN))


def shown_growth(baseline: int, current: int, years: int, *checks: tuple[Decimal, bool]) -> str:
    """The average growth as shown in an event: 4 decimals, or as many more as it takes for the
    shown figure to agree with each exact decision ``checks`` = (rate, strictly) (1,099,999 against
    1,000,000 is "0.099999", not a rounded "0.1000" that would contradict its own failure)."""
    for places in (4, 6, 8, 12, 20):
        text = average_growth(baseline, current, years, places)
        shown = Decimal(text)
        if all(
            (shown > rate if strictly else shown >= rate)
            == reaches(baseline, current, years, rate, strictly=strictly)
            for rate, strictly in checks
        ):
            return text
    return text


def grade(
    track: str,
    baseline: Mapping[str, int],
    figures: Mapping[str, int],
    years: int,
    findings: Mapping[str, Any] | None = None,
) -> Grade:
    """The LT-11.1 result of one tenure year: ``{"result", "basis", "computation", "reasons"}``.

    ``findings`` (influencers only) are the county assessor's: ``ability_clearly_improved`` and
    ``influence_further_increased``; None when none were recorded."""
    excellent_rate = (
        policy.EXCELLENT_GROWTH_INFLUENCER
        if track == "influencer"
        else policy.EXCELLENT_GROWTH_SELLER
    )
    strictly = policy.EXCELLENT_STRICTLY[track]
    checks = ((policy.QUALIFIED_GROWTH, False), (excellent_rate, strictly))
    computation: list[dict[str, Any]] = []
    reasons: list[str] = []
    by_growth_qualified = by_growth_excellent = True
    for figure in policy.GRADED_FIGURES[track]:
        base, current = baseline.get(figure, 0), figures[figure]
        row = {
            "figure": figure,
            "baseline": base,
            "current": current,
            "years": years,
            "qualified_threshold": str(policy.QUALIFIED_GROWTH),
            "excellent_threshold": str(excellent_rate),
            "excellent_strictly": strictly,
        }
        if base <= 0:
            row.update(average_growth=None, note="baseline is 0: no average growth exists")
            by_growth_qualified = by_growth_excellent = False
            reasons.append(
                f"{figure}: the baseline is 0, so no average annual growth can be computed"
            )
        else:
            row["average_growth"] = shown_growth(base, current, years, *checks)
            if not reaches(base, current, years, policy.QUALIFIED_GROWTH):
                by_growth_qualified = False
                reasons.append(
                    f"{figure}: average annual growth {row['average_growth']} is "
                    f"below {policy.QUALIFIED_GROWTH}"
                )
            if not reaches(base, current, years, excellent_rate, strictly=strictly):
                by_growth_excellent = False
        computation.append(row)
    by_growth_excellent &= by_growth_qualified

    ability = bool(findings and findings["ability_clearly_improved"])
    influence = bool(findings and findings["influence_further_increased"])
    if by_growth_excellent:
        result, basis = EXCELLENT, "growth"
    elif track == "influencer" and ability and influence:
        result, basis = EXCELLENT, "assessor_findings"
    elif by_growth_qualified:
        result, basis = QUALIFIED, "growth"
    elif track == "influencer" and ability:
        result, basis = QUALIFIED, "assessor_findings"
    else:
        result, basis = UNQUALIFIED, "growth"
        if track == "influencer":
            reasons.append(
                "the county assessor found promotion ability not clearly improved"
                if findings
                else "no assessor findings were recorded for the year"
            )
    return {
        "result": result,
        "basis": basis,
        "computation": computation,
        "reasons": reasons if result == UNQUALIFIED else [],
    }


def final_without_findings(
    track: str, baseline: Mapping[str, int], figures: Mapping[str, int], years: int
) -> bool:
    """Whether an influencer's year can be graded before the assessor's findings: only when growth
    alone already gives the best grade, which no finding could change."""
    return track != "influencer" or grade(track, baseline, figures, years)["result"] == EXCELLENT
