"""``python -m talent_audit``: the tool given no read models. ``verify``, ``history`` and
``export`` read the stores alone; ``replay`` needs the services' read models, which the
``talent-audit`` console script passes to ``cli.main``."""

from __future__ import annotations

import sys

from talent_audit.cli import main

if __name__ == "__main__":
    sys.exit(main(read_models={}))
