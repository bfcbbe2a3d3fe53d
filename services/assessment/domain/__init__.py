"""The service's rules: pure deciders and the policy parameters they apply (no I/O, no clock)."""
