"""The Nameko glue: the store provider and its unit of work, the entrypoints every service shares
(health, metrics, dead letters, catch-up), timers, and settings checked at start."""
