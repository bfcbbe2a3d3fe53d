"""Writing a workbook in the template's layout: the empty template (``talent-import template``)
and filled ones (the tests' sample file)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from talent_import.template import SHEETS


def write_workbook(
    path: Path, rows: Mapping[str, Sequence[Mapping[str, Any]]] | None = None
) -> Path:
    """An ``.xlsx`` with every sheet of the template, headers ``中文 / english``, and ``rows``
    (per sheet name, each row a mapping of column key to value; dates as dates)."""
    import openpyxl

    rows = rows or {}
    book = openpyxl.Workbook()
    book.remove(book.active)
    for sheet in SHEETS:
        ws = book.create_sheet(sheet.name)
        ws.append([c.header for c in sheet.columns])
        for row in rows.get(sheet.name, ()):
            ws.append([row.get(c.key) for c in sheet.columns])
        for i, column in enumerate(sheet.columns, start=1):
            ws.cell(row=1, column=i).font = openpyxl.styles.Font(bold=column.required)
            if column.kind == "date":
                for (cell,) in ws.iter_rows(min_row=2, min_col=i, max_col=i):
                    if isinstance(cell.value, dt.date):
                        cell.number_format = "yyyy-mm-dd"
    book.save(path)
    return path


def write_csv(directory: Path, rows: Mapping[str, Sequence[Mapping[str, Any]]]) -> list[Path]:
    """The same rows as CSV files, one per sheet (``<sheet>.csv``, UTF-8 with a BOM)."""
    import csv

    paths = []
    for sheet in SHEETS:
        if sheet.name not in rows:
            continue
        path = directory / f"{sheet.name}.csv"
        with path.open("w", encoding="utf-8-sig", newline="") as f:
            w = csv.writer(f)
            w.writerow([c.header for c in sheet.columns])
            for row in rows[sheet.name]:
                w.writerow(
                    ["" if row.get(c.key) is None else str(row.get(c.key)) for c in sheet.columns]
                )
        paths.append(path)
    return paths
