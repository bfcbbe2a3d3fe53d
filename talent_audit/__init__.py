"""talent-audit, the auditors' tool: one module per command (``verify``, ``history``, ``replay``,
``export``) over the common parts (``stores``, ``index``, ``copy``, ``output``). It imports
nothing of the services: whoever runs it gives ``cli.main`` the read models of each service
(``read_models``), which ``replay`` rebuilds."""
