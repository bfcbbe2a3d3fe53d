"""``talent-import``: the bureau's records of the programme's history (a workbook or CSV files)
taken in through the services' own HTTP commands, every row checked first, each command carrying
its provenance, and the same file imported twice changing nothing."""
