"""The ``talent-audit`` console script: the auditors' tool (``talent_audit``) given the read
models of this system's four services, which ``talent-audit replay`` rebuilds."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TextIO, cast

import talent_audit.cli
from services.applications import projections as applications
from services.assessment import projections as assessment
from services.notifications import projections as notifications
from services.subsidies import projections as subsidies
from talent_audit.read_models import ReadModels

# Each service's projections module lists the projector objects its store applies (to a type
# checker, lists of plain objects: the projector classes share no base class).
READ_MODELS = cast(
    ReadModels,
    {
        "applications": applications.READ_MODELS,
        "subsidies": subsidies.READ_MODELS,
        "assessment": assessment.READ_MODELS,
        "notifications": notifications.READ_MODELS,
    },
)


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """``talent-audit`` with ``argv`` (default: the command line), printing to ``out``."""
    return talent_audit.cli.main(argv, out, read_models=READ_MODELS)


if __name__ == "__main__":
    sys.exit(main())
