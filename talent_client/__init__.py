"""A client of the running system over its public HTTP interfaces, for demos, tests and
benchmarks: ``http`` (requests signed as a role), ``samples`` (valid made-up identities and request
bodies) and ``steps`` (taking an applicant through the selection, funding the subsidy)."""
